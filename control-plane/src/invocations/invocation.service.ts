// The one way a function is called. Every door — the function URL, `POST …/invoke`, the dashboard's form, and the
// async and scheduled calls to come — hands `invoke()` a caller, a function reference and a request; it owns the
// rest: lookup and the auth mode (call-auth.ts), the concurrency limit, placement, the lazy build (through the
// deployments service), dispatch on the agent's stream, and the execution record written before it answers.
import type { QuotaKeeper } from '../teams/quotas.js';
import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { FunctionRow } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import type { Fleet } from '../fleet/fleet.service.js';
import type { AgentLink } from '../fleet/agent-link.js';
import type { LinkReply } from '../fleet/agent-link.js';
import type { ReplyBody } from '../fleet/reply-body.js';
import { fromWire, toWire } from '../../../proto/outcomes.js';
import { AgentLost } from '../fleet/agent-link.js';
import { AppError, TooLarge } from '../errors.js';
import { FunctionSlots } from './function-slots.js';
import type { DeploymentsService } from '../deployments/deployments.service.js';
import type { CallRecorder, RecordedCall } from '../executions/call-recorder.js';
import type { CallAuth, Caller, FunctionRef } from './call-auth.js';
import type { AsyncQueue } from '../async-calls/async-queue.js';
import { checkKey, requestHash, type Idempotency } from './idempotency.js';
import type { Trigger } from '../../../common/api-types.js';
import { DEFAULT_QUEUE_TIMEOUT_MS, DEFAULT_REQUEST_LIMIT_MB, DEFAULT_RESPONSE_LIMIT_MB } from '../functions/functions.view.js';
import type { StreamedBody } from '../fleet/body-pump.js';
import { isStreamed } from './request-body.js';
import { SpanKind, contextFrom, endCall, endSpan, phase, startSpan, traceparentOf, tracingOn, type Span } from '../../../common/tracing.js';

export type { Caller, Credentials, FunctionRef } from './call-auth.js';
export type { RecordedCall as CallOutcome } from '../executions/call-recorder.js';

/** A call's request body at most (URL or envelope): larger is a 413. */
export const CALL_BODY_LIMIT = 6 * 2 ** 20;

/** An answer taken whole (the JSON invoke route, the dashboard, async calls, idempotent calls) at most, as the agent's. */
export const WHOLE_ANSWER_LIMIT = 16 * 2 ** 20;

/** A call whose answer streams: the function URL writes its body as it comes; the record is written at its end. */
export type StreamedCall = RecordedCall & { stream?: { body: ReplyBody; recorded: Promise<RecordedCall> } };

export interface CallRequest {
  method: string;
  path: string;
  query: string;
  headers: [string, string][];
  /**
   * The body, or how to read it: read only once the caller is admitted (a refused call's body is never read), up to
   * `limit` bytes; with `streams`, a large one may stay to stream in (its first bytes read).
   */
  body: Buffer | ((limit: number, streams: boolean) => Promise<Buffer | StreamedBody>);
}

export interface InvokeOptions {
  /** What the record says started the call. */
  trigger: 'api' | 'url';
  /** `Idempotency-Key`: the call runs once per function and key (24 h); a repeat gets the first one's answer. */
  idempotencyKey?: string | undefined;
  /** The alias the call is made through (`/fn/<owner>/<name>@<alias>`); none: live. */
  alias?: string | undefined;
  /**
   * The caller takes an answer the function streams as it comes (the function URL): the call then resolves at its
   * head, with `stream` set. Otherwise a streamed answer is read whole (up to WHOLE_ANSWER_LIMIT) before it resolves.
   */
  stream?: boolean;
}

/** Which version a call runs: its alias's (a split picks one), or undefined for the active version. */
export interface VersionPicker {
  pick(fn: FunctionRow, alias: string | undefined, headers: [string, string][]): Promise<number | undefined>;
}

/** How long a full node may wait for room before it declines a call that another node could take. */
const DECLINE_AFTER_MS = 250;

/**
 * 16 random bytes for an execution id, from a pool filled 256 ids at a time (as crypto.randomUUID does): uuid's
 * own source asks Web Crypto for every id, which costs more than the rest of the id.
 */
const pool = Buffer.alloc(16 * 256);
let poolAt = pool.length;
function randomBytes16(): Uint8Array {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += 16;
  return pool.subarray(poolAt - 16, poolAt);
}

