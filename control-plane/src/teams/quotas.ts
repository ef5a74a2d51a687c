// Team quotas, set by a server administrator: how many functions, versions per function, artifact storage, memory
// of instances, concurrent calls, calls and CPU-seconds in the last 24 hours. Exceeding one is a clear answer —
// 403 quota_exceeded for what is kept (functions, versions, storage, a warm floor), 429 for calls — naming the
// quota, its limit and its use. Calls are checked on the call's path from a per-team state refreshed every few
// seconds (rollups for the day's numbers; heartbeats for warm instances); concurrent calls and instance memory count
// this replica's calls in flight: with several replicas, each admits up to the limit (the error is at most the
// number of replicas × the limit; state it to operators). A call over concurrent calls or instance memory waits for
// the team's calls to make room, like a call over its function's capacity (up to its queueTimeoutMs, in a bounded
// queue), and is refused only then: a caller that calls again at once after a refusal is paced by the wait instead
// of costing the control plane a refusal per round trip (what other teams would pay for).
import type { Kysely } from 'kysely';
import { z } from '@hono/zod-openapi';
import type { Database, FunctionRow } from '../db/schema.js';
import { AppError, Forbidden, NotFound } from '../errors.js';
import { auditRepo } from '../audit/audit.repo.js';
import { teamsRepo } from './teams.repo.js';
import { memberOf, type SignedIn } from './access.js';
import type { StatsService } from '../stats/stats.service.js';
import type * as api from '../../../common/api-types.js';

export const QUOTA_NAMES = ['functions', 'versionsPerFunction', 'artifactMb', 'memoryMb', 'concurrentCalls', 'callsPerDay', 'cpuSecondsPerDay'] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];
export type Quotas = Partial<Record<QuotaName, number | null>>;

export const QuotasSchema = z
  .object(Object.fromEntries(QUOTA_NAMES.map((q) => [q, z.number().int().min(0).max(1e12).nullable().optional()])) as Record<QuotaName, z.ZodOptional<z.ZodNullable<z.ZodNumber>>>)
  .strict();

const REFRESH_MS = 5000;
/** Calls of a team that may wait for room, per call its quota lets run at once. */
const WAITING_PER_SLOT = 10;
/** Calls of a team that may wait for room at least (a team held to one instance still paces a hundred callers). */
const TEAM_WAITING = 100;
/** Calls over their team's quota waiting outside its line (to be refused), at most, on this replica. */
const HELD_MAX = 10_000;

interface QuotaWaiter {
  fn: FunctionRow;
  go: (leave: () => void) => void;
  timer: NodeJS.Timeout;
}

interface TeamState {
  at: number;
  loading?: Promise<TeamState> | undefined;
  quotas: Quotas;
  /** The team's functions (for instance memory): id, memory, concurrency, active version. */
  functions: Pick<FunctionRow, 'id' | 'memory_mb' | 'concurrency' | 'active_version'>[];
  callsDay: number;
  cpuMsDay: number;
}

export interface QuotaDeps {
  db: Kysely<Database>;
  stats: StatsService;
  /** Containers of `<function id>@<version>` across the fleet (heartbeats). */
  warmOf: (fv: string) => number;
  now?: () => number;
}

/** A quota's refusal: which, its limit and its use. */
export function quotaExceeded(quota: QuotaName, limit: number, used: number, status: 403 | 429, retryAfter?: number): AppError {
  const unit = quota === 'artifactMb' || quota === 'memoryMb' ? ' MB' : quota === 'cpuSecondsPerDay' ? ' s' : '';
  return new AppError(status === 429 ? 'rate_limited' : 'forbidden', 'quota_exceeded', `the team's ${quota} quota is ${limit}${unit} and ${used}${unit} ${status === 429 ? 'are in use' : 'are used'}: ask a server administrator to raise it`, {
    httpStatus: status,
    quota,
    limit,
    used,
    ...(retryAfter ? { retryAfter } : {}),
  });
}

export class QuotaKeeper {
  private readonly teams = new Map<string, TeamState>();
  /** Calls in flight on this replica, per team and per function. */
  private readonly inFlight = new Map<string, number>();
  private readonly fnInFlight = new Map<string, number>();
  /** Calls waiting for room under their team's concurrent-calls or memory quota, per team, first come first served. */
  private readonly waiting = new Map<string, QuotaWaiter[]>();
  /** Calls waiting outside their team's line. */
  private held = 0;
  private readonly now: () => number;

