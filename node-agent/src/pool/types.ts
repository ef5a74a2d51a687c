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
  /**
   * Where an answer the function streams goes as it is produced; without one, a streamed answer is read whole
   * (up to the buffered answer's limit) into `body`.
   */
  stream?: StreamSink | undefined;
  /** A streamed answer's body at most, bytes: past it the stream is cut and the call fails. */
  maxStreamBytes?: number | undefined;
  /** A request body that streams in after `body` (its first bytes). */
  bodyStream?: BodySource | undefined;
}

/** The rest of a request body as it comes: each chunk once, in order, then its end; within the credit given back. */
export interface BodySource {
  /** `onEnd` gets the error when the caller's body failed (it went away, or passed its limit). */
  read(onChunk: (chunk: Buffer) => void, onEnd: (error?: string) => void): void;
  /** The function took `bytes` of it: its caller may send that many more. */
  grant(bytes: number): void;
}

/** The taker of a streamed answer: its head once, then its body's chunks, each within the credit it has given. */
export interface StreamSink {
  /**
   * The function's status and headers, and the body's first bytes when they came with them (sent together: one
   * message, one write to the caller); `control` gives the sender credit, or stops it. `timings`: the call's until
   * its head (queued, its cold start's phases; runMs to the head), given by the pool.
   */
  head(status: number, headers: [string, string][], control: StreamControl, first: Buffer, timings?: CallTimings): void;
  chunk(data: Buffer): void;
}

export interface StreamControl {
  /** The taker has passed `bytes` on: the function may send that many more. */
  grant(bytes: number): void;
  /** The taker wants no more (its caller went away): the function's stream is cancelled. */
  cancel(): void;
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
  /** The answer was streamed (to `CallRequest.stream`): its body's size; `body` is empty. */
  streamedBytes?: number;
}