export interface InvocationDeps {
  callAuth: CallAuth;
  deployments: DeploymentsService;
  fleet: Fleet;
  recorder: CallRecorder;
  log: Logger;
  /** The function's env (secrets decrypted) for a call: at once when cached, else a promise. */
  envOf: (functionId: string) => Record<string, string> | Promise<Record<string, string>>;
  /** Where calls that run later go (`Prefer: respond-async`). */
  queue?: AsyncQueue;
  /** Idempotency keys (calls made with `Idempotency-Key`). */
  idempotency?: Idempotency;
  /** The function's aliases. */
  aliases?: VersionPicker;
  /** Its team's quotas on calls. */
  quotas?: Pick<QuotaKeeper, 'enter'>;
}

export class InvocationService {
  /** Each function's capacity on this replica: over concurrency × maxInstances, a call waits (queueTimeoutMs), then 429. */
  private readonly slots = new FunctionSlots();

  /** Functions' envs as the wire's list, made once per env object (EnvService keeps one per function for 2 s). */
  private readonly envLists = new WeakMap<Record<string, string>, { name: string; value: string }[]>();

  constructor(private readonly d: InvocationDeps) {}

  private envList(env: Record<string, string>): { name: string; value: string }[] {
    let list = this.envLists.get(env);
    if (!list) this.envLists.set(env, (list = Object.entries(env).map(([name, value]) => ({ name, value }))));
    return list;
  }

  /**
   * Runs one call. Refusals before the function runs (not found 404, unauthenticated 401, too large 413, no ready
   * version 409, too many calls 429) throw; everything after is recorded, and a call that did not produce the
   * function's answer comes back with `error` set (the problem, naming the execution).
   */
  async invoke(caller: Caller, ref: FunctionRef, request: CallRequest, options: InvokeOptions): Promise<StreamedCall & { replayed?: boolean }> {
    if (!tracingOn()) return this.invokeIn(caller, ref, request, options);
    // Traced: the call's span, the child of the caller's traceparent when it sent one.
    const span = startSpan('call', contextFrom(traceHeaders(request.headers)), { 'cpub.trigger': options.trigger, 'url.path': request.path, 'http.request.method': request.method }, SpanKind.SERVER);
    return within(span, () => this.invokeIn(caller, ref, request, options, span));
  }

  /** `invoke` with the call's span when it is traced. */
  private async invokeIn(caller: Caller, ref: FunctionRef, request: CallRequest, options: InvokeOptions, span?: Span): Promise<StreamedCall & { replayed?: boolean }> {
    const key = options.idempotencyKey === undefined ? undefined : checkKey(options.idempotencyKey);
    const auth = span && phase(span, 'auth');
    // A large body at the function URL streams into the function, unless its answer is kept for repeats (a key).
    const { fn, body, streamed } = await this.admitted(caller, ref, request, options.stream === true && key === undefined).then(
      (ok) => (auth?.end(), ok),
      (err) => (auth?.end((err as Error).message), Promise.reject(err)),
    );
    span?.setAttributes({ 'cpub.function_id': fn.id, 'cpub.function': fn.name });
    const input = { ...request, body, ...(streamed ? { streamed } : {}) };
    const version = await this.d.aliases?.pick(fn, options.alias, input.headers);
    // A call under an Idempotency-Key keeps its answer for the repeats: taken whole.
    if (key === undefined || !this.d.idempotency) return this.run(fn, input, options.trigger, null, 0, version, span, options.stream === true);
    return this.d.idempotency.call(fn, key, requestHash('sync', input), () => this.run(fn, input, options.trigger, null, 0, version, span));
  }

  /**
   * Queues the call to run later (async-calls/): admitted as `invoke` admits, refused at once if it could never run
   * (no ready version: 409), and durable when this resolves with its id.
   */
  async enqueue(caller: Caller, ref: FunctionRef, request: CallRequest, options: InvokeOptions): Promise<{ executionId: string; replayed?: boolean }> {
    const queue = this.d.queue;
    if (!queue) throw new AppError('unavailable', 'async_unavailable', 'this server does not queue calls', { httpStatus: 503 });
    const key = options.idempotencyKey === undefined ? undefined : checkKey(options.idempotencyKey);
    const { fn, body } = await this.admitted(caller, ref, request, false);
    // Through an alias: the version its split picks now (live's is picked when the call runs).
    const version = options.alias === undefined ? undefined : await this.d.aliases?.pick(fn, options.alias, request.headers);
    if (version !== undefined) await this.d.deployments.version(fn, version);
    else if (!this.d.deployments.activeCached(fn)) await this.d.deployments.active(fn);
    const input = { ...request, body };
    const enqueue = async () => ({ executionId: await queue.enqueue(fn, input, options.trigger, undefined, version) });
    if (key === undefined || !this.d.idempotency) return enqueue();
    return this.d.idempotency.queued(fn, key, requestHash('async', input), enqueue);
  }