  constructor(private readonly d: QuotaDeps) {
    this.now = d.now ?? Date.now;
  }

  /** The team's quotas, from the database (for checks off the call path). */
  async quotasOf(teamId: string): Promise<Quotas> {
    const t = await teamsRepo.byId(this.d.db, teamId);
    return t?.quotas ? (JSON.parse(t.quotas) as Quotas) : {};
  }

  /**
   * Admits a call of `fn` under its team's quotas, or throws 429 quota_exceeded; the returned function ends it.
   * Synchronous while the team's state is fresh and there is room (the call path), a promise when its state must be
   * read first or, with `waitMs`, while it waits for the team's calls to make room under concurrentCalls or memoryMb.
   */
  enter(fn: FunctionRow, waitMs = 0): (() => void) | Promise<() => void> {
    const s = this.teams.get(fn.owner_id);
    if (s && this.now() - s.at < REFRESH_MS) return this.admitOrWait(fn, s, waitMs);
    // Never read yet (its first read under way or not begun): the call waits for it, so no burst slips past.
    if (!s || s.at === 0) return this.load(fn.owner_id).then((st) => this.admitOrWait(fn, st, waitMs));
    // Stale: read again behind this call, which is judged on what was known a moment ago.
    if (!s.loading) void this.load(fn.owner_id).catch(() => {});
    return this.admitOrWait(fn, s, waitMs);
  }

  /** Calls of the team waiting for room under its quotas on this replica. */
  waitingOf(teamId: string): number {
    return this.waiting.get(teamId)?.length ?? 0;
  }

  private admitOrWait(fn: FunctionRow, s: TeamState, waitMs: number): (() => void) | Promise<() => void> {
    const queue = this.waiting.get(fn.owner_id);
    // Calls already waiting go first: a new one may not take the room that frees for them.
    if (queue?.length && waitMs > 0) return this.wait(fn, s, waitMs, true);
    try {
      return this.admit(fn, s);
    } catch (err) {
      if (waitMs <= 0 || !(err instanceof AppError) || err.code !== 'quota_exceeded') throw err;
      return this.wait(fn, s, waitMs, err.extra.quota === 'concurrentCalls' || err.extra.quota === 'memoryMb');
    }
  }

  /**
   * A call over its team's quota that may wait is never refused at once. Over concurrent calls or memory it waits in
   * line for room (a call of its team ending admits the first in line); when no room can come that way (the day's
   * calls spent, a quota of 0) or the line is full, it waits as long outside the line. Then it is judged once more
   * and refused, saying it waited. A caller that calls again at once after a refusal thus makes one call per wait,
   * not one per round trip.
   */
  private wait(fn: FunctionRow, s: TeamState, waitMs: number, forRoom: boolean): Promise<() => void> {
    const team = fn.owner_id;
    const queue = this.waiting.get(team) ?? [];
    // The line is bounded: ten per call the quota lets run at once, and at least TEAM_WAITING (none for a quota of 0).
    const q = s.quotas;
    const runs = Math.min(q.concurrentCalls ?? Infinity, q.memoryMb != null ? Math.floor(q.memoryMb / Math.max(1, fn.memory_mb)) * Math.max(1, fn.concurrency) : Infinity);
    const inLine = forRoom && queue.length < (runs > 0 ? Math.max(runs * WAITING_PER_SLOT, TEAM_WAITING) : 0);
    // So are the calls waiting outside it, on this replica: past HELD_MAX a refusal is at once.
    if (!inLine && this.held >= HELD_MAX) return (async () => this.admit(fn, s))();
    if (!inLine) this.held++;
    return new Promise<() => void>((go, fail) => {
      const waiter: QuotaWaiter = {
        fn,
        go,
        timer: setTimeout(() => {
          const line = this.waiting.get(team);
          if (inLine) {
            const i = line?.indexOf(waiter) ?? -1;
            if (i >= 0) line!.splice(i, 1);
            if (line && !line.length) this.waiting.delete(team);
          } else this.held--;
          // Room may have come without a call ending (a warm container appeared): judged once more, then refused.
          try {
            go(this.admit(fn, this.teams.get(team) ?? s));
          } catch (err) {
            fail(err instanceof AppError ? new AppError(err.kind, err.code, `${err.detail}; waited ${waitMs} ms for room`, err.extra) : err);
          }
        }, waitMs),
      };
      if (inLine) {
        queue.push(waiter);
        this.waiting.set(team, queue);
      }
    });
  }

