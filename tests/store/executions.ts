// Store cases for the record of calls: executions.repo's filtered, cursor-paged list, the logs of calls, owner
// scoping, the purge in batches, and the hot-path write (ExecutionWriter through db.batchWriter: records, log lines
// and rollups in one transaction).
import * as assert from 'uvu/assert';
import type { Logger } from '../../common/logger.js';
import type { Db } from '../../control-plane/src/db/connect.js';
import { executionsRepo, type ExecutionQuery } from '../../control-plane/src/executions/executions.repo.js';
import { ExecutionWriter, type CallWrite } from '../../control-plane/src/executions/execution-writer.js';
import { encodeRecord, STATUS_CODES, uuidText, type ExecutionRecord } from '../../control-plane/src/executions/records.js';
import { recordNumbers } from '../../control-plane/src/executions/record-numbers.js';
import { EXECUTION_STATUSES, toWire, type Outcome } from '../../proto/outcomes.js';
import { CallRecorder } from '../../control-plane/src/executions/call-recorder.js';
import type { FunctionRow } from '../../control-plane/src/db/schema.js';
import type { InvokeReply__Output } from '../../proto/generated/containerpub/agent/v1/InvokeReply.js';
import { randomUUID } from 'node:crypto';
import { MINUTE, RECENT } from '../../control-plane/src/stats/rollups.js';
import { executionId, executionRecord, fnRow, nameOf, NOW, ownerWith, recordNames, uid, type StoreCases } from '../helpers/store.js';

// Calls of fe, oldest first; three start in the same millisecond.
const CALLS: [name: string, at: number, status: 'success' | 'error' | 'timeout'][] = [
  ['e1', NOW + 100, 'success'],
  ['e2', NOW + 200, 'error'],
  ['e3a', NOW + 300, 'success'],
  ['e3b', NOW + 300, 'error'],
  ['e3c', NOW + 300, 'success'],
  ['e4', NOW + 400, 'timeout'],
];
const FE = uid('fe');

/** The database as ExecutionWriter sees it, with the number of records of every batch it writes. */
function countingBatches(db: Db): { db: Db; batches: number[] } {
  const batches: number[] = [];
  const batchWriter: Db['batchWriter'] = (spec) => {
    const write = db.batchWriter(spec);
    return async (batch) => {
      batches.push(batch.inserts[0]!.length);
      await write(batch);
    };
  };
  return { db: { ...db, batchWriter }, batches };
}

/** A write of call `name` of function `fn`: every field worth round-tripping set; logs when `i` is even. */
async function callWrite(db: Db, name: string, fn: string, i: number): Promise<{ write: CallWrite; record: ExecutionRecord }> {
  const at = NOW + 1000 + i;
  const record = executionRecord(name, fn, at, {
    version: 3 + i,
    nodeId: i % 2 ? null : `node-${i}`,
    trigger: (['api', 'url', 'schedule'] as const)[i % 3]!,
    callId: i === 2 ? '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' : null,
    status: i % 2 ? 'oom' : 'success',
    httpStatus: i % 2 ? 502 : 200,
    durationMs: 40 + i,
    coldStart: i % 2 === 1,
    cpuMs: 7 + i,
    peakMemoryKib: 5_000_000 + i,
    method: i % 4 === 2 ? 'PROPFIND' : 'POST',
    path: `/p/${i}?q=ü`,
    requestBytes: 123 + i,
    error: i % 2 ? 'out of memory' : i % 4 === 2 ? '' : null,
    queuedMs: i,
    runMs: 40,
    placementMs: 2,
    agentUs: 1234,
    cold: i % 2 ? { createMs: 1, startMs: 2, readyMs: 3, prewarmed: true } : null,
    logs: i % 2 ? 0 : 1,
  });
  const no = await recordNumbers.numberOf(db.kysely, 'function', record.functionId);
  const node = record.nodeId ? await recordNumbers.numberOf(db.kysely, 'node', record.nodeId) : 0;
  return {
    record,
    write: {
      record: encodeRecord(record, no, node),
      logs: i % 2 ? undefined : { fn: no, id: record.key, lines: JSON.stringify([{ atMs: 1, stream: 'stdout', level: 'info', message: `line ${i}` }]) },
      call: { functionId: uid(fn), version: 3 + i, startedAt: at, status: i % 2 ? 'oom' : 'success', coldStart: Boolean(i % 2), queued: i === 2, retry: false, durationMs: 40 + i, cpuMs: 7 + i, peakMemoryBytes: (5_000_000 + i) * 1024 },
    },
  };
}