  /** One attempt of a queued call (the dispatcher's): as a call, from placement on. */
  async runQueued(fn: FunctionRow, request: CallRequest & { body: Buffer }, trigger: Trigger, callId: string, attempt: number, version?: number): Promise<RecordedCall> {
    const picked = version ?? (await this.d.aliases?.pick(fn, undefined, request.headers));
    if (!tracingOn()) return this.run(fn, request, trigger, callId, attempt, picked);
    // Traced: each attempt is a span of its own, in the trace of the request that queued the call (its traceparent).
    const span = startSpan('queued call attempt', contextFrom(traceHeaders(request.headers)), { 'cpub.trigger': trigger, 'cpub.call_id': callId, 'cpub.attempt': attempt, 'cpub.function_id': fn.id, 'cpub.function': fn.name }, SpanKind.CONSUMER);
    return within(span, () => this.run(fn, request, trigger, callId, attempt, picked, span));
  }

  /**
   * The caller admitted, and the body read: whole up to CALL_BODY_LIMIT — or, when it may stream (`streams`, and no
   * signature to check over it), up to the function's requestLimitMb, a large one left to stream in.
   */
  private async admitted(caller: Caller, ref: FunctionRef, request: CallRequest, streams: boolean): Promise<{ fn: FunctionRow; body: Buffer; streamed?: StreamedBody }> {
    const { fn, checkSigned } = await this.d.callAuth.admit(caller, ref);
    const canStream = streams && !checkSigned;
    const limit = canStream ? (fn.request_limit_mb ?? DEFAULT_REQUEST_LIMIT_MB) * 2 ** 20 : CALL_BODY_LIMIT;
    const got = typeof request.body === 'function' ? await request.body(limit, canStream) : request.body;
    if (isStreamed(got)) return { fn, body: got.first, streamed: got };
    if (got.length > limit) throw TooLarge('body_too_large', `the request body is over ${limit} bytes`);
    await checkSigned?.(got);
    return { fn, body: got };
  }

