// The numbers of calls: per function or across a user's functions, for a period, and in zero-filled UTC
// hourly or daily buckets. Counts and sums in SQL; latency percentiles from the period's durations (the
// newest 100,000 at most).
import type { Kysely } from 'kysely';
import type { Database, User } from '../db/schema.js';
import { Invalid } from '../errors.js';
import type { FunctionLookup } from '../functions/functions.service.js';
import { statsRepo, type Scope } from './stats.repo.js';
import type { StatsSummary as Stats, StatsBucket as Bucket } from '../../../common/api-types.js';

export type { Scope } from './stats.repo.js';

export const PERIODS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;
export type Period = keyof typeof PERIODS;
const PERCENTILE_ROWS = 100_000;

export type { StatsSummary as Stats, StatsBucket as Bucket } from '../../../common/api-types.js';

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export class StatsService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly functions: FunctionLookup,
  ) {}

  /** One of the user's functions (by id or name), or all of them when `ref` is undefined. */
  async scope(user: User, ref: string | undefined): Promise<Scope> {
    return ref === undefined ? { ownerId: user.id } : { functionId: (await this.functions.find(user, ref)).id };
  }

  async summary(scope: Scope, period: Period, now = Date.now()): Promise<Stats> {
    const from = now - PERIODS[period];
    const agg = await statsRepo.summary(this.db, scope, from);
    const durations = (await statsRepo.durations(this.db, scope, from, PERCENTILE_ROWS)).map((r) => r.duration_ms).sort((a, b) => a - b);
    const n = Number(agg.n ?? 0);
    const ok = Number(agg.ok ?? 0);
    return {
      period,
      invocations: n,
      successes: ok,
      errors: n - ok,
      errorRate: n ? Math.round(((n - ok) / n) * 10_000) / 10_000 : 0,
      latencyMs: { p50: pct(durations, 50), p95: pct(durations, 95), p99: pct(durations, 99), avg: Math.round(Number(agg.avg ?? 0) * 10) / 10 },
      coldStarts: Number(agg.cold ?? 0),
      avgCpuMs: Math.round(Number(agg.cpu ?? 0) * 10) / 10,
      maxMemoryBytes: Number(agg.mem ?? 0),
    };
  }

  /** `count` buckets of `size` ms ending with the current one, oldest first, empty ones included. */
  async buckets(scope: Scope, size: 'hour' | 'day', count: number, now = Date.now()): Promise<Bucket[]> {
    const ms = size === 'hour' ? 3_600_000 : 86_400_000;
    const max = size === 'hour' ? 168 : 90;
    if (!Number.isInteger(count) || count < 1 || count > max) throw Invalid('invalid_range', `${size === 'hour' ? 'hours' : 'days'} must be 1..${max}`, { field: size === 'hour' ? 'hours' : 'days' });
    const current = Math.floor(now / ms);
    const first = current - count + 1;
    const rows = await statsRepo.slots(this.db, scope, first * ms, ms);
    // Latency percentiles per bucket, from the durations (the newest PERCENTILE_ROWS of the range, as in summary()).
    const durations = await statsRepo.durations(this.db, scope, first * ms, PERCENTILE_ROWS);
    const perSlot = new Map<number, number[]>();
    for (const d of durations) {
      const k = Math.floor(Number(d.started_at) / ms);
      (perSlot.get(k) ?? perSlot.set(k, []).get(k)!).push(d.duration_ms);
    }
    const bySlot = new Map(rows.map((r) => [Math.floor(Number(r.slot)), r]));
    return Array.from({ length: count }, (_, i) => {
      const r = bySlot.get(first + i);
      const sorted = (perSlot.get(first + i) ?? []).sort((a, b) => a - b);
      return {
        start: new Date((first + i) * ms).toISOString(),
        invocations: Number(r?.n ?? 0),
        errors: Number(r?.errors ?? 0),
        coldStarts: Number(r?.cold ?? 0),
        avgDurationMs: Math.round(Number(r?.avg ?? 0) * 10) / 10,
        latencyMs: { p50: pct(sorted, 50), p95: pct(sorted, 95), p99: pct(sorted, 99) },
        avgCpuMs: Math.round(Number(r?.cpu ?? 0) * 10) / 10,
        maxMemoryBytes: Number(r?.mem ?? 0),
      };
    });
  }
}
