// Canaries (canaries/canaries.repo.ts) on both dialects: one under way per function as the service keeps it, moves
// by compare-and-set, the history newest first, gone with the function; and the numbers a canary is judged by —
// each version's calls, function failures and p95 from the minute rollups since it started.
import * as assert from 'uvu/assert';
import { canariesRepo } from '../../control-plane/src/canaries/canaries.repo.js';
import { functionsRepo } from '../../control-plane/src/functions/functions.repo.js';
import { deploymentsRepo } from '../../control-plane/src/deployments/deployments.repo.js';
import { statsRepo } from '../../control-plane/src/stats/stats.repo.js';
import { Histogram } from '../../control-plane/src/stats/histogram.js';
import { MINUTE } from '../../control-plane/src/stats/rollups.js';
import type { CanaryRow } from '../../control-plane/src/db/schema.js';
import { NOW, ownerWith, type StoreCases } from '../helpers/store.js';

const row = (id: string, function_id: string, version: number, over: Partial<CanaryRow> = {}): CanaryRow => ({
  id,
  function_id,
  version,
  baseline: version - 1,
  percent: 10,
  window_ms: 600_000,
  state: 'building',
  reason: null,
  seen: null,
  created_by: null,
  created_at: NOW + version,
  started_at: null,
  ends_at: null,
  finished_at: null,
  ...over,
});

/** A minute rollup of `calls` calls of a version, `errors` of them failed, each taking `ms`. */
function rollup(function_id: string, version: number, start: number, calls: number, errors: number, ms: number) {
  const latency = new Histogram();
  latency.add(ms, calls);
  return { function_id, size_ms: MINUTE, start, version, calls, success: calls - errors, error: errors, timeout: 0, oom: 0, crashed: 0, rejected: 0, agent_lost: 0, cold_starts: 0, queued: 0, retries: 0, duration_sum_ms: ms * calls, cpu_sum_ms: 0, memory_max_bytes: 0, latency: latency.encode() };
}

export const canariesCases: StoreCases = (s) => {
  s('canaries: open, building by version, moved by compare-and-set, listed newest first, gone with their function', async ({ db }) => {
    await ownerWith(db, 'ca-owner', 'ca-f', 'ca-g');
    await canariesRepo.insert(db.kysely, row('c1', 'ca-f', 2));
    await canariesRepo.insert(db.kysely, row('c9', 'ca-g', 5));
    assert.is((await canariesRepo.open(db.kysely, 'ca-f'))?.id, 'c1');
    assert.ok(await canariesRepo.insert(db.kysely, row('c1b', 'ca-f', 3, { state: 'running' })).then(() => false, () => true), 'one canary under way per function');
    assert.is((await canariesRepo.building(db.kysely, 'ca-f', 2))?.id, 'c1');
    assert.is(await canariesRepo.building(db.kysely, 'ca-f', 3), undefined);
    assert.is(await canariesRepo.move(db.kysely, 'c1', 'building', { state: 'running', started_at: NOW, ends_at: NOW + 600_000 }), true);
    assert.is(await canariesRepo.move(db.kysely, 'c1', 'building', { state: 'running' }), false, 'moved once');
    assert.is(await canariesRepo.move(db.kysely, 'c1', 'running', { state: 'rolled_back', reason: 'worse', finished_at: NOW + 5 }), true);
    assert.is(await canariesRepo.open(db.kysely, 'ca-f'), undefined, 'none under way once it ended');
    await canariesRepo.insert(db.kysely, row('c2', 'ca-f', 3, { state: 'running' }));
    assert.equal((await canariesRepo.allOpen(db.kysely)).map((c) => c.id).sort(), ['c2', 'c9']);
    const list = await canariesRepo.list(db.kysely, 'ca-f', 10);
    assert.equal(list.map((c) => [c.id, c.state]), [['c2', 'running'], ['c1', 'rolled_back']]);
    assert.equal([list[1]!.reason, Number(list[1]!.finished_at), Number(list[1]!.window_ms)], ['worse', NOW + 5, 600_000]);
    await canariesRepo.setSeen(db.kysely, 'c2', '{"x":1}');
    assert.is((await canariesRepo.get(db.kysely, 'c2'))?.seen, '{"x":1}');
    // A promotion activates its version only over the one it was compared with.
    await functionsRepo.update(db.kysely, 'ca-g', { active_version: 4, updated_at: NOW });
    assert.is(await deploymentsRepo.activateIf(db.kysely, 'ca-g', 5, 3, NOW + 1), false, 'v4 is active, not v3');
    assert.is((await functionsRepo.byId(db.kysely, 'ca-g'))?.active_version, 4);
    assert.is(await deploymentsRepo.activateIf(db.kysely, 'ca-g', 5, 4, NOW + 1), true);
    assert.is((await functionsRepo.byId(db.kysely, 'ca-g'))?.active_version, 5);
    await functionsRepo.delete(db.kysely, 'ca-f', NOW);
    assert.equal(await canariesRepo.list(db.kysely, 'ca-f', 10), [], 'deleted with the function');
    assert.is((await canariesRepo.list(db.kysely, 'ca-g', 10)).length, 1, 'another function’s untouched');
  });

  s('canaries: the numbers of both versions since the start, from the minute of the start on, p95 within 1 %', async ({ db }) => {
    await ownerWith(db, 'cn-owner', 'cn-f');
    const start = NOW + 10 * MINUTE + 30_000;
    const m = start - (start % MINUTE);
    await statsRepo.mergeRows(db.kysely, [
      rollup('cn-f', 1, m - MINUTE, 500, 50, 10), // before the canary's minute: not counted
      rollup('cn-f', 1, m, 300, 3, 20),
      rollup('cn-f', 1, m + MINUTE, 200, 2, 20),
      rollup('cn-f', 2, m, 40, 8, 100),
      rollup('cn-f', 2, m + 2 * MINUTE, 10, 2, 100),
      rollup('cn-f', 3, m, 99, 99, 1), // another version: not counted
    ]);
    const n = await canariesRepo.numbers(db.kysely, 'cn-f', [2, 1], start);
    assert.equal([n.get(1)!.calls, n.get(1)!.errors, n.get(2)!.calls, n.get(2)!.errors], [500, 5, 50, 10]);
    assert.ok(Math.abs(n.get(1)!.p95Ms! - 20) <= 0.2 && Math.abs(n.get(2)!.p95Ms! - 100) <= 1, `p95 ${n.get(1)!.p95Ms} and ${n.get(2)!.p95Ms}`);
    const none = await canariesRepo.numbers(db.kysely, 'cn-f', [7], start);
    assert.equal(none.get(7), { version: 7, calls: 0, errors: 0, p95Ms: null });
  });
};