  /** A call of the team ended: the calls waiting first are admitted while there is room. */
  private wake(team: string): void {
    const queue = this.waiting.get(team);
    const s = this.teams.get(team);
    if (!queue || !s) return;
    while (queue.length) {
      let leave: () => void;
      try {
        leave = this.admit(queue[0]!.fn, s);
      } catch {
        break;
      }
      const waiter = queue.shift()!;
      clearTimeout(waiter.timer);
      waiter.go(leave);
    }
    if (!queue.length) this.waiting.delete(team);
  }

  private load(teamId: string): Promise<TeamState> {
    const prev = this.teams.get(teamId);
    if (prev?.loading) return prev.loading;
    const loading = (async () => {
      const quotas = await this.quotasOf(teamId);
      const needsCalls = quotas.callsPerDay != null || quotas.cpuSecondsPerDay != null;
      const summary = needsCalls ? await this.d.stats.summary({ ownerId: teamId }, '24h') : undefined;
      const functions = quotas.memoryMb != null ? await this.d.db.selectFrom('functions').select(['id', 'memory_mb', 'concurrency', 'active_version']).where('owner_id', '=', teamId).execute() : [];
      const st: TeamState = { at: this.now(), quotas, functions, callsDay: summary?.invocations ?? 0, cpuMsDay: summary ? summary.avgCpuMs * summary.invocations : 0 };
      if (this.teams.size > 10_000) this.teams.clear();
      this.teams.set(teamId, st);
      return st;
    })();
    if (prev) prev.loading = loading;
    else this.teams.set(teamId, { at: 0, loading, quotas: {}, functions: [], callsDay: 0, cpuMsDay: 0 });
    return loading.finally(() => {
      const s = this.teams.get(teamId);
      if (s) s.loading = undefined;
    });
  }

  private admit(fn: FunctionRow, s: TeamState): () => void {
    const q = s.quotas;
    const team = fn.owner_id;
    const inFlight = this.inFlight.get(team) ?? 0;
    if (q.concurrentCalls != null && inFlight >= q.concurrentCalls) throw quotaExceeded('concurrentCalls', q.concurrentCalls, inFlight, 429, 1);
    if (q.callsPerDay != null && s.callsDay >= q.callsPerDay) throw quotaExceeded('callsPerDay', q.callsPerDay, s.callsDay, 429, 3600);
    if (q.cpuSecondsPerDay != null && s.cpuMsDay / 1000 >= q.cpuSecondsPerDay) throw quotaExceeded('cpuSecondsPerDay', q.cpuSecondsPerDay, Math.round(s.cpuMsDay / 1000), 429, 3600);
    if (q.memoryMb != null) {
      const mine = this.fnInFlight.get(fn.id) ?? 0;
      const warm = fn.active_version === null ? 0 : this.d.warmOf(`${fn.id}@${fn.active_version}`);
      // A free warm container takes the call: no more memory. Otherwise it needs an instance of its own.
      if (mine >= warm * Math.max(1, fn.concurrency)) {
        const used = this.memoryInUse(s, fn);
        if (used + fn.memory_mb > q.memoryMb) throw quotaExceeded('memoryMb', q.memoryMb, used, 429, 2);
      }
    }
    this.inFlight.set(team, inFlight + 1);
    this.fnInFlight.set(fn.id, (this.fnInFlight.get(fn.id) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.inFlight.get(team) ?? 1) - 1;
      if (n > 0) this.inFlight.set(team, n);
      else this.inFlight.delete(team);
      const m = (this.fnInFlight.get(fn.id) ?? 1) - 1;
      if (m > 0) this.fnInFlight.set(fn.id, m);
      else this.fnInFlight.delete(fn.id);
      this.wake(team);
    };
  }