  private async run(fn: FunctionRow, input: CallRequest & { body: Buffer; streamed?: StreamedBody }, trigger: Trigger, callId: string | null = null, attempt = 0, version?: number, span?: Span, streams = false): Promise<StreamedCall> {
    const started = Date.now();
    const t0 = performance.now();
    const dep = version === undefined ? (this.d.deployments.activeCached(fn) ?? (await this.d.deployments.active(fn))) : await this.d.deployments.version(fn, version);
    // A call over its team's quotas or its function's capacity waits (queueTimeoutMs, within its timeout, for both
    // waits together), then 429. A queued call (callId) is in a queue already: it does not wait here too.
    const waitUntil = callId === null ? Date.now() + Math.min(fn.queue_timeout_ms ?? DEFAULT_QUEUE_TIMEOUT_MS, fn.timeout_ms) : 0;
    // Within the team's quotas (calls a day, concurrent calls, instance memory): 429 quota_exceeded otherwise.
    // Traced: an `admission` span when the call waited (for its team's room or a slot: a millisecond or more) or was refused.
    const admission = span && phase(span, 'admission', undefined, 1);
    const entered = this.d.quotas?.enter(fn, waitUntil - Date.now());
    const leave = entered instanceof Promise ? await entered.catch((err) => (admission?.end((err as Error).message), Promise.reject(err))) : entered;
    try {
      const slot = this.slots.take(fn, waitUntil - Date.now());
      if (slot) await slot;
    } catch (err) {
      leave?.();
      admission?.end((err as Error).message);
      throw err;
    }
    admission?.end();
    const ranFrom = Date.now();
    const call = this.d.recorder.begin();
    // Time-ordered (UUIDv7) with the call's start as its time: the record is found by id through (function, time).
    const executionId = uuidv7({ random: randomBytes16(), msecs: started });
    const record = { executionId, fn, version: dep.version, trigger, callId, attempt, input, started, traceId: span ? span.spanContext().traceId : callerTraceId(input.headers) } as const;
    let link: AgentLink | undefined;
    let agentMs = 0;
    let placementMs = 0;
    /** The call goes on after this returns (its answer streams): its end releases what it holds. */
    let handedOff = false;
    const finished = () => {
      call.end();
      const took = Date.now() - ranFrom;
      this.slots.release(fn.id, took);
      leave?.();
    };
    try {
      const cachedEnv = this.d.envOf(fn.id);
      const env = cachedEnv instanceof Promise ? await cachedEnv : cachedEnv;
      const placing = span && phase(span, 'placement');
      const candidates = await this.d.fleet.candidates({ functionId: fn.id, version: dep.version, digest: dep.digest, memoryMb: fn.memory_mb, concurrency: fn.concurrency, runtime: dep.runtime });
      placing?.end();
      if (!candidates.length) throw new AppError('unavailable', 'no_agent', 'no agent is up to run the function', { retryAfter: 2 });
      const message = {
        invocationId: executionId,
        functionId: fn.id,
        functionName: fn.name,
        version: dep.version,
        image: dep.image!,
        deadlineMs: started + fn.timeout_ms,
        limits: { memoryMb: fn.memory_mb, cpus: fn.cpus, timeoutMs: fn.timeout_ms, concurrency: fn.concurrency, maxInstances: fn.max_instances, network: fn.network === 'egress', maxResponseBytes: (fn.response_limit_mb ?? DEFAULT_RESPONSE_LIMIT_MB) * 2 ** 20 },
        env: this.envList(env),
        request: { method: input.method, path: input.path, query: input.query, headers: input.headers.map(([name, value]) => ({ name, value })), body: input.body },
        traceparent: '',
        declineAfterMs: 0,
      };
      let reply: LinkReply | undefined;
      // Best node first; one that declines (full, draining) or cannot be reached never ran the function, so the
      // next is tried while the deadline allows. A call that reached an agent is never sent again elsewhere.
      for (let i = 0; i < candidates.length; i++) {
        link = candidates[i]!;
        // A body that streams in goes to one node only (what it sent cannot be sent again): it waits there for room.
        const last = i === candidates.length - 1 || Date.now() >= message.deadlineMs || input.streamed !== undefined;
        // maxInstances is fleet-wide: this node may run what the others do not hold. (The message is written before
        // `link.invoke` resolves, so the next node's settings may be set on it.)
        message.declineAfterMs = last ? 0 : DECLINE_AFTER_MS;
        message.limits.maxInstances = this.d.fleet.capOn(link, `${fn.id}@${dep.version}`, fn.max_instances);
        let dispatch: Span | undefined;
        try {
          const building = this.d.deployments.ensureOn(link, dep);
          if (building) {
            const build = span && phase(span, 'lazy build', { 'cpub.node_id': link.nodeId });
            await building.then(
              () => build?.end(),
              (err) => (build?.end((err as Error).message), Promise.reject(err)),
            );
          }
          placementMs = performance.now() - t0;
          const ta = performance.now();
          // Traced: the agent's spans and the function's request are children of this one.
          dispatch = span && startSpan('agent dispatch', span, { 'cpub.node_id': link.nodeId }, SpanKind.CLIENT);
          if (dispatch) message.traceparent = traceparentOf(dispatch);
          reply = await link.invoke(message, fn.memory_mb * 2 ** 20, input.streamed);
          if (reply.problem?.code === 'image_missing' && !input.streamed) {
            // The agent lost the image (a restart, a prune): it never ran the function, so build and send again.
            await this.d.deployments.ensureOn(link, dep, true);
            reply = await link.invoke(message, fn.memory_mb * 2 ** 20);
          }
          agentMs = performance.now() - ta;
          if (dispatch) endSpan(dispatch, reply.error || undefined);
        } catch (err) {
          if (dispatch) endSpan(dispatch, (err as Error).message);
          if (!last && err instanceof AppError && (err.code === 'agent_unreachable' || err.code === 'build_failed')) continue;
          throw err;
        }
        if (!last && fromWire(reply.outcome) === 'rejected' && !reply.problem) continue;
        break;
      }
      const nodeId = link?.nodeId ?? null;
      if (reply!.stream) {
        const head = reply!;
        const body = head.stream!;
        if (streams) {
          // Its head answers now; its record is written at its end, which releases its slot.
          handedOff = true;
          const recorded = body.ended
            .then(
              (end) => this.d.recorder.record({ ...record, nodeId, reply: { ...end, status: head.status, headers: head.headers }, placementMs: placementMs || performance.now() - t0, agentMs }),
              (err) => this.d.recorder.record({ ...record, nodeId, error: err instanceof AppError ? err : AgentLost((err as Error).message), placementMs: placementMs || performance.now() - t0, agentMs }),
            )
            .finally(finished);
          // Its timings until its head (the agent's: its wait, its cold start, its run to the head).
          const t = head.timings;
          const timings = { queuedMs: t?.queuedMs ?? 0, createMs: t?.createMs ?? 0, startMs: t?.startMs ?? 0, readyMs: t?.readyMs ?? 0, runMs: t?.runMs ?? 0, prewarmed: t?.prewarmed ?? false, placementMs: Math.round(placementMs), agentMs: Math.round(agentMs * 10) / 10, recordMs: 0 };
          return { executionId, status: 'success', statusCode: head.status, headers: head.headers.map((h) => [h.name, h.value] as [string, string]), body: Buffer.alloc(0), durationMs: Date.now() - started, coldStart: t?.coldStart ?? false, nodeId, timings, sampled: false, stream: { body, recorded } };
        }
        // Taken whole: read to its end, failing past the limit of a whole answer.
        const w = await body.whole(WHOLE_ANSWER_LIMIT);
        reply = w.over
          ? { ...w.end, status: head.status, headers: [], outcome: toWire('crashed'), error: `the response is larger than ${WHOLE_ANSWER_LIMIT / 2 ** 20} MiB` }
          : { ...w.end, status: head.status, headers: head.headers, body: w.body };
        agentMs = performance.now() - t0 - placementMs;
      }
      const recording = span && phase(span, 'record');
      return await this.d.recorder.record({ ...record, nodeId, reply: reply!, placementMs: placementMs || performance.now() - t0, agentMs }).finally(() => recording?.end());
    } catch (err) {
      if (!(err instanceof AppError)) {
        // Our own failure (a database error, a bug): logged with the execution id, not shown to the caller.
        this.d.log.error({ err, executionId, function: fn.id }, 'call failed');
      }
      const error = err instanceof AppError ? err : new AppError('unavailable', 'internal_error', `the call could not be completed; execution ${executionId} identifies it in the server log`, { httpStatus: 500 });
      return await this.d.recorder.record({ ...record, nodeId: link?.nodeId ?? null, error, placementMs: performance.now() - t0, agentMs });
    } finally {
      if (!handedOff) finished();
    }
  }

