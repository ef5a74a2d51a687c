// The execution record of a call, written before the call answers: the outcome mapped once (proto/outcomes.ts)
// to the record's status and, for a call that did not produce the function's answer, to its problem; the log
// capped (common/call-log.ts); the record, its log lines and its count in the rollups handed to the group-commit
// writer. Sampling: past the function's rate of recorded successes per second, a success that was not a cold
// start is counted in the rollups only (the answer says `sampled`); every error and cold start is recorded.
import type { Db } from '../db/connect.js';
import type { ExecutionStatus, FunctionRow } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import type { InvokeReply__Output } from '../../../proto/generated/containerpub/agent/v1/InvokeReply.js';
import { AGENT_LOST, failureOf, fromWire, statusOfOutcome, type CallFailure } from '../../../proto/outcomes.js';
import { encodeCallLog } from '../../../common/call-log.js';
import { AppError, statusOf } from '../errors.js';
import { replyProblem } from '../fleet/agent-link.js';
import { ExecutionWriter } from './execution-writer.js';
import { encodeRecord, uuidBytes, type ExecutionRecord } from './records.js';
import { recordNumbers } from './record-numbers.js';
import type { Executor } from '../db/schema.js';
import type { Trigger } from '../../../common/api-types.js';

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
  /** True when sampling kept no record of the call (a success past the function's rate): it is counted in the stats only. */
  sampled: boolean;
  /** Set when the call did not produce the function's answer: the problem to send instead (naming the execution). */
  error?: AppError;
}

/** A finished call: the agent's reply, or the error that stopped it before one came. */
export interface FinishedCall {
  executionId: string;
  fn: FunctionRow;
  version: number;
  trigger: Trigger;
  /** The async call this is an attempt of; null for a sync call. */
  callId: string | null;
  /** Which attempt of its async call (1 the first); 0 for a sync call. */
  attempt: number;
  /** The request; a body that streamed in has its size in `streamed` (`body` holds its first bytes). */
  input: { method: string; path: string; body: Buffer; streamed?: { bytes: number } };
  started: number;
  /** The call's trace (32 hex digits): its span's when tracing is on, else the caller's traceparent's, if any. */
  traceId?: string | undefined;
  nodeId: string | null;
  reply?: InvokeReply__Output;
  error?: AppError;
  placementMs: number;
  agentMs: number;
}

/** The problem for a failure of the call (a thrown error in the function keeps its 500 and its message). */
const EMPTY_LOG = encodeCallLog([], false).text;

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

/** Successes recorded this second, per function: the sampling window. */
class Sampler {
  private second = 0;
  private readonly taken = new Map<string, number>();

  /** Whether one more success of the function may be recorded this second, at `rate` per second (null: all). */
  take(functionId: string, rate: number | null, now: number): boolean {
    if (rate === null) return true;
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      this.taken.clear();
    }
    const n = this.taken.get(functionId) ?? 0;
    if (n >= rate) return false;
    this.taken.set(functionId, n + 1);
    return true;
  }
}

export interface RecorderOptions {
  /** Told about every call once it is recorded (metrics). */
  onCall?: (fn: FunctionRow, status: ExecutionStatus, durationMs: number, coldStart: boolean) => void;
  /** Successes recorded per second per function when the function sets no rate (CPUB_EXECUTION_SAMPLING); null: all. */
  sampleRate?: number | null;
}

/** Group commit waits for the rows of calls begun in the last RECENT_MS to 2 × RECENT_MS, not for older ones. */
const RECENT_MS = 50;

export class CallRecorder {
  private running = 0;
  private readonly writer: ExecutionWriter;
  private readonly sampler = new Sampler();
  private readonly onCall: RecorderOptions['onCall'];
  private readonly sampleRate: number | null;
  private readonly db: Executor;

  /**
   * Calls running per window of RECENT_MS by when they began: group commit waits only for the rows of calls begun
   * in the last one or two windows. A call running longer (a slow function's, held for seconds) is not about to end,
   * and waiting for it would add the whole wait to every other call's answer.
   */
  private readonly began = new Map<number, number>();

