// Store cases for stats.repo: counts and sums over a period and per time slot (integer division of started_at on
// both dialects), and the durations behind the percentiles, for one function or all of an owner's.
import * as assert from 'uvu/assert';
import { statsRepo, type Aggregate, type Scope } from '../../control-plane/src/stats/stats.repo.js';
import { executionRow, NOW, ownerWith, type StoreCases } from '../helpers/store.js';

const H = 3_600_000;
const DAY = 86_400_000;
const S = NOW / H; // NOW is a whole hour: its slot starts there

// [id, function, started_at, status, duration_ms, cpu_ms, peak_memory_bytes, cold_start]
const CALLS: [string, string, number, 'success' | 'error' | 'timeout', number, number, number, number][] = [
  ['sa-0', 'fs-a', NOW - 1, 'success', 999, 999, 9999, 1], // before the period
  ['sa-1', 'fs-a', NOW, 'success', 10, 4, 100, 1], // first millisecond of slot S
  ['sa-2', 'fs-a', NOW + H - 1, 'error', 30, 6, 300, 0], // last millisecond of slot S
  ['sa-3', 'fs-a', NOW + H, 'success', 20, 2, 50, 1], // first of slot S + 1
  ['sb-1', 'fs-b', NOW + H + 1, 'timeout', 40, 8, 5_000_000_000, 0],
  ['sx-1', 'fs-x', NOW + 5, 'success', 1000, 100, 1, 1], // another owner's
];

/**
 * Aggregates as numbers. PostgreSQL returns avg() (and sum() of a bigint) as numeric, which node-postgres gives as
 * a string; StatsService reads every aggregate through Number(), and so does this.
 */
function numbers<T extends object>(row: T): T {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? null : Number(v)])) as T;
}

const EMPTY: Aggregate = { n: 0, ok: null, cold: null, avg: null, cpu: null, mem: null };

export const statsCases: StoreCases = (s) => {
  s('stats: summary counts and sums the period’s calls of a function or of an owner', async ({ db }) => {
    await ownerWith(db, 'so', 'fs-a', 'fs-b', 'fs-empty');
    await ownerWith(db, 'so-x', 'fs-x');
    await db.kysely
      .insertInto('executions')
      .values(CALLS.map(([id, fn, at, status, duration_ms, cpu_ms, peak_memory_bytes, cold_start]) => executionRow(id, fn, at, { status, duration_ms, cpu_ms, peak_memory_bytes, cold_start })))
      .execute();
    const cases: [Scope, Aggregate][] = [
      [{ functionId: 'fs-a' }, { n: 3, ok: 2, cold: 2, avg: 20, cpu: 4, mem: 300 }],
      [{ ownerId: 'so' }, { n: 4, ok: 2, cold: 2, avg: 25, cpu: 5, mem: 5_000_000_000 }],
      [{ functionId: 'fs-empty' }, EMPTY],
      [{ ownerId: 'so-nobody' }, EMPTY],
    ];
    for (const [scope, expected] of cases) assert.equal(numbers(await statsRepo.summary(db.kysely, scope, NOW)), expected, JSON.stringify(scope));
  });

  s('stats: slots group by started_at / ms, an integer on both dialects', async ({ db }) => {
    const cases: [Scope, number, (Aggregate & { slot: number })[]][] = [
      [{ functionId: 'fs-a' }, H, [
        { slot: S, n: 2, errors: 1, cold: 1, avg: 20, cpu: 5, mem: 300 },
        { slot: S + 1, n: 1, errors: 0, cold: 1, avg: 20, cpu: 2, mem: 50 },
      ]],
      [{ ownerId: 'so' }, H, [
        { slot: S, n: 2, errors: 1, cold: 1, avg: 20, cpu: 5, mem: 300 },
        { slot: S + 1, n: 2, errors: 1, cold: 1, avg: 30, cpu: 5, mem: 5_000_000_000 },
      ]],
      // NOW is not a whole day: the slot number is truncated (20833.33… → 20833), not rounded or fractional.
      [{ ownerId: 'so' }, DAY, [{ slot: 20_833, n: 4, errors: 2, cold: 2, avg: 25, cpu: 5, mem: 5_000_000_000 }]],
      // A divisor that splits none of these evenly, with slot numbers past 2^32: NOW + H - 1 and NOW + H share one.
      [{ functionId: 'fs-a' }, 7, [
        { slot: 257_142_857_142, n: 1, errors: 0, cold: 1, avg: 10, cpu: 4, mem: 100 },
        { slot: 257_143_371_428, n: 2, errors: 1, cold: 1, avg: 25, cpu: 4, mem: 300 },
      ]],
      [{ functionId: 'fs-empty' }, H, []],
    ];
    for (const [scope, ms, expected] of cases) {
      const rows = (await statsRepo.slots(db.kysely, scope, NOW, ms)).map(numbers).sort((a, b) => a.slot - b.slot);
      assert.equal(rows, expected, `${JSON.stringify(scope)} per ${ms} ms`);
    }
  });

  s('stats: durations are the newest calls’ start and duration, within the scope and period', async ({ db }) => {
    const cases: [Scope, from: number, limit: number, expected: [number, number][]][] = [
      [{ functionId: 'fs-a' }, NOW, 2, [[NOW + H, 20], [NOW + H - 1, 30]]],
      [{ functionId: 'fs-a' }, NOW - 1, 10, [[NOW + H, 20], [NOW + H - 1, 30], [NOW, 10], [NOW - 1, 999]]],
      [{ ownerId: 'so' }, NOW, 10, [[NOW + H + 1, 40], [NOW + H, 20], [NOW + H - 1, 30], [NOW, 10]]],
      [{ ownerId: 'so-x' }, NOW, 10, [[NOW + 5, 1000]]],
      [{ functionId: 'fs-empty' }, NOW, 10, []],
    ];
    for (const [scope, from, limit, expected] of cases) {
      const rows = await statsRepo.durations(db.kysely, scope, from, limit);
      assert.equal(rows.map((r) => [r.started_at, r.duration_ms]), expected, `${JSON.stringify(scope)} from ${from - NOW} limit ${limit}`);
    }
  });
};
