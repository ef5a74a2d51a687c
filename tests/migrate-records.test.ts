// Migrations 0007 (records and rollups) and 0008 (records as (fn, id, status, detail)) on a database holding
// records of the first shape, on both dialects: every record is converted (ids as bytes, status codes, timings, logs
// apart, then the detail message; ids that are not UUIDv7 of the start re-keyed, still found and shown by their old
// id), and the statistics read from the rollups 0007 computes say what the old records said.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import type { Db, Dialect } from '../control-plane/src/db/connect.js';
import { migrateTo } from '../control-plane/src/db/migrate.js';
import { ExecutionsService } from '../control-plane/src/executions/executions.service.js';
import { StatsService } from '../control-plane/src/stats/stats.service.js';
import type { FunctionLookup } from '../control-plane/src/functions/functions.service.js';
import type { FunctionRow, User } from '../control-plane/src/db/schema.js';
import { emptyDatabase } from './helpers/postgres.js';
import { loud } from './helpers/hooks.js';
import { fnRow, NOW, user } from './helpers/store.js';

const FN = randomUUID();
const AT = NOW + 30 * 60_000;

/** Old-shape records: 40 calls a minute apart, every fifth an error, every tenth cold with two log lines. */
const OLD = Array.from({ length: 40 }, (_, i) => ({
  id: randomUUID(),
  function_id: FN,
  version: 1 + (i % 2),
  node_id: i % 3 ? 'node-abcdefgh' : null,
  trigger: 'url',
  status: i % 5 ? 'success' : 'error',
  http_status: i % 5 ? 200 : 500,
  started_at: AT - i * 60_000,
  duration_ms: i,
  cold_start: i % 10 ? 0 : 1,
  timings: JSON.stringify({ queuedMs: 1, createMs: i % 10 ? 0 : 50, startMs: i % 10 ? 0 : 20, readyMs: i % 10 ? 0 : 10, runMs: i, prewarmed: false, placementMs: 2, agentMs: 1.5 }),
  cpu_ms: i % 7,
  peak_memory_bytes: 1024 * (100 + i),
  method: 'GET',
  path: `/p${i}`,
  request_bytes: i,
  error: i % 5 ? null : 'boom',
  logs: i % 10 ? '[]' : JSON.stringify([{ atMs: 1, stream: 'stdout', level: 'info', message: `a${i}` }, { atMs: 2, stream: 'stderr', level: 'error', message: `b${i}` }]),
  logs_truncated: 0,
}));

for (const dialect of ['sqlite', 'postgres'] as Dialect[]) {
  const s = suite<{ db: Db; cleanup: () => Promise<void> }>(`migration 0007 [${dialect}]`);
  s.before(loud(async (ctx) => {
    Object.assign(ctx, await emptyDatabase(dialect));
  }));
  s.after(loud(async (ctx) => {
    await ctx.db.close();
    await ctx.cleanup();
  }));

  s('old records are converted and counted in rollups', async ({ db }) => {
    await migrateTo(db.kysely, '0006-refresh-grace');
    const k = db.kysely as never as import('kysely').Kysely<any>;
    await k.insertInto('users').values(user('mig-owner')).execute();
    const { execution_retention_ms: _a, execution_sample_rate: _b, async_concurrency: _c, retry: _d, destinations: _e, destination_secret: _f, queue_timeout_ms: _g, min_instances: _h, response_limit_mb: _i, request_limit_mb: _j, ...fn } = fnRow(FN, 'mig-owner', 'old');
    await k.insertInto('functions').values(fn).execute();
    await k.insertInto('executions').values(OLD).execute();
    assert.equal(await migrateTo(db.kysely, undefined), ['0007-records', '0008-record-rows', '0009-async-calls', '0010-record-days', '0011-idempotency', '0012-schedules', '0013-destinations', '0014-rollup-async', '0015-async-queue-indexes', '0016-aliases', '0017-call-queue', '0018-warm-floor', '0019-canaries', '0020-alias-floors', '0021-teams', '0022-access-tokens', '0023-rate-limits', '0024-alerts', '0025-response-limit', '0026-runtimes', '0027-alert-held', '0028-rollup-index-twin']);

    const owner = { id: 'mig-owner' } as User;
    const lookup: FunctionLookup = { find: async () => ({ id: FN }) as FunctionRow & { role: 'owner'; teamHandle: string }, teamOf: async () => ({ id: 'mig-owner', handle: 'h' }) };
    const list = await new ExecutionsService(db.kysely, lookup).list(owner, 'old', { limit: 100 });
    assert.is(list.executions.length, OLD.length);
    const byId = new Map(list.executions.map((e) => [e.id, e]));
    for (const o of OLD) {
      const e = byId.get(o.id)!;
      assert.ok(e, o.id);
      const t = JSON.parse(o.timings);
      assert.equal(
        [e.functionId, e.version, e.nodeId, e.status, e.httpStatus, Date.parse(e.startedAt), e.durationMs, e.coldStart, e.cpuMs, e.peakMemoryBytes, e.request, e.error, e.timings],
        [FN, o.version, o.node_id, o.status, o.http_status, o.started_at, o.duration_ms, o.cold_start === 1, o.cpu_ms, o.peak_memory_bytes, { method: 'GET', path: o.path, bytes: o.request_bytes }, o.error, { ...t, agentMs: 1.5 }],
      );
    }
    const cold = OLD.find((o) => o.cold_start)!;
    const one = await new ExecutionsService(db.kysely, lookup).get(owner, cold.id);
    assert.equal('execution' in one && one.execution.logs, JSON.parse(cold.logs));

    const stats = await new StatsService(db.kysely, lookup).summary({ functionId: FN }, '24h', AT);
    assert.equal([stats.invocations, stats.errors, stats.coldStarts, stats.maxMemoryBytes], [40, 8, 4, 1024 * 139]);
    const hourly = await new StatsService(db.kysely, lookup).buckets({ functionId: FN }, 'hour', 2, AT);
    assert.equal(hourly.map((b) => b.invocations), [9, 31]);
  });

  s.run();
}
