// Store cases for the record of calls: executions.repo's filtered, cursor-paged list, recent logs and owner
// scoping, and the hot-path insert (ExecutionWriter through db.bulkInsert).
import * as assert from 'uvu/assert';
import type { Insertable } from 'kysely';
import type { Logger } from '../../common/logger.js';
import type { Db } from '../../control-plane/src/db/connect.js';
import type { ExecutionsTable } from '../../control-plane/src/db/schema.js';
import { executionsRepo, type ExecutionQuery } from '../../control-plane/src/executions/executions.repo.js';
import { ExecutionWriter } from '../../control-plane/src/executions/execution-writer.js';
import { executionRow, NOW, ownerWith, rejects, type StoreCases } from '../helpers/store.js';

// Calls of fe, oldest first; three start in the same millisecond.
const CALLS: [id: string, at: number, status: 'success' | 'error' | 'timeout'][] = [
  ['e1', NOW + 100, 'success'],
  ['e2', NOW + 200, 'error'],
  ['e3a', NOW + 300, 'success'],
  ['e3b', NOW + 300, 'error'],
  ['e3c', NOW + 300, 'success'],
  ['e4', NOW + 400, 'timeout'],
];

/** The database as ExecutionWriter sees it, with the size of every batch it inserts recorded. */
function countingBatches(db: Db): { db: Db; batches: number[] } {
  const batches: number[] = [];
  const bulkInsert: Db['bulkInsert'] = (table, columns) => {
    const insert = db.bulkInsert(table, columns);
    return async (rows) => {
      batches.push(rows.length);
      await insert(rows);
    };
  };
  return { db: { ...db, bulkInsert }, batches };
}

/** A row per column value worth round-tripping: nulls and not, bigints past 2^32, JSON text. */
function writtenRow(id: string, functionId: string, i: number): Insertable<ExecutionsTable> {
  return executionRow(id, functionId, NOW + 1000 + i, {
    version: 3 + i,
    node_id: i % 2 ? null : `node-${i}`,
    trigger: i % 2 ? 'url' : 'api',
    status: i % 2 ? 'oom' : 'success',
    http_status: i % 2 ? 502 : 200,
    duration_ms: 40 + i,
    cold_start: i % 2,
    timings: JSON.stringify({ queued: i, run: 40 }),
    cpu_ms: 7 + i,
    peak_memory_bytes: 5_000_000_000 + i,
    method: 'POST',
    path: `/p/${i}?q=ü`,
    request_bytes: 123 + i,
    error: i % 2 ? 'out of memory' : null,
    logs: JSON.stringify([{ atMs: 1, stream: 'stdout', level: 'info', message: `line ${i}` }]),
    logs_truncated: i % 2,
  });
}

