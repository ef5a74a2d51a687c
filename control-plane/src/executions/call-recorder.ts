// The execution record of a call, written before the call answers: the outcome mapped once (proto/outcomes.ts)
// to the record's status and, for a call that did not produce the function's answer, to its problem; the log
// capped (common/call-log.ts); the row handed to the group-commit writer.
import type { Db } from '../db/connect.js';
import type { ExecutionStatus, FunctionRow } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import type { InvokeReply__Output } from '../../../proto/generated/containerpub/agent/v1/InvokeReply.js';
import { AGENT_LOST, failureOf, fromWire, statusOfOutcome, type CallFailure } from '../../../proto/outcomes.js';
import { encodeCallLog } from '../../../common/call-log.js';
import { AppError, statusOf } from '../errors.js';
import { replyProblem } from '../fleet/agent-link.js';
import { ExecutionWriter } from './execution-writer.js';

export interface CallTimings {
  queuedMs: number;
  createMs: number;
  startMs: number;
  readyMs: number;
  runMs: number;
  prewarmed: boolean;
  placementMs: number;
  agentMs: number;
  recordMs: number;
}

/** A call as recorded: the function's own status, headers and body when it ran and answered. */
export interface RecordedCall {
  executionId: string;
  status: ExecutionStatus;
  statusCode: number;
  headers: [string, string][];
  body: Buffer;
  durationMs: number;
  coldStart: boolean;
  nodeId: string | null;
  timings: CallTimings;
  /** Set when the call did not produce the function's answer: the problem to send instead (naming the execution). */
  error?: AppError;
}

/** A finished call: the agent's reply, or the error that stopped it before one came. */
export interface FinishedCall {
  executionId: string;
  fn: FunctionRow;
  version: number;
  trigger: 'api' | 'url';
  input: { method: string; path: string; body: Buffer };
  started: number;
  nodeId: string | null;
  reply?: InvokeReply__Output;
  error?: AppError;
  placementMs: number;
  agentMs: number;
}

/** The problem for a failure of the call (a thrown error in the function keeps its 500 and its message). */
function problem(f: CallFailure, detail: string): AppError {
  return new AppError('unavailable', f.code, detail, { httpStatus: f.httpStatus, ...(f.retryAfter ? { retryAfter: f.retryAfter } : {}) });
}

function functionError(reply: InvokeReply__Output, f: CallFailure): AppError {
  let message = reply.error || 'error';
  try {
    message = (JSON.parse(reply.body.toString('utf8')) as { message?: string }).message ?? message;
  } catch {
    // not the shim's JSON: keep the agent's words
  }
  return problem(f, `the function threw: ${message}`);
}

export class CallRecorder {
  private running = 0;
  private readonly writer: ExecutionWriter;

  constructor(
    database: Db,
    log: Logger,
    /** Told about every call once it is recorded (metrics). */
    private readonly onCall?: (fn: FunctionRow, status: ExecutionStatus, durationMs: number, coldStart: boolean) => void,
  ) {
    this.writer = new ExecutionWriter(database, log, () => this.running);
  }

  /** A call started: it counts as running (for group commit and shutdown) until `end()`, after its row is written. */
  begin(): { end(): void } {
    this.running++;
    let ended = false;
    return {
      end: () => {
        if (!ended) this.running--;
        ended = true;
      },
    };
  }

  /**
   * Resolves once no call is running (or after `ms`): a call counts as running until its execution row is
   * written, so at shutdown this is what keeps the database open for the rows of the last calls.
   */
  async settle(ms: number): Promise<void> {
    for (const end = Date.now() + ms; this.running > 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  }

  async record(c: FinishedCall): Promise<RecordedCall> {
    const { reply } = c;
    let status: ExecutionStatus;
    let failure: AppError | undefined;
    const stopped = c.error ?? (reply && replyProblem(reply));
    if (stopped) {
      // Stopped before the function ran (no agent, no image, the agent lost): the error is the answer.
      failure = stopped;
      status = failure.code === AGENT_LOST.code ? 'agent_lost' : 'rejected';
    } else {
      const outcome = fromWire(reply!.outcome);
      status = statusOfOutcome(outcome);
      const f = failureOf(outcome);
      if (f) failure = outcome === 'error' ? functionError(reply!, f) : problem(f, reply!.error || status);
    }
    const t = reply?.timings;
    const recorded = { queuedMs: t?.queuedMs ?? 0, createMs: t?.createMs ?? 0, startMs: t?.startMs ?? 0, readyMs: t?.readyMs ?? 0, runMs: t?.runMs ?? 0, prewarmed: t?.prewarmed ?? false, placementMs: Math.round(c.placementMs), agentMs: Math.round(c.agentMs * 10) / 10 };
    const tr = performance.now();
    const durationMs = Date.now() - c.started;
    const logs = encodeCallLog(
      (reply?.logs ?? []).map((l) => ({ atMs: Number(l.atMs), stream: l.stream, level: l.level, message: l.message })),
      reply?.logsTruncated ?? false,
    );
    await this.writer.write({
      id: c.executionId,
      function_id: c.fn.id,
      version: c.version,
      node_id: c.nodeId,
      trigger: c.trigger,
      status,
      http_status: failure ? statusOf(failure).status : reply!.status,
      started_at: c.started,
      duration_ms: durationMs,
      cold_start: t?.coldStart ? 1 : 0,
      // The row cannot hold the time it takes to write itself: recordMs goes only in Server-Timing.
      timings: JSON.stringify(recorded),
      cpu_ms: Number(reply?.resources?.cpuMs ?? 0),
      peak_memory_bytes: Number(reply?.resources?.peakMemoryBytes ?? 0),
      method: c.input.method,
      path: c.input.path,
      request_bytes: c.input.body.length,
      error: failure ? failure.detail : reply?.error || null,
      logs: logs.text,
      logs_truncated: logs.truncated ? 1 : 0,
    });
    const timings = { ...recorded, recordMs: Math.round((performance.now() - tr) * 10) / 10 };
    this.onCall?.(c.fn, status, durationMs, t?.coldStart ?? false);
    return {
      executionId: c.executionId,
      status,
      statusCode: reply?.status ?? 0,
      headers: (reply?.headers ?? []).map((h) => [h.name, h.value] as [string, string]),
      body: reply?.body ?? Buffer.alloc(0),
      durationMs,
      coldStart: t?.coldStart ?? false,
      nodeId: c.nodeId,
      timings,
      ...(failure ? { error: new AppError(failure.kind, failure.code, failure.detail, { ...failure.extra, executionId: c.executionId }) } : {}),
    };
  }
}
