// The agent's view of a function version to run and of one call: plain types, no transport.

export interface FunctionSpec {
  functionId: string;
  name: string;
  version: number;
  image: string;
  memoryMb: number;
  cpus: number;
  timeoutMs: number;
  concurrency: number;
  maxInstances: number;
  network: boolean;
  env: Record<string, string>;
}

export interface CallRequest {
  invocationId: string;
  /** Absolute, epoch ms. */
  deadlineMs: number;
  /** > 0: when the node has no room for another container, decline after this long instead of waiting until the deadline. */
  declineAfterMs?: number;
  method: string;
  path: string;
  query: string;
  headers: [string, string][];
  body: Buffer;
}

export type { CallLogLine } from '../../../common/call-log.js';
import type { CallLogLine } from '../../../common/call-log.js';

export type { Outcome } from '../../../proto/outcomes.js';
import type { Outcome } from '../../../proto/outcomes.js';

export interface CallTimings {
  queuedMs: number;
  coldStart: boolean;
  /** The cold start loaded the function into a prewarmed stem container instead of starting one. */
  prewarmed: boolean;
  createMs: number;
  startMs: number;
  readyMs: number;
  runMs: number;
}

export interface CallResult {
  outcome: Outcome;
  status: number;
  headers: [string, string][];
  body: Buffer;
  logs: CallLogLine[];
  logsTruncated: boolean;
  timings: CallTimings;
  resources: { cpuMs: number; peakMemoryBytes: number };
  error: string;
}
