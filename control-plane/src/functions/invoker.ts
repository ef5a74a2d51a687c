// Runs one call of a function: its active version, an agent (that builds the version first if it has not),
// the call as a message on the agent's InvokeStream, and one execution row written before the answer goes
// back. Failures are typed (function_error, function_timeout, function_oom, function_crashed, agent_lost, …).
import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { Kysely } from 'kysely';
import type { Db } from '../db/connect.js';
import type { Database, DeploymentRow, ExecutionStatus, FunctionRow } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import type { Fleet } from '../fleet/fleet.service.js';
import { builtKey, type AgentLink } from '../fleet/agent-link.js';
import type { InvokeReply__Output } from '../../../proto/generated/containerpub/agent/v1/InvokeReply.js';
import { AppError, Conflict, RateLimited, statusOf } from '../errors.js';
import { functionsRepo } from './functions.repo.js';
import { ExecutionWriter } from './execution-writer.js';
import type { ArtifactStore } from './artifact-store.js';

export interface CallInput {
  method: string;
  path: string;
  query: string;
  headers: [string, string][];
  body: Buffer;
}

export interface CallOutcome {
  executionId: string;
  status: ExecutionStatus;
  /** The function's own status, headers and body (when it ran and answered). */
  statusCode: number;
  headers: [string, string][];
  body: Buffer;
  durationMs: number;
  coldStart: boolean;
  nodeId: string | null;
  timings: { queuedMs: number; createMs: number; startMs: number; readyMs: number; runMs: number; prewarmed: boolean; placementMs: number; agentMs: number; recordMs: number };
  /** Set when the call did not produce the function's answer: the problem to send instead. */
  error?: AppError;
}

const OUTCOME_STATUS: Record<string, ExecutionStatus> = {
  OUTCOME_OK: 'success',
  OUTCOME_ERROR: 'error',
  OUTCOME_TIMEOUT: 'timeout',
  OUTCOME_OOM: 'oom',
  OUTCOME_CRASHED: 'crashed',
  OUTCOME_REJECTED: 'rejected',
};

const LOG_CAP = 256 * 1024;

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

/** A call's request body at most (URL or envelope): larger is a 413. */
export const CALL_BODY_LIMIT = 6 * 2 ** 20;

/** The error with the id of the execution that recorded it, for the problem body. */
export function withExecution(err: AppError, out: CallOutcome): AppError {
  return new AppError(err.kind, err.code, err.detail, { ...err.extra, executionId: out.executionId });
}


export interface InvokerDeps {
  db: Kysely<Database>;
  /** For the execution rows' hot-path insert. */
  database: Db;
  fleet: Fleet;
  artifacts: ArtifactStore;
  log: Logger;
  /** The function's env (secrets decrypted) for a call. */
  envOf: (functionId: string) => Promise<Record<string, string>>;
  /** Told about every call once it is recorded (metrics). */
  onCall?: (fn: FunctionRow, status: ExecutionStatus, durationMs: number, coldStart: boolean) => void;
}

export class Invoker {
  /** Calls in flight per function on this replica: over concurrency × maxInstances is a 429. */
  private readonly inFlight = new Map<string, number>();
  private running = 0;
  private readonly deployments = new Map<string, DeploymentRow>();
  /** Builds under way per agent and image, so concurrent first calls share one. */
  private readonly building = new Map<string, Promise<unknown>>();
  private readonly writer: ExecutionWriter;

  constructor(private readonly d: InvokerDeps) {
    this.writer = new ExecutionWriter(d.database, d.log, () => this.running);
  }