const names = (rows: { key: Uint8Array }[]) => rows.map((r) => nameOf(r.key));

export const executionsCases: StoreCases = (s) => {
  s('executions: status codes are the places in EXECUTION_STATUSES, which only grows at its end', () => {
    assert.equal(STATUS_CODES, { success: 0, error: 1, timeout: 2, oom: 3, crashed: 4, rejected: 5, agent_lost: 6 });
    assert.is(EXECUTION_STATUSES.length, 7);
  });

  s('record numbers: one per name, never two names with one number, even when given at once (PostgreSQL: replicas collide and retry)', async ({ db }) => {
    // Fresh caches, as separate replicas have: each asks the database.
    const replicas = Array.from({ length: 4 }, () => db.kysely.withoutPlugins());
    // Each replica names nodes of its own (so a number taken by another is seen only as a collision) and one they share.
    const asked = replicas.map((_, r) => [...Array.from({ length: 8 }, (_, i) => `rn-${r}-${i}`), 'rn-shared']);
    const names = [...new Set(asked.flat())];
    const got = await Promise.all(replicas.flatMap((r, i) => asked[i]!.map(async (name) => [name, await recordNumbers.numberOf(r, 'node', name)] as const)));
    const byName = new Map<string, Set<number>>();
    for (const [name, no] of got) byName.set(name, (byName.get(name) ?? new Set()).add(no));
    assert.ok([...byName.values()].every((s) => s.size === 1), 'every replica got the same number for a name');
    const numbers = [...byName.values()].map((s) => [...s][0]!);
    assert.is(new Set(numbers).size, names.length, 'no number given twice');
    assert.equal(await recordNumbers.names(db.kysely, 'node', numbers), new Map(names.map((n, i) => [numbers[i]!, n])));
    assert.is(await recordNumbers.find(db.kysely, 'node', 'rn-none'), undefined, 'finding gives none');
  });

  s('executions: list filters by status and since, pages strictly before a cursor, ties broken by id', async ({ db }) => {
    await ownerWith(db, 'eo', FE, uid('fe-2'), uid('fe-w'));
    await ownerWith(db, 'eo-x', uid('fx'));
    const records = CALLS.map(([name, at, status]) => executionRecord(name, 'fe', at, { status, logs: 1 }));
    await executionsRepo.insert(db.kysely, records, records.map((r) => ({ functionId: FE, key: r.key, lines: `["${nameOf(r.key)}"]` })));
    await executionsRepo.insert(db.kysely, [executionRecord('f2-1', 'fe-2', NOW + 300), executionRecord('x1', 'fx', NOW + 300)]);
    const at = (name: string) => CALLS.find((c) => c[0] === name)![1];
    const before = (name: string) => executionId(name, at(name));
    const cases: [query: Omit<ExecutionQuery, 'functionId'> & { functionId?: string }, expected: string[]][] = [
      [{ limit: 10 }, ['e4', 'e3c', 'e3b', 'e3a', 'e2', 'e1']],
      [{ limit: 2 }, ['e4', 'e3c']],
      [{ limit: 10, status: 'error' }, ['e3b', 'e2']],
      [{ limit: 10, since: NOW + 300 }, ['e4', 'e3c', 'e3b', 'e3a']],
      [{ limit: 10, before: before('e3c') }, ['e3b', 'e3a', 'e2', 'e1']],
      [{ limit: 10, before: before('e3a') }, ['e2', 'e1']],
      [{ limit: 10, status: 'success', before: before('e4') }, ['e3c', 'e3a', 'e1']],
      [{ limit: 10, since: NOW + 200, before: before('e3b') }, ['e3a', 'e2']],
      [{ limit: 10, functionId: uid('fe-none') }, []],
      [{ limit: 10, functionId: 'not-a-uuid' }, []],
      [{ limit: 10, before: 'not-a-uuid' }, []],
    ];
    for (const [q, expected] of cases) {
      assert.equal(names(await executionsRepo.list(db.kysely, { functionId: FE, ...q })), expected, JSON.stringify(q));
    }
    const seen: string[] = [];
    let cursor: ExecutionQuery['before'];
    // Bounded: a cursor that does not advance must fail, not hang.
    for (let page, i = 0; i < 5 && (page = await executionsRepo.list(db.kysely, { functionId: FE, limit: 2, before: cursor })).length; i++) {
      seen.push(...names(page));
      cursor = uuidText(page[page.length - 1]!.key);
    }
    assert.equal(seen, ['e4', 'e3c', 'e3b', 'e3a', 'e2', 'e1'], 'paging by the cursor sees each call once');
  });

  s('executions: recentLogs gives the newest calls’ logs since a time; lines gives one call’s', async ({ db }) => {
    const recent = (since: number, limit: number) => executionsRepo.recentLogs(db.kysely, FE, since, limit);
    assert.equal((await recent(NOW, 1)).map((r) => [nameOf(r.id), r.logs]), [['e4', '["e4"]']]);
    assert.equal((await recent(NOW + 200, 10)).map((r) => nameOf(r.id)), ['e4', 'e3c', 'e3b', 'e3a', 'e2'], 'newest first, ties by id');
    assert.equal(await recent(NOW + 401, 10), []);
    assert.equal(await executionsRepo.recentLogs(db.kysely, 'not-a-uuid', NOW, 10), []);
    const e2 = executionRecord('e2', 'fe', NOW + 200);
    assert.is(await executionsRepo.lines(db.kysely, e2), '["e2"]');
    assert.is(await executionsRepo.lines(db.kysely, executionRecord('f2-1', 'fe-2', NOW + 300)), null, 'a call that logged nothing');
  });

  s('executions: forMember finds a call of the functions of the person’s teams only, by its id', async ({ db }) => {
    const e1 = await executionsRepo.forMember(db.kysely, 'eo', executionId('e1', NOW + 100));
    assert.equal(e1, executionRecord('e1', 'fe', NOW + 100, { logs: 1 }), 'every field round-trips');
    const cases: [owner: string, name: string, at: number, expected: string | undefined][] = [
      ['eo', 'f2-1', NOW + 300, 'f2-1'],
      ['eo-x', 'x1', NOW + 300, 'x1'],
      ['eo-x', 'e1', NOW + 100, undefined],
      ['eo', 'x1', NOW + 300, undefined],
      ['eo', 'nope', NOW, undefined],
      // The id's time is the call's start: one that does not match finds nothing.
      ['eo', 'e1', NOW + 200, undefined],
    ];
    for (const [owner, name, at, expected] of cases) {
      const row = await executionsRepo.forMember(db.kysely, owner, executionId(name, at));
      assert.is(row && nameOf(row.key), expected, `${owner} ${name}`);
    }
    assert.is(await executionsRepo.forMember(db.kysely, 'eo', 'x'), undefined, 'not a UUID');
  });

  s('executions: the writer writes the calls in flight in one batch, with their logs and rollups; every column round-trips', async ({ db }) => {
    const counting = countingBatches(db);
    const writer = new ExecutionWriter(counting.db, {} as Logger, () => 3);
    const writes = await Promise.all([0, 1, 2].map((i) => callWrite(db, `w${i}`, 'fe-w', i)));
    await Promise.all(writes.map((w) => writer.write(w.write)));
    assert.equal(counting.batches, [3]);
    assert.equal((await executionsRepo.list(db.kysely, { functionId: uid('fe-w'), limit: 10 })).reverse(), writes.map((w) => w.record));
    assert.equal(await Promise.all(writes.map((w) => executionsRepo.lines(db.kysely, w.record))), [writes[0]!.write.logs!.lines, null, writes[2]!.write.logs!.lines]);
    const rollups = await db.kysely.selectFrom('execution_rollups').select(['size_ms', 'version', 'calls', 'oom', 'success']).where('function_id', '=', uid('fe-w')).where('size_ms', '!=', RECENT).orderBy('size_ms').orderBy('version').execute();
    assert.equal(rollups.map((r) => [Number(r.size_ms), r.version, Number(r.calls), Number(r.oom), Number(r.success)]), [
      [60_000, 3, 1, 0, 1],
      [60_000, 4, 1, 1, 0],
      [60_000, 5, 1, 0, 1],
    ]);
  });

  s('executions: a call sampled away is counted in the rollups with no record', async ({ db }) => {
    const writer = new ExecutionWriter(db, {} as Logger, () => 1);
    const w = (await callWrite(db, 'ws', 'fe-w', 10)).write;
    await writer.write({ call: { ...w.call, version: 99 } });
    assert.is((await db.kysely.selectFrom('executions').select('id').where('id', '=', w.record!.id).execute()).length, 0);
    const r = await db.kysely.selectFrom('execution_rollups').select(['calls']).where('function_id', '=', uid('fe-w')).where('version', '=', 99).where('size_ms', '=', MINUTE).execute();
    assert.equal(r.map((x) => Number(x.calls)), [1]);
  });

  s('executions: a batch is one transaction; the writer then writes the good calls one by one', async ({ db }) => {
    // fe-gone has no function row: its rollup breaks the batch, and none of the batch is written.
    const writes = (await Promise.all([callWrite(db, 'b1', 'fe-w', 4), callWrite(db, 'b2', 'fe-gone', 6), callWrite(db, 'b3', 'fe-w', 8)])).map((w) => w.write);
    const ids = writes.map((w) => w.record!.id);
    const counting = countingBatches(db);
    const warned: unknown[] = [];
    const writer = new ExecutionWriter(counting.db, { warn: (o: { function: string }) => warned.push(o.function) } as unknown as Logger, () => 3);
    await Promise.all(writes.map((w) => writer.write(w)));
    assert.equal(counting.batches, [3, 1, 1, 1]);
    assert.equal((await db.kysely.selectFrom('executions').select('id').where('id', 'in', ids).orderBy('id').execute()).map((r) => nameOf(r.id)), ['b1', 'b3']);
    assert.is((await db.kysely.selectFrom('execution_logs').select('id').where('id', 'in', ids).execute()).length, 2);
    assert.equal(warned, [uid('fe-gone')]);
  });

  s('executions: a batch asked for while a transaction is open (its code awaiting other I/O) is not written in it: that transaction rolling back keeps the batch', async ({ db }) => {
    const writer = new ExecutionWriter(db, {} as Logger, () => 0);
    const { write } = await callWrite(db, 'open-tx', 'fe-w', 12);
    let written: Promise<void> | undefined;
    await db.kysely
      .transaction()
      .execute(async (tx) => {
        await tx.updateTable('functions').set({ updated_at: NOW }).where('id', '=', uid('fe-w')).execute();
        written = writer.write(write); // a call ends meanwhile: its row is written at once (no other call in flight)
        await new Promise((r) => setTimeout(r, 20));
        throw new Error('rolled back');
      })
      .catch(() => {});
    await written;
    assert.is((await db.kysely.selectFrom('executions').select('id').where('id', '=', write.record!.id).execute()).length, 1, 'the record is kept');
  });

  s('executions: purgeBatch deletes about a batch of the oldest records before a time, with their logs', async ({ db }) => {
    await ownerWith(db, 'eo-p', uid('fp'));
    const rows = Array.from({ length: 25 }, (_, i) => executionRecord(`p${String(i).padStart(2, '0')}`, 'fp', NOW + Math.floor(i / 2), { logs: 1 }));
    await executionsRepo.insert(db.kysely, rows, rows.map((r) => ({ functionId: r.functionId, key: r.key, lines: '[]' })));
    const left = () => recordNames(db, 'fp');
    // Two calls per millisecond: a batch is its number of the oldest, whatever their milliseconds.
    assert.is(await executionsRepo.purgeBatch(db.kysely, uid('fp'), NOW + 10, 5), 5);
    assert.equal((await left()).slice(0, 2), ['p05', 'p06']);
    assert.is(await executionsRepo.purgeBatch(db.kysely, uid('fp'), NOW + 10, 100), 15, 'then everything before the time');
    assert.is(await executionsRepo.purgeBatch(db.kysely, uid('fp'), NOW + 10, 100), 0);
    assert.equal(await left(), ['p20', 'p21', 'p22', 'p23', 'p24']);
    assert.equal(await recordNames(db, 'fp', 'execution_logs'), ['p20', 'p21', 'p22', 'p23', 'p24'], 'their logs went with them');
  });

  s('recorder: past the function’s rate, successes are counted but not recorded (sampled); every error and cold start is recorded', async ({ db }) => {
    await ownerWith(db, 'eo-s', uid('fsamp'));
    const fn = { ...fnRow(uid('fsamp'), 'eo-s'), execution_retention_ms: null, execution_sample_rate: 2, next_version: 1 } as FunctionRow;
    const recorder = new CallRecorder(db, { warn() {} } as unknown as Logger);
    const reply = (outcome: Outcome, cold = false) =>
      ({ epoch: '1', outcome: toWire(outcome), status: outcome === 'ok' ? 200 : 500, headers: [], body: Buffer.from('x'), logs: [], logsTruncated: false, timings: { queuedMs: 0, createMs: 1, startMs: 2, readyMs: 3, runMs: 1, coldStart: cold, prewarmed: false }, resources: { cpuMs: '1', peakMemoryBytes: '1024' }, error: outcome === 'ok' ? '' : 'boom', invocationId: '', problem: null }) as unknown as InvokeReply__Output;
    // All in one second of the clock: successes 1 and 2 are recorded, 3 and 4 not; the error and the cold start are.
    const t = Math.floor(Date.now() / 1000) * 1000 - 10_000; // a whole second, in the past (durations are measured to now)
    const calls: [Outcome, boolean][] = [['ok', false], ['ok', false], ['ok', false], ['error', false], ['ok', true], ['ok', false]];
    const out = [];
    for (const [i, [outcome, cold]] of calls.entries()) {
      const executionId = executionId_(t + i);
      const call = recorder.begin();
      out.push(await recorder.record({ executionId, fn, version: 1, trigger: 'url', callId: null, attempt: 0, input: { method: 'GET', path: '/', body: Buffer.alloc(0) }, started: t + i, nodeId: null, reply: reply(outcome, cold), placementMs: 0, agentMs: 0 }));
      call.end();
    }
    assert.equal(out.map((o) => o.sampled), [false, false, true, false, false, true]);
    const kept = (await executionsRepo.list(db.kysely, { functionId: uid('fsamp'), limit: 10 })).reverse();
    assert.equal(kept.map((r) => [r.status, r.coldStart]), [['success', false], ['success', false], ['error', false], ['success', true]]);
    const minute = await db.kysely.selectFrom('execution_rollups').select(['calls', 'success', 'error', 'cold_starts']).where('function_id', '=', uid('fsamp')).where('size_ms', '=', 60_000).execute();
    assert.equal(minute.map((r) => [Number(r.calls), Number(r.success), Number(r.error), Number(r.cold_starts)]), [[6, 5, 1, 1]], 'the rollups count every call');
    // The next second starts a new allowance.
    const next = await recorder.record({ executionId: executionId_(t + 1000), fn, version: 1, trigger: 'url', callId: null, attempt: 0, input: { method: 'GET', path: '/', body: Buffer.alloc(0) }, started: t + 1000, nodeId: null, reply: reply('ok'), placementMs: 0, agentMs: 0 });
    assert.is(next.sampled, false);
  });
};

/** A UUIDv7-shaped id for a call started at `at`. */
function executionId_(at: number): string {
  const b = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
  b.writeUIntBE(at, 0, 6);
  return uuidText(b);
}
