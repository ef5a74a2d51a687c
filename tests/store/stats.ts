// Store cases for the statistics: calls written through the execution writer (records and minute rollups in one
// transaction), then every answer of StatsService — summary for each period, hourly and daily buckets, for a
// function and for an owner — compared with the exact answer computed from the calls themselves, before the
// minutes are folded into hours and days and after (by two folders at once: an hour is never folded twice).
// Counts and sums are equal; percentiles are within the histogram's 1 %. And the rollups' purge.
import * as assert from 'uvu/assert';
import type { Logger } from '../../common/logger.js';
import type { ExecutionStatus } from '../../control-plane/src/db/schema.js';
import { ExecutionWriter } from '../../control-plane/src/executions/execution-writer.js';
import type { FunctionLookup } from '../../control-plane/src/functions/functions.service.js';
import { RELATIVE_ACCURACY } from '../../control-plane/src/stats/histogram.js';
import { DAY, HOUR, MINUTE, type RolledCall } from '../../control-plane/src/stats/rollups.js';
import { statsRepo } from '../../control-plane/src/stats/stats.repo.js';
import { RollupFolder } from '../../control-plane/src/stats/rollup-folder.js';
import { PERIODS, StatsService, type Period, type Scope } from '../../control-plane/src/stats/stats.service.js';
import { NOW, ownerWith, uid, type StoreCases } from '../helpers/store.js';

/** The statistics' clock: 13:27:45.5 on a day 40 days after the calls began. */
const AT = NOW + 13 * HOUR + 27 * MINUTE + 45_500;
const FA = uid('fs-a');
const FB = uid('fs-b');
const FX = uid('fs-x');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** 3,000 calls over the 40 days before AT, denser in the last day and hour; some at AT itself and at the edges of periods. */
function calls(): RolledCall[] {
  const r = rng(42);
  const statuses: ExecutionStatus[] = ['success', 'success', 'success', 'success', 'error', 'timeout', 'oom', 'crashed', 'rejected', 'agent_lost'];
  const out: RolledCall[] = [];
  const spans = [40 * DAY, 2 * DAY, 2 * HOUR];
  for (let i = 0; i < 3000; i++) {
    const back = Math.floor(r() * spans[i % 3]!);
    out.push({
      functionId: [FA, FA, FB, FX][i % 4]!,
      version: 1 + (i % 3 === 0 ? 1 : 0),
      startedAt: AT - back,
      status: statuses[Math.floor(r() * statuses.length)]!,
      coldStart: r() < 0.1,
      queued: i % 5 === 0,
      retry: i % 15 === 0,
      durationMs: r() < 0.05 ? 200 + Math.floor(r() * 3000) : Math.floor(r() * 30),
      cpuMs: Math.floor(r() * 20),
      peakMemoryBytes: Math.floor(r() * 100) * 1_000_000,
    });
  }
  // The edges: the first and last millisecond of the windows, and the clock itself.
  for (const t of [AT, AT - HOUR, AT - DAY, AT - 7 * DAY, AT - 30 * DAY]) out.push({ ...out[0]!, startedAt: t, functionId: FA, durationMs: 7 });
  return out;
}

function exact(list: RolledCall[]) {
  const d = list.map((c) => c.durationMs).sort((a, b) => a - b);
  const pct = (q: number) => (d.length ? d[Math.max(1, Math.ceil(q * d.length)) - 1]! : 0);
  const ok = list.filter((c) => c.status === 'success').length;
  const sum = (f: (c: RolledCall) => number) => list.reduce((a, c) => a + f(c), 0);
  const round1 = (n: number) => Math.round(n * 10) / 10;
  return {
    calls: list.length,
    ok,
    cold: list.filter((c) => c.coldStart).length,
    queued: list.filter((c) => c.queued).length,
    retries: list.filter((c) => c.retry).length,
    avg: list.length ? round1(sum((c) => c.durationMs) / list.length) : 0,
    cpu: list.length ? round1(sum((c) => c.cpuMs) / list.length) : 0,
    mem: list.reduce((a, c) => Math.max(a, c.peakMemoryBytes), 0),
    p: { p50: pct(0.5), p95: pct(0.95), p99: pct(0.99) },
  };
}

function near(got: { p50: number; p95: number; p99: number }, want: { p50: number; p95: number; p99: number }, what: string): void {
  for (const k of ['p50', 'p95', 'p99'] as const) {
    assert.ok(Math.abs(got[k] - want[k]) <= RELATIVE_ACCURACY * want[k] + 0.005, `${what} ${k}: ${got[k]} vs exact ${want[k]}`);
  }
}