export const executionsCases: StoreCases = (s) => {
  s('executions: list filters by status and since, pages strictly before a cursor, ties broken by id', async ({ db }) => {
    await ownerWith(db, 'eo', 'fe', 'fe-2', 'fe-w');
    await ownerWith(db, 'eo-x', 'fx');
    await db.kysely.insertInto('executions').values(CALLS.map(([id, at, status]) => executionRow(id, 'fe', at, { status, logs: `["${id}"]` }))).execute();
    await db.kysely.insertInto('executions').values([executionRow('f2-1', 'fe-2', NOW + 300), executionRow('x1', 'fx', NOW + 300)]).execute();
    const cases: [query: Omit<ExecutionQuery, 'functionId'> & { functionId?: string }, expected: string[]][] = [
      [{ limit: 10 }, ['e4', 'e3c', 'e3b', 'e3a', 'e2', 'e1']],
      [{ limit: 2 }, ['e4', 'e3c']],
      [{ limit: 10, status: 'error' }, ['e3b', 'e2']],
      [{ limit: 10, since: NOW + 300 }, ['e4', 'e3c', 'e3b', 'e3a']],
      [{ limit: 10, before: { startedAt: NOW + 300, id: 'e3c' } }, ['e3b', 'e3a', 'e2', 'e1']],
      [{ limit: 10, before: { startedAt: NOW + 300, id: 'e3a' } }, ['e2', 'e1']],
      [{ limit: 10, status: 'success', before: { startedAt: NOW + 400, id: 'e4' } }, ['e3c', 'e3a', 'e1']],
      [{ limit: 10, since: NOW + 200, before: { startedAt: NOW + 300, id: 'e3b' } }, ['e3a', 'e2']],
      [{ limit: 10, functionId: 'fe-none' }, []],
    ];
    for (const [q, expected] of cases) {
      assert.equal((await executionsRepo.list(db.kysely, { functionId: 'fe', ...q })).map((e) => e.id), expected, JSON.stringify(q));
    }
    const seen: string[] = [];
    let before: ExecutionQuery['before'];
    // Bounded: a cursor that does not advance must fail, not hang.
    for (let page, i = 0; i < 5 && (page = await executionsRepo.list(db.kysely, { functionId: 'fe', limit: 2, before })).length; i++) {
      seen.push(...page.map((e) => e.id));
      before = { startedAt: page[page.length - 1]!.started_at, id: page[page.length - 1]!.id };
    }
    assert.equal(seen, ['e4', 'e3c', 'e3b', 'e3a', 'e2', 'e1'], 'paging by the cursor sees each call once');
  });

  s('executions: recentLogs gives the newest calls’ logs since a time', async ({ db }) => {
    assert.equal(await executionsRepo.recentLogs(db.kysely, 'fe', NOW, 1), [{ id: 'e4', logs: '["e4"]' }]);
    const since = await executionsRepo.recentLogs(db.kysely, 'fe', NOW + 200, 10);
    assert.equal([since[0]?.id, since[since.length - 1]?.id], ['e4', 'e2'], 'newest first');
    assert.equal(since.map((r) => r.id).sort(), ['e2', 'e3a', 'e3b', 'e3c', 'e4']);
    assert.ok(since.every((r) => r.logs === `["${r.id}"]`));
    // The three calls of one millisecond come in either order: only which calls a limit keeps is fixed.
    assert.equal((await executionsRepo.recentLogs(db.kysely, 'fe', NOW, 4)).map((r) => r.id).slice(1).sort(), ['e3a', 'e3b', 'e3c']);
    assert.equal(await executionsRepo.recentLogs(db.kysely, 'fe', NOW + 401, 10), []);
  });

  s('executions: forOwner finds a call of the owner’s functions only', async ({ db }) => {
    assert.equal(await executionsRepo.forOwner(db.kysely, 'eo', 'e1'), executionRow('e1', 'fe', NOW + 100, { logs: '["e1"]' }), 'every column round-trips');
    const cases: [owner: string, id: string, expected: string | undefined][] = [
      ['eo', 'f2-1', 'f2-1'],
      ['eo-x', 'x1', 'x1'],
      ['eo-x', 'e1', undefined],
      ['eo', 'x1', undefined],
      ['eo', 'nope', undefined],
    ];
    for (const [owner, id, expected] of cases) assert.is((await executionsRepo.forOwner(db.kysely, owner, id))?.id, expected, `${owner} ${id}`);
  });

  s('executions: the writer inserts the rows of calls in flight in one batch; every column round-trips', async ({ db }) => {
    const counting = countingBatches(db);
    const writer = new ExecutionWriter(counting.db, {} as Logger, () => 3);
    const rows = [0, 1, 2].map((i) => writtenRow(`w${i}`, 'fe-w', i));
    await Promise.all(rows.map((r) => writer.write(r)));
    assert.equal(counting.batches, [3]);
    assert.equal(await db.kysely.selectFrom('executions').selectAll().where('function_id', '=', 'fe-w').orderBy('id').execute(), rows);
  });

  s('executions: a batch is one transaction; the writer then writes the good rows one by one', async ({ db }) => {
    const rows = [writtenRow('b1', 'fe-w', 4), writtenRow('b2', 'fe-gone', 5), writtenRow('b3', 'fe-w', 6)];
    const ids = rows.map((r) => r.id);
    const columns = Object.keys(rows[0]!) as (keyof ExecutionsTable & string)[];
    await rejects(db.bulkInsert('executions', columns)(rows), 'a row of a function that is gone fails the batch');
    assert.equal(await db.kysely.selectFrom('executions').select('id').where('id', 'in', ids).execute(), [], 'and none of it is written');

    const counting = countingBatches(db);
    const warned: unknown[] = [];
    const writer = new ExecutionWriter(counting.db, { warn: (o: { function: string }) => warned.push(o.function) } as unknown as Logger, () => 3);
    await Promise.all(rows.map((r) => writer.write(r)));
    assert.equal(counting.batches, [3, 1, 1, 1]);
    assert.equal((await db.kysely.selectFrom('executions').select('id').where('id', 'in', ids).orderBy('id').execute()).map((r) => r.id), ['b1', 'b3']);
    assert.equal(warned, ['fe-gone']);
  });
};