  async call(fn: FunctionRow, input: CallInput, trigger: 'api' | 'url'): Promise<CallOutcome> {
    const started = Date.now();
    const t0 = performance.now();
    if (fn.active_version === null) throw Conflict('no_ready_version', `function ${fn.name} has no ready version: deploy one first`);
    const limit = fn.concurrency * fn.max_instances;
    const now = this.inFlight.get(fn.id) ?? 0;
    if (now >= limit) throw RateLimited('too_many_calls', `function ${fn.name} already has ${now} calls in flight (concurrency ${fn.concurrency} × ${fn.max_instances} instances)`, 1);
    this.inFlight.set(fn.id, now + 1);
    this.running++;
    // Time-ordered (UUIDv7): rows of one moment share index pages, so a group commit writes a few pages, not one per row.
    const executionId = uuidv7({ random: randomBytes16() });
    let link: AgentLink | undefined;
    let reply: InvokeReply__Output | undefined;
    let error: AppError | undefined;
    let agentMs = 0;
    let placementMs = 0;
    try {
      const dep = await this.activeDeployment(fn);
      const env = await this.d.envOf(fn.id);
      const candidates = await this.d.fleet.candidates({ functionId: fn.id, version: dep.version, digest: dep.digest, memoryMb: fn.memory_mb, concurrency: fn.concurrency });
      if (!candidates.length) throw new AppError('unavailable', 'no_agent', 'no agent is up to run the function', { retryAfter: 2 });
      const request = {
        invocationId: executionId,
        functionId: fn.id,
        functionName: fn.name,
        version: dep.version,
        image: dep.image!,
        deadlineMs: started + fn.timeout_ms,
        limits: { memoryMb: fn.memory_mb, cpus: fn.cpus, timeoutMs: fn.timeout_ms, concurrency: fn.concurrency, maxInstances: fn.max_instances, network: fn.network === 'egress' },
        env: Object.entries(env).map(([name, value]) => ({ name, value })),
        request: { method: input.method, path: input.path, query: input.query, headers: input.headers.map(([name, value]) => ({ name, value })), body: input.body },
      };
      // Best node first; one that declines (full, draining) or cannot be reached never ran the function, so the
      // next is tried while the deadline allows. A call that reached an agent is never sent again elsewhere.
      for (let i = 0; i < candidates.length; i++) {
        link = candidates[i]!;
        const last = i === candidates.length - 1 || Date.now() >= request.deadlineMs;
        try {
          await this.ensureBuilt(link, dep);
          placementMs = performance.now() - t0;
          const ta = performance.now();
          reply = await link.invoke({ ...request, declineAfterMs: last ? 0 : DECLINE_AFTER_MS }, fn.memory_mb * 2 ** 20);
          agentMs = performance.now() - ta;
          if (reply.problem?.code === 'image_missing') {
            // The agent lost the image (a restart, a prune): it never ran the function, so build and send again.
            link.built.delete(builtKey(dep.function_id, dep.digest));
            await this.ensureBuilt(link, dep);
            reply = await link.invoke({ ...request, declineAfterMs: last ? 0 : DECLINE_AFTER_MS }, fn.memory_mb * 2 ** 20);
            agentMs = performance.now() - ta;
          }
        } catch (err) {
          if (!last && err instanceof AppError && (err.code === 'agent_unreachable' || err.code === 'build_failed')) continue;
          throw err;
        }
        if (!last && reply.outcome === 'OUTCOME_REJECTED' && !reply.problem) continue;
        break;
      }
      reply = reply!;
      if (reply.problem) error = new AppError(reply.problem.kind === 'invalid' ? 'invalid' : 'unavailable', reply.problem.code, reply.problem.detail);
      return await this.record(fn, dep.version, executionId, trigger, input, started, link, reply, error, placementMs || performance.now() - t0, agentMs);
    } catch (err) {
      if (!(err instanceof AppError)) {
        // Our own failure (a database error, a bug): logged with the execution id, not shown to the caller.
        this.d.log.error({ err, executionId, function: fn.id }, 'call failed');
      }
      error = err instanceof AppError ? err : new AppError('unavailable', 'internal_error', `the call could not be completed; execution ${executionId} identifies it in the server log`, { httpStatus: 500 });
      if (error.code === 'no_ready_version') throw error;
      return await this.record(fn, fn.active_version, executionId, trigger, input, started, link, undefined, error, performance.now() - t0, agentMs);
    } finally {
      this.running--;
      const n = (this.inFlight.get(fn.id) ?? 1) - 1;
      if (n) this.inFlight.set(fn.id, n);
      else this.inFlight.delete(fn.id);
    }
  }

