// How a call ended, in every vocabulary it has, in one table: the agent's outcome, its wire enum (agent.proto
// `Outcome`), the execution record's status, and — for a call that did not produce the function's own answer —
// the problem code and HTTP status the caller gets. Both processes map through this file and nowhere else.
import type { Outcome__Output as WireOutcome } from './generated/containerpub/agent/v1/Outcome.js';

/** How a call ended on the agent. */
export type Outcome = 'ok' | 'error' | 'timeout' | 'oom' | 'crashed' | 'rejected';

/** What the execution record says: an outcome, or `agent_lost` (the agent went away mid-call; only the control plane knows). */
export type ExecutionStatus = 'success' | 'error' | 'timeout' | 'oom' | 'crashed' | 'rejected' | 'agent_lost';

export const EXECUTION_STATUSES = ['success', 'error', 'timeout', 'oom', 'crashed', 'rejected', 'agent_lost'] as const satisfies readonly ExecutionStatus[];

/** The problem a failed call answers with: a stable code and its HTTP status. */
export interface CallFailure {
  code: string;
  httpStatus: number;
  /** Seconds, for `Retry-After`. */
  retryAfter?: number;
}

interface Row {
  wire: WireOutcome;
  status: ExecutionStatus;
  /** Absent for `ok`: the function's own answer is the response. */
  failure?: CallFailure;
}

const TABLE: Record<Outcome, Row> = {
  ok: { wire: 'OUTCOME_OK', status: 'success' },
  error: { wire: 'OUTCOME_ERROR', status: 'error', failure: { code: 'function_error', httpStatus: 500 } },
  timeout: { wire: 'OUTCOME_TIMEOUT', status: 'timeout', failure: { code: 'function_timeout', httpStatus: 504 } },
  oom: { wire: 'OUTCOME_OOM', status: 'oom', failure: { code: 'function_oom', httpStatus: 502 } },
  crashed: { wire: 'OUTCOME_CRASHED', status: 'crashed', failure: { code: 'function_crashed', httpStatus: 502 } },
  rejected: { wire: 'OUTCOME_REJECTED', status: 'rejected', failure: { code: 'agent_busy', httpStatus: 503, retryAfter: 1 } },
};

/** The agent lost mid-call: recorded as `agent_lost`, answered as a 502. */
export const AGENT_LOST: CallFailure = { code: 'agent_lost', httpStatus: 502 };

const BY_WIRE = new Map<WireOutcome, Outcome>(Object.entries(TABLE).map(([o, r]) => [r.wire, o as Outcome]));

export function toWire(outcome: Outcome): WireOutcome {
  return TABLE[outcome].wire;
}

/** An unknown or unspecified wire value reads as `error`: the call ran, and did not end well. */
export function fromWire(wire: WireOutcome | string): Outcome {
  return BY_WIRE.get(wire as WireOutcome) ?? 'error';
}

export function statusOfOutcome(outcome: Outcome): ExecutionStatus {
  return TABLE[outcome].status;
}

/** The problem for an outcome that is not the function's answer; undefined for `ok`. */
export function failureOf(outcome: Outcome): CallFailure | undefined {
  return TABLE[outcome].failure;
}

/** The HTTP status an agent puts on a call it could not run (the record's `http_status` before the control plane's mapping). */
export function httpStatusOf(outcome: Outcome): number {
  return TABLE[outcome].failure?.httpStatus ?? 200;
}