  constructor(database: Db, log: Logger, options: RecorderOptions = {}) {
    this.db = database.kysely;
    this.writer = new ExecutionWriter(database, log, () => this.recent());
    this.onCall = options.onCall;
    this.sampleRate = options.sampleRate ?? null;
  }

  /** A call started: it counts as running (for group commit and shutdown) until `end()`, after its row is written. */
  begin(): { end(): void } {
    this.running++;
    const window = Math.floor(performance.now() / RECENT_MS);
    this.began.set(window, (this.began.get(window) ?? 0) + 1);
    let ended = false;
    return {
      end: () => {
        if (ended) return;
        ended = true;
        this.running--;
        const n = this.began.get(window)! - 1;
        if (n > 0) this.began.set(window, n);
        else this.began.delete(window);
      },
    };
  }

  /** Calls running that began in this window of RECENT_MS or the one before. */
  private recent(): number {
    const window = Math.floor(performance.now() / RECENT_MS);
    return (this.began.get(window) ?? 0) + (this.began.get(window - 1) ?? 0);
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
    const durationMs = Math.max(0, Date.now() - c.started); // never negative, whatever the clock did
    const logs = encodeCallLog(
      (reply?.logs ?? []).map((l) => ({ atMs: Number(l.atMs), stream: l.stream, level: l.level, message: l.message })),
      reply?.logsTruncated ?? false,
    );
    const coldStart = t?.coldStart ?? false;
    const kept = status !== 'success' || coldStart || this.sampler.take(c.fn.id, c.fn.execution_sample_rate ?? this.sampleRate, c.started);
    const key = uuidBytes(c.executionId);
    const cpuMs = Number(reply?.resources?.cpuMs ?? 0);
    const peakMemoryBytes = Number(reply?.resources?.peakMemoryBytes ?? 0);
    let fn = 0;
    let record;
    if (kept) {
      // Numbers known to this process are had without a wait (the function's from its first call on).
      fn = recordNumbers.cached(this.db, 'function', c.fn.id) ?? (await recordNumbers.numberOf(this.db, 'function', c.fn.id));
      const node = c.nodeId ? (recordNumbers.cached(this.db, 'node', c.nodeId) ?? (await recordNumbers.numberOf(this.db, 'node', c.nodeId))) : 0;
      const r: ExecutionRecord = {
        functionId: c.fn.id,
        key,
        id: c.executionId,
        startedAt: c.started,
        status,
        version: c.version,
        nodeId: c.nodeId,
        trigger: c.trigger,
        callId: c.callId,
        httpStatus: failure ? statusOf(failure).status : reply!.status,
        durationMs,
        coldStart,
        cpuMs,
        peakMemoryKib: Math.round(peakMemoryBytes / 1024),
        method: c.input.method,
        path: c.input.path,
        requestBytes: c.input.streamed?.bytes ?? c.input.body.length,
        error: failure ? failure.detail : reply?.error || null,
        // The row cannot hold the time it takes to write itself: recordMs goes only in Server-Timing.
        queuedMs: recorded.queuedMs,
        runMs: recorded.runMs,
        placementMs: recorded.placementMs,
        agentUs: Math.round(c.agentMs * 1000),
        cold: coldStart ? { createMs: recorded.createMs, startMs: recorded.startMs, readyMs: recorded.readyMs, prewarmed: recorded.prewarmed } : null,
        logs: logs.truncated ? 2 : logs.text === EMPTY_LOG ? 0 : 1,
        traceId: c.traceId ?? null,
      };
      record = encodeRecord(r, fn, node);
    }
    await this.writer.write(
      {
        record,
        logs: record && logs.text !== EMPTY_LOG ? { fn, id: key, lines: logs.text } : undefined,
        call: { functionId: c.fn.id, version: c.version, startedAt: c.started, status, coldStart, queued: c.attempt > 0, retry: c.attempt > 1, durationMs, cpuMs, peakMemoryBytes },
      },
      c.callId !== null,
    );
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
      sampled: !kept,
      ...(failure ? { error: new AppError(failure.kind, failure.code, failure.detail, { ...failure.extra, executionId: c.executionId }) } : {}),
    };
  }
}
