// Runs the queued calls. Every replica dispatches: it claims due calls function by function (the function waiting
// longest first, a share each per pass, so one backlog never starves the others, and no more of a function's calls
// at once than its asyncConcurrency across replicas), runs each through the call pipeline like any call, and then
// settles it: succeeded, queued again after a backoff (retry.ts), or failed — a dead letter. A pass runs at once
// when a call is queued here or one finishes, and every `pollMs` for calls queued by other replicas or coming due.
import type { Kysely, Transaction } from 'kysely';
import type { Database, FunctionRow } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import { AppError, statusOf } from '../errors.js';
import { problemParts } from '../http/problem.js';
import { functionsRepo } from '../functions/functions.repo.js';
import type { CallOutcome, InvocationService } from '../invocations/invocation.service.js';
import { asyncCallsRepo, type ClaimedCall, type ClaimOptions, type SettleTo } from './async-calls.repo.js';
import { isPostgres } from '../db/connect.js';
import { backoffMs, failureClass, storedPolicy } from './retry.js';
import { storedDestinations } from './destinations.js';
import { deliveriesRepo } from './destination-deliveries.repo.js';
import { toAsyncCallView } from './async-calls.view.js';
import { v7 as uuidv7 } from 'uuid';
import { GroupCommit } from '../db/group-commit.js';
import type { Attempt, StoredAnswer } from './async-calls.view.js';

export interface DispatcherOptions {
  /** This replica's name (the leases'): its claims carry it. */
  replica: string;
  /** A pass at least this often (calls queued elsewhere, retries coming due). */
  pollMs?: number;
  /** How long a claim lasts without renewal: a replica that stops holds its calls no longer. */
  claimMs?: number;
  /** Queued calls this replica runs at once, all functions together. */
  maxRunning?: number;
  /** Told of every attempt settled (metrics). */
  onSettled?: (fn: FunctionRow, state: 'succeeded' | 'retry' | 'failed') => void;
  /** Told when a delivery to a destination was written (the deliverer looks). */
  onDelivery?: () => void;
}

type Claimed = Awaited<ReturnType<typeof asyncCallsRepo.claimIn>>;
type Write = { settle: string; to: SettleTo } | { claim: string; o: ClaimOptions };

/** When a function has no room (its concurrency is taken by sync calls), its call waits this long. */
const NO_ROOM_MS = 100;
/** How long a function's row read by a pass serves the next ones (its settings, its owner still enabled). */
const FUNCTION_TTL_MS = 1000;

/**
 * A group's writes in its transaction: the settlings, then one claim a function for all the claims of it asked
 * (a claim costs a statement however many calls it takes), shared out in the order asked — each as its own claim
 * made in turn would have found it: the calls, and the room there was before them.
 */
export async function writeGroup(tx: Transaction<Database>, items: Write[], replica: string): Promise<(boolean | Claimed)[]> {
  const out: (boolean | Claimed)[] = new Array(items.length);
  const claims = new Map<string, number[]>();
  for (const [i, w] of items.entries()) {
    if ('settle' in w) out[i] = await asyncCallsRepo.settle(tx, w.settle, replica, w.to);
    else claims.set(w.claim, [...(claims.get(w.claim) ?? []), i]);
  }
  for (const [functionId, asked] of claims) {
    const os = asked.map((i) => (items[i] as { o: ClaimOptions }).o);
    const all = await asyncCallsRepo.claimIn(tx, functionId, {
      replica,
      now: Math.max(...os.map((x) => x.now)),
      until: Math.max(...os.map((x) => x.until)),
      cap: Math.min(...os.map((x) => x.cap)),
      want: os.reduce((n, x) => n + x.want, 0),
    });
    let taken = 0;
    for (const [k, i] of asked.entries()) {
      const calls = all.calls.slice(taken, taken + os[k]!.want);
      out[i] = { calls, room: all.room - taken };
      taken += calls.length;
    }
  }
  return out;
}

/** Calls of the function's queue that may run at once, across replicas. */
const capOf = (fn: FunctionRow) => fn.async_concurrency ?? fn.concurrency * fn.max_instances;