export const statsCases: StoreCases = (s) => {
  const all = calls();
  const owned: Record<string, string[]> = { so: [FA, FB], 'so-x': [FX] };
  const inScope = (scope: Scope) => all.filter((c) => ('functionId' in scope ? c.functionId === scope.functionId : (owned[scope.ownerId] ?? []).includes(c.functionId)));
  const service = (db: Parameters<Parameters<typeof s>[1]>[0]['db']) => new StatsService(db.kysely, {} as FunctionLookup);

  s('stats: calls written through the writer (one batch per 100 calls)', async ({ db }) => {
    await ownerWith(db, 'so', FA, FB, uid('fs-empty'));
    await ownerWith(db, 'so-x', FX);
    const writer = new ExecutionWriter(db, {} as Logger, () => 100);
    for (let i = 0; i < all.length; i += 100) await Promise.all(all.slice(i, i + 100).map((call) => writer.write({ call })));
    const rows = await db.kysely.selectFrom('execution_rollups').select((eb) => eb.fn.countAll<number>().as('n')).where('function_id', 'in', [FA, FB, FX]).executeTakeFirstOrThrow();
    assert.ok(Number(rows.n) < 3 * all.length, `${rows.n} rollup rows`);
  });

  const summaries = async (db: Parameters<Parameters<typeof s>[1]>[0]['db'], when: string) => {
    const stats = service(db);
    for (const scope of [{ functionId: FA }, { functionId: FB }, { ownerId: 'so' }, { ownerId: 'so-x' }, { functionId: uid('fs-empty') }, { ownerId: 'so-nobody' }] as Scope[]) {
      for (const period of Object.keys(PERIODS) as Period[]) {
        // The window starts on a whole minute (1h, 24h) or hour (7d, 30d), and ends now.
        const align = PERIODS[period] > DAY ? HOUR : MINUTE;
        const from = Math.floor((AT - PERIODS[period]) / align) * align;
        const want = exact(inScope(scope).filter((c) => c.startedAt >= from && c.startedAt <= AT));
        const got = await stats.summary(scope, period, AT);
        const what = `${when}: ${JSON.stringify(scope)} ${period}`;
        assert.equal(
          [got.invocations, got.successes, got.errors, got.coldStarts, got.asyncAttempts, got.retries, got.latencyMs.avg, got.avgCpuMs, got.maxMemoryBytes],
          [want.calls, want.ok, want.calls - want.ok, want.cold, want.queued, want.retries, want.avg, want.cpu, want.mem],
          what,
        );
        near(got.latencyMs, want.p, what);
      }
    }
  };

  const buckets = async (db: Parameters<Parameters<typeof s>[1]>[0]['db'], when: string) => {
    const stats = service(db);
    for (const scope of [{ functionId: FA }, { ownerId: 'so' }] as Scope[]) {
      for (const [size, count] of [['hour', 30], ['day', 35]] as const) {
        const ms = size === 'hour' ? HOUR : DAY;
        const got = await stats.buckets(scope, size, count, AT);
        assert.is(got.length, count);
        const first = Math.floor(AT / ms) - count + 1;
        got.forEach((b, i) => {
          const want = exact(inScope(scope).filter((c) => Math.floor(c.startedAt / ms) === first + i));
          const what = `${when}: ${JSON.stringify(scope)} ${size} ${b.start}`;
          assert.is(b.start, new Date((first + i) * ms).toISOString());
          assert.equal([b.invocations, b.errors, b.coldStarts, b.asyncAttempts, b.retries, b.avgDurationMs, b.avgCpuMs, b.maxMemoryBytes], [want.calls, want.calls - want.ok, want.cold, want.queued, want.retries, want.avg, want.cpu, want.mem], what);
          near(b.latencyMs, want.p, what);
        });
      }
    }
  };

  s('stats: before any folding (minute rows only), every summary and bucket equals the exact one from the calls', async ({ db }) => {
    // The migration set the folding's watermark to the hour it ran, on the real clock; these calls are on the suite's
    // (NOW, ahead of it), and the real clock catches up with their first hours. The watermark goes back to the hour
    // before the first of them — as on a server that ran since before them — so that none of them reads as folded.
    const start = AT - 40 * DAY - ((AT - 40 * DAY) % HOUR);
    assert.ok(await statsRepo.advanceFolded(db.kysely, await statsRepo.folded(db.kysely), start), 'the watermark set');
    await summaries(db, 'minutes only');
    await buckets(db, 'minutes only');
  });

  s('stats: folded into hours and days by two folders at once (each hour once), every summary and bucket still equals the exact one', async ({ db }) => {
    // Up to AT's day: its first hours are folded, the rest (and the last hours) read from minutes.
    const until = AT - (AT % HOUR) - 4 * HOUR;
    const log = { warn: (o: unknown) => assert.unreachable(JSON.stringify(o)) } as unknown as Logger;
    await Promise.all([new RollupFolder(db.kysely, log).foldUntil(until), new RollupFolder(db.kysely, log).foldUntil(until)]);
    assert.is(await statsRepo.folded(db.kysely), until);
    const hours = await db.kysely.selectFrom('execution_rollups').select((eb) => eb.fn.countAll<number>().as('n')).where('function_id', '=', FA).where('size_ms', '=', HOUR).executeTakeFirstOrThrow();
    assert.ok(Number(hours.n) > 100, `${hours.n} hour rows of fs-a`);
    await summaries(db, 'folded');
    await buckets(db, 'folded');
    assert.is(await new RollupFolder(db.kysely, log).foldUntil(until), until, 'folding again does nothing');
    await summaries(db, 'folded twice');
  });

  s('stats: the rollups’ purge removes one function’s rows of one size before a time', async ({ db }) => {
    // Purging minutes that are folded leaves the statistics as they were.
    const count = async (fn: string, size: number) =>
      Number((await db.kysely.selectFrom('execution_rollups').select((eb) => eb.fn.countAll<number>().as('n')).where('function_id', '=', fn).where('size_ms', '=', size).executeTakeFirstOrThrow()).n);
    const minutes = await count(FB, MINUTE);
    const hours = await count(FB, HOUR);
    const removed = await statsRepo.purge(db.kysely, FB, MINUTE, AT - 2 * DAY);
    assert.ok(removed > 0 && removed < minutes, `${removed} of ${minutes}`);
    assert.is(await count(FB, MINUTE), minutes - removed);
    assert.is(await count(FB, HOUR), hours, 'other sizes stay');
    await summaries(db, 'minutes past two days purged');
  });
};