  /** MB of the team's instances: per function, its warm containers or what its calls in flight need, whichever is more. */
  private memoryInUse(s: TeamState, called?: FunctionRow): number {
    const fns = !called || s.functions.some((f) => f.id === called.id) ? s.functions : [...s.functions, called];
    let mb = 0;
    for (const f of fns) {
      const warm = f.active_version === null ? 0 : this.d.warmOf(`${f.id}@${f.active_version}`);
      const busy = Math.ceil((this.fnInFlight.get(f.id) ?? 0) / Math.max(1, f.concurrency));
      mb += Math.max(warm, busy) * f.memory_mb;
    }
    return mb;
  }

  /** Forgets a team's state (its quotas changed here). */
  forget(teamId: string): void {
    this.teams.delete(teamId);
  }

  /** The team's quotas and what it uses of each. */
  async usage(user: SignedIn, handle: string): Promise<api.TeamUsageView> {
    const m = await memberOf(this.d.db, user, handle, 'team:read');
    return { team: m.handle, quotas: await this.report(m.id) };
  }

  private async report(teamId: string): Promise<api.TeamUsageView['quotas']> {
    const quotas = await this.quotasOf(teamId);
    const db = this.d.db;
    const fns = await db.selectFrom('functions').select(['id', 'memory_mb', 'concurrency', 'active_version']).where('owner_id', '=', teamId).execute();
    const versions = fns.length ? await db.selectFrom('deployments').select(['function_id', (eb) => eb.fn.countAll<number | string>().as('n'), (eb) => eb.fn.sum<number | string>('size_bytes').as('bytes')]).where('function_id', 'in', fns.map((f) => f.id)).groupBy('function_id').execute() : [];
    const summary = await this.d.stats.summary({ ownerId: teamId }, '24h');
    const state: TeamState = { at: 0, quotas, functions: fns, callsDay: 0, cpuMsDay: 0 };
    const used: Record<QuotaName, number> = {
      functions: fns.length,
      versionsPerFunction: Math.max(0, ...versions.map((v) => Number(v.n))),
      artifactMb: Math.round(versions.reduce((a, v) => a + Number(v.bytes ?? 0), 0) / 2 ** 20),
      memoryMb: this.memoryInUse(state),
      concurrentCalls: this.inFlight.get(teamId) ?? 0,
      callsPerDay: summary.invocations,
      cpuSecondsPerDay: Math.round((summary.avgCpuMs * summary.invocations) / 1000),
    };
    return QUOTA_NAMES.map((name) => ({ name, limit: quotas[name] ?? null, used: used[name] }));
  }

  /** Sets a team's quotas (server administrators); a quota given null is lifted. */
  async set(user: SignedIn, handle: string, change: Quotas): Promise<api.TeamUsageView> {
    if (user.role !== 'admin' || user.scopes) throw Forbidden('admin_only', 'quotas are set by a server administrator, signed in');
    const t = await teamsRepo.byHandle(this.d.db, handle);
    if (!t) throw NotFound('team_not_found', `no team ${handle}`);
    const before = t.quotas ? (JSON.parse(t.quotas) as Quotas) : {};
    const after: Quotas = { ...before };
    for (const [k, v] of Object.entries(change) as [QuotaName, number | null | undefined][]) {
      if (v === undefined) continue;
      if (v === null) delete after[k];
      else after[k] = v;
    }
    const now = this.now();
    await this.d.db.transaction().execute(async (tx) => {
      await tx.updateTable('teams').set({ quotas: Object.keys(after).length ? JSON.stringify(after) : null }).where('id', '=', t.id).execute();
      await auditRepo.record(tx, { event: 'quota_changed', actorId: user.id, teamId: t.id, target: `team:${handle}`, clientIp: user.ip ?? null, before, after }, now);
    });
    this.forget(t.id);
    return { team: handle, quotas: await this.report(t.id) };
  }

  /** Throws 403 quota_exceeded when a kept quota would be passed by adding `more` (functions, versions, storage, a floor). */
  async checkKept(teamId: string, quota: 'functions' | 'versionsPerFunction' | 'artifactMb' | 'memoryMb', used: () => Promise<number>, more: number): Promise<void> {
    const limit = (await this.quotasOf(teamId))[quota];
    if (limit == null) return;
    const u = await used();
    if (u + more > limit) throw quotaExceeded(quota, limit, u, 403);
  }
}