  /**
   * Resolves once no call is running (or after `ms`): a call counts as running until its execution row is
   * written, so at shutdown this is what keeps the database open for the rows of the last calls.
   */
  async settle(ms: number): Promise<void> {
    for (const end = Date.now() + ms; this.running > 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  }

  /** Drops what is cached about a function (its settings, env or versions changed). */
  forget(functionId: string): void {
    for (const k of this.deployments.keys()) if (k.startsWith(`${functionId}@`)) this.deployments.delete(k);
  }

  private async activeDeployment(fn: FunctionRow): Promise<DeploymentRow> {
    const key = `${fn.id}@${fn.active_version}`;
    let d = this.deployments.get(key);
    if (!d) {
      d = await functionsRepo.deployment(this.d.db, fn.id, fn.active_version!);
      if (!d || d.status !== 'ready' || !d.image) throw Conflict('no_ready_version', `version ${fn.active_version} of ${fn.name} is not ready`);
      this.deployments.set(key, d);
    }
    return d;
  }

  private async ensureBuilt(link: AgentLink, dep: DeploymentRow): Promise<void> {
    const key = builtKey(dep.function_id, dep.digest);
    if (link.built.has(key)) return;
    const flight = `${link.nodeId}/${key}`;
    let build = this.building.get(flight);
    if (!build) {
      build = this.d.artifacts
        .local(dep.digest)
        .then((file) => link.build({ functionId: dep.function_id, version: dep.version, digest: dep.digest, sizeBytes: Number(dep.size_bytes), file, timeoutMs: 5 * 60_000 }, () => {}))
        .finally(() => this.building.delete(flight));
      this.building.set(flight, build);
    }
    await build;
  }

  private async record(
    fn: FunctionRow,
    version: number,
    id: string,
    trigger: 'api' | 'url',
    input: CallInput,
    started: number,
    link: AgentLink | undefined,
    reply: InvokeReply__Output | undefined,
    error: AppError | undefined,
    placementMs: number,
    agentMs: number,
  ): Promise<CallOutcome> {
    const status: ExecutionStatus = error ? (error.code === 'agent_lost' ? 'agent_lost' : 'rejected') : (OUTCOME_STATUS[reply!.outcome] ?? 'error');
    const t = reply?.timings;
    const recorded = { queuedMs: t?.queuedMs ?? 0, createMs: t?.createMs ?? 0, startMs: t?.startMs ?? 0, readyMs: t?.readyMs ?? 0, runMs: t?.runMs ?? 0, prewarmed: t?.prewarmed ?? false, placementMs: Math.round(placementMs), agentMs: Math.round(agentMs * 10) / 10 };
    const tr = performance.now();
    const durationMs = Date.now() - started;
    let logs = (reply?.logs ?? []).map((l) => ({ atMs: Number(l.atMs), stream: l.stream, level: l.level, message: l.message }));
    let text = logs.length ? JSON.stringify(logs) : '[]';
    let truncated = reply?.logsTruncated ?? false;
    while (text.length > LOG_CAP && logs.length) {
      logs = logs.slice(0, Math.floor(logs.length / 2));
      text = JSON.stringify(logs);
      truncated = true;
    }
    const failure = error ?? problemFor(status, reply);
    await this.writer.write({
      id,
      function_id: fn.id,
      version,
      node_id: link?.nodeId ?? null,
      trigger,
      status,
      http_status: failure ? statusOf(failure).status : reply!.status,
      started_at: started,
      duration_ms: durationMs,
      cold_start: t?.coldStart ? 1 : 0,
      // The row cannot hold the time it takes to write itself: recordMs goes only in Server-Timing.
      timings: JSON.stringify(recorded),
      cpu_ms: Number(reply?.resources?.cpuMs ?? 0),
      peak_memory_bytes: Number(reply?.resources?.peakMemoryBytes ?? 0),
      method: input.method,
      path: input.path,
      request_bytes: input.body.length,
      error: failure ? failure.detail : reply?.error || null,
      logs: text,
      logs_truncated: truncated ? 1 : 0,
    });
    const timings = { ...recorded, recordMs: Math.round((performance.now() - tr) * 10) / 10 };
    this.d.onCall?.(fn, status, durationMs, t?.coldStart ?? false);
    return {
      executionId: id,
      status,
      statusCode: reply?.status ?? 0,
      headers: (reply?.headers ?? []).map((h) => [h.name, h.value] as [string, string]),
      body: reply?.body ?? Buffer.alloc(0),
      durationMs,
      coldStart: t?.coldStart ?? false,
      nodeId: link?.nodeId ?? null,
      timings,
      ...(failure ? { error: failure } : {}),
    };
  }
}

/** The problem for an outcome that is not the function's own answer (a thrown error keeps its 500 response). */
function problemFor(status: ExecutionStatus, reply: InvokeReply__Output | undefined): AppError | undefined {
  const detail = reply?.error || status;
  switch (status) {
    case 'error': {
      let message = detail;
      try {
        message = (JSON.parse(reply!.body.toString('utf8')) as { message?: string }).message ?? detail;
      } catch {
        // not the shim's JSON: keep the agent's words
      }
      return new AppError('unavailable', 'function_error', `the function threw: ${message}`, { httpStatus: 500 });
    }
    case 'timeout':
      return new AppError('unavailable', 'function_timeout', detail, { httpStatus: 504 });
    case 'oom':
      return new AppError('unavailable', 'function_oom', detail, { httpStatus: 502 });
    case 'crashed':
      return new AppError('unavailable', 'function_crashed', detail, { httpStatus: 502 });
    case 'rejected':
      return new AppError('unavailable', 'agent_busy', detail, { httpStatus: 503, retryAfter: 1 });
    default:
      return undefined;
  }
}