export class AsyncDispatcher {
  private readonly running = new Map<string, Promise<void>>();
  /**
   * Functions whose cap was taken at their last claim here: a call queued for one of them needs no pass (one of its
   * calls finishing here makes room, and a poll forgets this, for calls that finished on other replicas).
   */
  private readonly full = new Set<string>();
  /**
   * Functions whose last attempt here found no room (sync calls hold their concurrency): none of their calls is
   * claimed for NO_ROOM_MS — rather than each of their queued calls being claimed and put back in turn.
   */
  private readonly noRoom = new Set<string>();
  private passing: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private poll: NodeJS.Timeout | undefined;
  private renewal: NodeJS.Timeout | undefined;
  private lastTakeBack = 0;
  private readonly pollMs: number;
  private readonly claimMs: number;
  private readonly maxRunning: number;

  /**
   * Attempts settled and claims made at the same moment, committed together, in the order asked (a call's settling
   * before the claim of the function's next call, which then finds its slot free). On PostgreSQL, one a
   * transaction: a claim locks its function's row to the end, and two replicas must never hold two such rows in
   * opposite orders.
   */
  private readonly writes: GroupCommit<Write, boolean | Claimed>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly invocations: InvocationService,
    private readonly log: Logger,
    private readonly o: DispatcherOptions,
  ) {
    this.writes = new GroupCommit<Write, boolean | Claimed>(
      db,
      (tx, items) => writeGroup(tx, items, o.replica),
      (one, w) => ('settle' in w ? asyncCallsRepo.settle(one, w.settle, o.replica, w.to) : asyncCallsRepo.claim(one, w.claim, w.o)),
      isPostgres(db) ? 1 : 500,
      // A slot waits for its group: it goes at once (a settling and the claim it makes room for are asked together).
      'turn',
    );
    this.pollMs = o.pollMs ?? 250;
    this.claimMs = o.claimMs ?? 30_000;
    this.maxRunning = o.maxRunning ?? 256;
  }

  start(): void {
    this.stopped = false;
    this.poll = setInterval(() => {
      this.full.clear();
      this.wake();
    }, this.pollMs);
    this.poll.unref();
    this.renewal = setInterval(() => void this.renew(), Math.max(100, this.claimMs / 3));
    this.renewal.unref();
    this.wake();
  }

  /** Calls still running get `graceMs` to finish; those that do not stay claimed until their claim runs out. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    clearInterval(this.renewal);
    await Promise.race([Promise.all([this.passing, ...this.running.values()]), new Promise((r) => setTimeout(r, graceMs).unref())]);
  }

  /** A pass now: a call was queued (of `functionId`: none if that function has no room), or one finished. */
  wake(functionId?: string): void {
    if (this.stopped || (functionId !== undefined && (this.full.has(functionId) || this.noRoom.has(functionId)))) return;
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = this.pass()
      .catch((err) => this.log.warn({ err }, 'async dispatch failed; will retry'))
      .finally(() => {
        this.passing = undefined;
        if (this.again) {
          // The calls that finished during the pass are claimed for by one more pass, after the I/O that is waiting.
          this.again = false;
          setImmediate(() => this.wake());
        }
      });
  }

  private async pass(): Promise<void> {
    const now = Date.now();
    if (now - this.lastTakeBack >= this.pollMs * 4) {
      this.lastTakeBack = now;
      const back = await asyncCallsRepo.takeBack(this.db, now);
      if (back) this.log.warn({ calls: back }, 'async calls taken back from a replica that stopped running them');
    }
    const room = this.maxRunning - this.running.size;
    if (room <= 0) return;
    const fns = await asyncCallsRepo.dueFunctions(this.db, now, 100);
    // A share each: the rest of the room goes to the next pass (which a finished call starts).
    const share = Math.max(1, Math.floor(room / Math.max(1, fns.length)));
    for (const id of fns) {
      if (this.stopped || this.running.size >= this.maxRunning) return;
      if (this.noRoom.has(id)) continue;
      const fn = await this.functionOf(id, now);
      if (!fn) continue; // its owner is disabled: its calls wait
      const cap = capOf(fn);
      const want = Math.min(share, this.maxRunning - this.running.size);
      await this.claimAndRun(fn, cap, want, now);
    }
  }

  /** Claims up to `want` of the function's due calls and starts them. The number started. */
  private async claimAndRun(fn: FunctionRow, cap: number, want: number, now: number): Promise<number> {
    const { calls: claimed, room } = (await this.writes.submit({ claim: fn.id, o: { replica: this.o.replica, now, until: now + this.claimMs, cap, want } })) as Claimed;
    if (room <= claimed.length) this.full.add(fn.id);
    for (const call of claimed) {
      const run = this.run(fn, call)
        .catch((err) => this.log.error({ err, call: call.id, function: fn.id }, 'async call not settled; its claim will run out and it will run again'))
        .then((continued) => continued === true)
        .finally(() => {
          this.running.delete(call.id);
          this.full.delete(fn.id);
        })
        .then((continued) => {
          if (!continued) this.next(fn.id);
        });
      this.running.set(call.id, run);
    }
    return claimed.length;
  }

  /**
   * A call of `fn` finished: its slot goes at once to the function's next due call, without waiting for a pass
   * (while this replica has room to spare: when it is busy, passes share the room out between functions).
   */
  private next(functionId: string): void {
    if (this.noRoom.has(functionId)) return;
    if (this.stopped || this.running.size >= this.maxRunning / 2) return this.wake();
    const now = Date.now();
    const claimed = (fn: FunctionRow | undefined) => (fn ? this.claimAndRun(fn, capOf(fn), 1, now) : Promise.resolve(0));
    // Its row as a pass would see it (its owner still enabled, its cap as set now). Known: the claim is asked for at
    // once, in the group of the settling that made its room.
    const hit = this.functions.get(functionId);
    const claim = hit && now - hit.at < FUNCTION_TTL_MS ? claimed(hit.row) : this.functionOf(functionId, now).then(claimed);
    claim.then(
      (n) => (n ? undefined : this.wake()),
      (err) => {
        this.log.warn({ err, function: functionId }, 'async claim failed; will retry');
        this.wake();
      },
    );
  }

  private readonly functions = new Map<string, { row: FunctionRow | undefined; at: number }>();

  /** The function's settings changed (on this replica; others see it within FUNCTION_TTL_MS): its cap may be higher. */
  forget(functionId: string): void {
    this.functions.delete(functionId);
    this.full.delete(functionId);
    this.wake();
  }

  private async functionOf(id: string, now: number): Promise<FunctionRow | undefined> {
    const hit = this.functions.get(id);
    if (hit && now - hit.at < FUNCTION_TTL_MS) return hit.row;
    const row = await functionsRepo.byIdOfActiveOwner(this.db, id);
    if (this.functions.size > 10_000) this.functions.clear();
    this.functions.set(id, { row, at: now });
    return row;
  }

  private async renew(): Promise<void> {
    if (!this.running.size) return;
    await asyncCallsRepo.renew(this.db, this.o.replica, [...this.running.keys()], Date.now() + this.claimMs).catch((err) => this.log.warn({ err }, 'async claims not renewed'));
  }

  /**
   * Settles the call for good; when the function has a destination for how it ended, the delivery of its outcome
   * is written in the same transaction (a call never ends without it, nor is delivered twice by two replicas).
   */
  private async finish(fn: FunctionRow, call: ClaimedCall, to: SettleTo & { state: 'succeeded' | 'failed' }): Promise<boolean> {
    const dest = storedDestinations(fn.destinations);
    const url = to.state === 'succeeded' ? dest.onSuccess : dest.onFailure;
    if (!url) return this.settleAndContinue(fn, call, to);
    const delivered = await this.db.transaction().execute(async (tx) => {
      if (!(await asyncCallsRepo.settle(tx, call.id, this.o.replica, to))) return false;
      const settled = (await asyncCallsRepo.byId(tx, call.id))!;
      const event = to.state === 'succeeded' ? 'call.succeeded' : 'call.failed';
      const body = Buffer.from(JSON.stringify({ event, function: { id: fn.id, name: fn.name }, call: toAsyncCallView(settled) }));
      const now = Date.now();
      await deliveriesRepo.insert(tx, { id: uuidv7({ msecs: now }), function_id: fn.id, call_id: call.id, event, url, body, state: 'pending', attempts: 0, due_at: now, last_error: null, created_at: now, finished_at: null });
      return true;
    });
    if (delivered) this.o.onDelivery?.();
    return false;
  }

  /** Settles the attempt and, in the same group, claims the function's next call for this slot: true (continued). */
  private async settleAndContinue(fn: FunctionRow, call: ClaimedCall, to: SettleTo): Promise<true> {
    const settled = this.writes.submit({ settle: call.id, to });
    this.next(fn.id);
    await settled;
    return true;
  }

  /** One attempt of the call, then where it goes. */
  /** True when it started the function's next call itself (settleAndContinue). */
  private async run(fn: FunctionRow, call: ClaimedCall): Promise<boolean> {
    const policy = storedPolicy(fn.retry);
    const history = JSON.parse(call.history) as Attempt[];
    // Attempts begun that left no trace: their replica stopped mid-call.
    while (history.length < call.attempts - 1) history.push({ executionId: null, status: 'interrupted', httpStatus: 0, startedAt: new Date(Number(call.due_at)).toISOString(), durationMs: 0, error: 'the replica running this attempt stopped' });
    if (call.attempts > policy.maxAttempts + 1) {
      const continued = await this.finish(fn, call, { state: 'failed', history: JSON.stringify(history), finishedAt: Date.now() });
      this.o.onSettled?.(fn, 'failed');
      return continued;
    }
    const started = Date.now();
    let out: CallOutcome | undefined;
    let thrown: AppError | undefined;
    try {
      out = await this.invocations.runQueued(fn, { method: call.method, path: call.path, query: call.query, headers: JSON.parse(call.headers) as [string, string][], body: call.body }, call.trigger, call.id, call.attempts, call.version ?? undefined);
    } catch (err) {
      if (err instanceof AppError && err.code === 'too_many_calls') {
        // No room for it now (sync calls hold the function's concurrency): not an attempt; it waits its turn, and
        // the function's calls wait a while before the next is tried.
        if (!this.noRoom.has(fn.id)) {
          this.noRoom.add(fn.id);
          setTimeout(() => {
            this.noRoom.delete(fn.id);
            this.wake();
          }, NO_ROOM_MS).unref();
        }
        await this.writes.submit({ settle: call.id, to: { state: 'queued', history: call.history, dueAt: Date.now() + NO_ROOM_MS, attemptsBack: true } });
        return false;
      }
      thrown = err instanceof AppError ? err : new AppError('unavailable', 'internal_error', 'the call could not be completed', { httpStatus: 500 });
      if (!(err instanceof AppError)) this.log.error({ err, call: call.id, function: fn.id }, 'async call failed');
    }
    const problem = out?.error ?? thrown;
    const httpStatus = problem ? statusOf(problem).status : out!.statusCode;
    const status = out?.status ?? 'rejected';
    history.push({ executionId: out?.executionId ?? null, status, httpStatus, startedAt: new Date(started).toISOString(), durationMs: out?.durationMs ?? Date.now() - started, error: problem?.detail ?? null });
    const p = problem && problemParts(httpStatus, problem.code, problem.detail, `/api/executions/${call.id}`, undefined, statusOf(problem).extra);
    const answer: StoredAnswer = p ? { statusCode: p.status, headers: Object.entries(p.headers) } : { statusCode: out!.statusCode, headers: out!.headers };
    const answerBody = p ? Buffer.from(p.body) : out!.body;
    const failure = failureClass(status, httpStatus, problem?.code);
    const retryable = failure !== null && failure !== 'rejected' && policy.on.includes(failure);
    if (retryable && call.attempts <= policy.maxAttempts) {
      await this.settleAndContinue(fn, call, { state: 'queued', history: JSON.stringify(history), dueAt: Date.now() + backoffMs(policy, call.attempts + 1), answer: JSON.stringify(answer), answerBody });
      this.o.onSettled?.(fn, 'retry');
      return true;
    }
    // The function's own answer is final unless the policy retries its class; anything else that failed is a dead letter.
    const failed = failure !== null && (retryable || (failure !== 'http_4xx' && failure !== 'http_5xx'));
    const continued = await this.finish(fn, call, { state: failed ? 'failed' : 'succeeded', history: JSON.stringify(history), answer: JSON.stringify(answer), answerBody, finishedAt: Date.now() });
    this.o.onSettled?.(fn, failed ? 'failed' : 'succeeded');
    return continued;
  }
}
