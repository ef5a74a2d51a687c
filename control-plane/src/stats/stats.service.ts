// The numbers of calls: per function or across a user's functions, for a period, and in zero-filled UTC hourly or
// daily buckets — all from the rollups (stats/rollups.ts): a few dozen rows per function whatever its traffic.
// Latency percentiles come from the rollups' merged histograms, within 1 % of the exact value.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { SignedIn } from '../teams/access.js';
import { Invalid } from '../errors.js';
import type { FunctionLookup } from '../functions/functions.service.js';
import { statsRepo, type Scope } from './stats.repo.js';
import { cover, DAY, HOUR, MINUTE, Totals } from './rollups.js';
import type { StatsSummary as Stats, StatsBucket as Bucket } from '../../../common/api-types.js';

export type { Scope } from './stats.repo.js';

export const PERIODS = { '1h': HOUR, '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY } as const;
export type Period = keyof typeof PERIODS;

const round1 = (n: number) => Math.round(n * 10) / 10;
// Two decimals: a percentile keeps the histogram's accuracy (1 %) even for a call of a millisecond or two.
const round2 = (n: number) => Math.round(n * 100) / 100;
const latency = (t: Totals) => ({ p50: round2(t.latency.quantile(0.5)), p95: round2(t.latency.quantile(0.95)), p99: round2(t.latency.quantile(0.99)) });

export class StatsService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly functions: FunctionLookup,
  ) {}

  /** One function of the caller's teams (by id or name), or all of the request's team's when `ref` is undefined. */
  async scope(user: SignedIn, ref: string | undefined): Promise<Scope> {
    return ref === undefined ? { ownerId: (await this.functions.teamOf(user, user.team, 'functions:read')).id } : { functionId: (await this.functions.find(user, ref, 'functions:read')).id };
  }

  /**
   * The period ending now. It starts on a whole minute (1h, 24h) or a whole hour (7d, 30d: minute rollups are kept
   * two days), so it may hold up to that much more than the period's length.
   */
  async summary(scope: Scope, period: Period, now = Date.now()): Promise<Stats> {
    const finest = PERIODS[period] > DAY ? HOUR : MINUTE;
    const t = new Totals();
    const folded = await statsRepo.folded(this.db);
    for (const r of await statsRepo.rollups(this.db, scope, cover(now - PERIODS[period], now + 1, folded, finest))) t.add(r);
    const errors = t.calls - t.success;
    return {
      period,
      invocations: t.calls,
      successes: t.success,
      errors,
      errorRate: t.calls ? Math.round((errors / t.calls) * 10_000) / 10_000 : 0,
      latencyMs: { ...latency(t), avg: t.calls ? round1(t.durationSumMs / t.calls) : 0 },
      coldStarts: t.coldStarts,
      asyncAttempts: t.queued,
      retries: t.retries,
      avgCpuMs: t.calls ? round1(t.cpuSumMs / t.calls) : 0,
      maxMemoryBytes: t.memoryMaxBytes,
    };
  }

  /** `count` buckets of an hour or a day ending with the current one, oldest first, empty ones included. */
  async buckets(scope: Scope, size: 'hour' | 'day', count: number, now = Date.now()): Promise<Bucket[]> {
    const ms = size === 'hour' ? HOUR : DAY;
    const max = size === 'hour' ? 168 : 90;
    if (!Number.isInteger(count) || count < 1 || count > max) throw Invalid('invalid_range', `${size === 'hour' ? 'hours' : 'days'} must be 1..${max}`, { field: size === 'hour' ? 'hours' : 'days' });
    const first = Math.floor(now / ms) - count + 1;
    const slots = Array.from({ length: count }, () => new Totals());
    // Folded hours from hour or day rows (the day that holds the watermark: its folded hours so far), the rest from minutes.
    const folded = Math.max(first * ms, Math.min(await statsRepo.folded(this.db), (first + count) * ms));
    const pieces = [{ size: ms, from: first * ms, to: folded }, { size: MINUTE, from: folded, to: (first + count) * ms }].filter((p) => p.to > p.from);
    for (const r of await statsRepo.rollups(this.db, scope, pieces)) slots[Math.floor(Number(r.start) / ms) - first]!.add(r);
    return slots.map((t, i) => ({
      start: new Date((first + i) * ms).toISOString(),
      invocations: t.calls,
      errors: t.calls - t.success,
      coldStarts: t.coldStarts,
      asyncAttempts: t.queued,
      retries: t.retries,
      avgDurationMs: t.calls ? round1(t.durationSumMs / t.calls) : 0,
      latencyMs: latency(t),
      avgCpuMs: t.calls ? round1(t.cpuSumMs / t.calls) : 0,
      maxMemoryBytes: t.memoryMaxBytes,
    }));
  }
}