  /** Calls of the function waiting for a slot on this replica. */
  waitingFor(functionId: string): number {
    return this.slots.waitingFor(functionId);
  }

  /** Calls of the function running (holding a slot) on this replica. */
  inFlightFor(functionId: string): number {
    return this.slots.inFlightFor(functionId);
  }
}

/** Runs a traced call: its execution id and status on its span, which ends with it (an error when it failed). */
async function within<T extends StreamedCall>(span: Span, call: () => Promise<T>): Promise<T> {
  try {
    const out = await call();
    // A streamed answer's call ends with its stream.
    if (out.stream) void out.stream.recorded.then((r) => endCall(span, r.error?.detail, { 'cpub.execution_id': r.executionId, 'http.response.status_code': r.statusCode }));
    else endCall(span, out.error?.detail, { 'cpub.execution_id': out.executionId, 'http.response.status_code': out.statusCode });
    return out;
  } catch (err) {
    endCall(span, err instanceof Error ? err.message : String(err));
    throw err;
  }
}

/** The trace headers among a call's (names are lower case). */
function traceHeaders(headers: [string, string][]): Record<string, string> {
  const carrier: Record<string, string> = {};
  for (const [k, v] of headers) if (k === 'traceparent' || k === 'tracestate') carrier[k] = v;
  return carrier;
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/** Tracing off: the trace id of the caller's own traceparent, if it sent a valid one (kept on the record). */
function callerTraceId(headers: [string, string][]): string | undefined {
  for (const [k, v] of headers) {
    if (k !== 'traceparent') continue;
    const m = TRACEPARENT.exec(v.trim());
    return m && !/^0+$/.test(m[1]!) ? m[1] : undefined;
  }
  return undefined;
}
