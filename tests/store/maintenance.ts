// Store cases for the background work: the purge, the leases that keep it to one replica, and the sealed values
// `rotate-key` re-seals (sealed.repo).
import * as assert from 'uvu/assert';
import { sql } from 'kysely';
import type { Logger } from '../../common/logger.js';
import { Purger } from '../../control-plane/src/maintenance/purge.js';
import { Leases } from '../../control-plane/src/maintenance/lease.js';
import { sealedRepo, type SealedValue } from '../../control-plane/src/maintenance/sealed.repo.js';
import { tokenStore } from '../../control-plane/src/auth/token-store.repo.js';
import { envRepo } from '../../control-plane/src/env/env.repo.js';
import { keysRepo } from '../../control-plane/src/keys/keys.repo.js';
import { nodesRepo } from '../../control-plane/src/fleet/nodes.repo.js';
import { functionsRepo } from '../../control-plane/src/functions/functions.repo.js';
import { executionsRepo } from '../../control-plane/src/executions/executions.repo.js';
import { asyncCallsRepo } from '../../control-plane/src/async-calls/async-calls.repo.js';
import { ExecutionWriter } from '../../control-plane/src/executions/execution-writer.js';
import { encodeRecord } from '../../control-plane/src/executions/records.js';
import { recordNumbers } from '../../control-plane/src/executions/record-numbers.js';
import { executionRecord, NOW, ownerWith, recordNames, uid, type StoreCases } from '../helpers/store.js';

const silent = { info() {}, warn() {} } as unknown as Logger;

export const maintenanceCases: StoreCases = (s) => {
  s('purge: records past their function’s retention (in batches), a deleted function’s records, and used signatures past their window go; newer ones stay', async ({ db }) => {
    await ownerWith(db, 'owner-p', uid('fn-p'), uid('fn-q'), uid('fn-gone'));
    await functionsRepo.update(db.kysely, uid('fn-q'), { execution_retention_ms: 100 });
    const rows = ['fn-p', 'fn-q', 'fn-gone'].flatMap((fn) => [executionRecord('old1', fn, NOW - 10_000), executionRecord('old2', fn, NOW - 9_000), executionRecord('mid', fn, NOW - 500), executionRecord('new', fn, NOW - 10)]);
    await executionsRepo.insert(db.kysely, rows);
    await functionsRepo.delete(db.kysely, uid('fn-gone'), NOW);
    await db.kysely.insertInto('used_signatures').values([{ signature_hash: 'a', expires_at: NOW - 1 }, { signature_hash: 'b', expires_at: NOW + 1000 }]).execute();
    // Async calls of fn-q: finished long ago (goes), finished just now, and still queued (stay).
    const call = (id: string, finished: number | null) => ({ id, function_id: uid('fn-q'), trigger: 'api' as const, state: finished === null ? ('queued' as const) : ('succeeded' as const), method: 'GET', path: '/', query: '', headers: '[]', body: Buffer.alloc(0), attempts: 1, due_at: NOW - 20_000, claimed_by: null, claimed_until: null, history: '[]', answer: null, answer_body: null, created_at: NOW - 20_000, finished_at: finished });
    for (const c of [call('q-old', NOW - 10_000), call('q-new', NOW - 10), call('q-queued', null)]) await asyncCallsRepo.insert(db.kysely, c);
    // Server default 1 s; fn-q keeps 100 ms; batches of one record.
    await new Purger(db.kysely, silent, 60_000, 1000, undefined, undefined, 1).runOnce(NOW);
    // Other cases share the tables: only this case's rows are looked at.
    const left = (fn: string) => recordNames(db, fn);
    assert.equal(await left('fn-p'), ['mid', 'new']);
    assert.equal(await left('fn-q'), ['new']);
    assert.equal((await db.kysely.selectFrom('async_calls').select('id').where('function_id', '=', uid('fn-q')).orderBy('id').execute()).map((r) => r.id), ['q-new', 'q-queued']);
    assert.equal(await left('fn-gone'), []);
    assert.equal(await db.kysely.selectFrom('record_purges').selectAll().where('function_id', '=', uid('fn-gone')).execute(), [], 'its mark is gone once its records are');
    assert.equal((await db.kysely.selectFrom('used_signatures').select('signature_hash').where('signature_hash', 'in', ['a', 'b']).execute()).map((r) => r.signature_hash), ['b']);
  });

  s('record days: PostgreSQL makes a partition per day and drops whole days; a row of a day with none makes its day as it is written; SQLite has none', async ({ db, dialect }) => {
    const DAY = 86_400_000;
    // A stretch of time no other case writes in, and before theirs: the days dropped below are this case's only.
    const d0 = NOW - 200 * DAY - ((NOW - 200 * DAY) % DAY);
    await ownerWith(db, 'owner-rd', uid('fn-rd'));
    await db.recordDays.ensure(d0 - 3 * DAY, d0 + DAY);
    const rows = [executionRecord('r-old', 'fn-rd', d0 - 3 * DAY + 5), executionRecord('r-mid', 'fn-rd', d0 - 2 * DAY + 5), executionRecord('r-now', 'fn-rd', d0 + 5)];
    await executionsRepo.insert(db.kysely, rows);
    // A call of a clock far off, through the calls' writer: its day is made, and the record kept.
    const far = executionRecord('r-far', 'fn-rd', NOW + 5000 * DAY);
    const warned: unknown[] = [];
    await new ExecutionWriter(db, { warn: (o: unknown) => warned.push(o) } as unknown as Logger, () => 1).write({
      record: encodeRecord(far, await recordNumbers.numberOf(db.kysely, 'function', far.functionId), 0),
      call: { functionId: far.functionId, version: 1, startedAt: far.startedAt, status: 'success', coldStart: false, queued: false, retry: false, durationMs: 1, cpuMs: 0, peakMemoryBytes: 0 },
    });
    assert.equal(warned, [], 'written, not refused');
    const left = () => recordNames(db, 'fn-rd');
    const dropped = await db.recordDays.dropBefore(d0 - 2 * DAY);
    if (dialect === 'postgres') {
      assert.is(dropped, 1, 'the day of r-old, whole');
      assert.equal(await left(), ['r-mid', 'r-now', 'r-far']);
      await db.recordDays.ensure(d0 - 3 * DAY, d0 + DAY); // again: no error for days that exist
      // A purge that stopped between detaching a day and dropping it: the next one drops it.
      const day = (t: string) => `${t}_d${new Date(d0 - 2 * DAY).toISOString().slice(0, 10).replace(/-/g, '')}`;
      await sql`ALTER TABLE executions DETACH PARTITION ${sql.table(day('executions'))}`.execute(db.kysely);
      assert.equal(await db.recordDays.dropBefore(d0 - DAY), 1, 'the detached day of r-mid');
      const gone = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_class WHERE relname IN (${day('executions')}, ${day('execution_logs')})`.execute(db.kysely);
      assert.is(gone.rows[0]!.n, 0);
    } else {
      assert.is(dropped, 0);
      assert.equal(await left(), ['r-old', 'r-mid', 'r-now', 'r-far']);
    }
  });

  s('leases: one holder at a time; it renews; another takes over once it expires or is released', async ({ db }) => {
    const a = new Leases(db.kysely, 'replica-a');
    const b = new Leases(db.kysely, 'replica-b');
    assert.is(await a.acquire('job', 1000, NOW), true);
    assert.is(await b.acquire('job', 1000, NOW + 10), false, 'held by a');
    assert.is(await a.acquire('job', 1000, NOW + 900), true, 'a renews');
    assert.is(await b.acquire('job', 1000, NOW + 1500), false, 'renewed until NOW + 1900');
    assert.is(await b.acquire('job', 1000, NOW + 1901), true, 'expired: b takes it');
    assert.is(await a.acquire('job', 1000, NOW + 1902), false);
    await b.release('job');
    assert.is(await a.acquire('job', 1000, NOW + 1903), true, 'released: a takes it at once');
    assert.is(await b.acquire('other', 1000, NOW + 1903), true, 'leases are per job');
  });

  s('sealed values: every sealed column is listed with its associated data; plain env values and tokens without a successor are not', async ({ db }) => {
    await ownerWith(db, 'owner-sv', 'fn-sv1', 'fn-sv2');
    // The same sealed text under two keys and two functions: a replacement must touch only the row it names.
    await envRepo.upsert(db.kysely, 'fn-sv1', [{ key: 'K1', value: 'same', secret: 1 }, { key: 'K2', value: 'same', secret: 1 }, { key: 'PLAIN', value: 'visible', secret: 0 }], NOW);
    await envRepo.upsert(db.kysely, 'fn-sv2', [{ key: 'K1', value: 'same', secret: 1 }], NOW);
    await keysRepo.insert(db.kysely, { id: 'key-sv', function_id: 'fn-sv1', name: 'k', prefix: 'p', secret_hash: 'hash-sv', secret_sealed: 'sealed-key', created_at: NOW, expires_at: null, last_used_at: null, revoked_at: null });
    await nodesRepo.upsert(db.kysely, { id: 'node-sv', name: 'n', advertise: '127.0.0.1:1', credentialSealed: 'sealed-cred', tls: false }, NOW);
    await tokenStore.insertFamily(db.kysely, { id: 'fam-sv', userId: 'owner-sv', now: NOW, expiresAt: NOW + 86_400_000 });
    for (const id of ['rt-sv-spent', 'rt-sv-live']) {
      await tokenStore.insertRefresh(db.kysely, { id, tokenHash: `hash-${id}`, userId: 'owner-sv', familyId: 'fam-sv', parentId: null, createdAt: NOW, expiresAt: NOW + 86_400_000 }, { jti: `a-${id}`, expiresAt: NOW + 100 });
    }
    await tokenStore.recordSuccessor(db.kysely, 'hash-rt-sv-spent', 'sealed-pair', null);

    const mine = (await sealedRepo.all(db.kysely)).filter((v) => JSON.stringify(v.where).includes('-sv'));
    const key = (v: SealedValue) => `${v.table} ${JSON.stringify(v.where)}`;
    assert.equal(mine.sort((a, b) => key(a).localeCompare(key(b))), [
      { table: 'api_keys', where: { id: 'key-sv' }, aad: 'key:key-sv', sealed: 'sealed-key' },
      { table: 'function_env', where: { function_id: 'fn-sv1', key: 'K1' }, aad: 'env:fn-sv1:K1', sealed: 'same' },
      { table: 'function_env', where: { function_id: 'fn-sv1', key: 'K2' }, aad: 'env:fn-sv1:K2', sealed: 'same' },
      { table: 'function_env', where: { function_id: 'fn-sv2', key: 'K1' }, aad: 'env:fn-sv2:K1', sealed: 'same' },
      { table: 'nodes', where: { id: 'node-sv' }, aad: 'node:node-sv', sealed: 'sealed-cred' },
      { table: 'refresh_tokens', where: { id: 'rt-sv-spent' }, aad: 'refresh-grace:rt-sv-spent', sealed: 'sealed-pair' },
    ]);
  });

  s('sealed values: a replacement changes only the row named, and only while it still holds the value read', async ({ db }) => {
    const all = (await sealedRepo.all(db.kysely)).filter((v) => JSON.stringify(v.where).includes('-sv'));
    for (const v of all) assert.ok(await sealedRepo.replace(db.kysely, v, `${v.sealed}+v2`), `${v.table} ${JSON.stringify(v.where)} replaced`);
    for (const v of all) assert.not.ok(await sealedRepo.replace(db.kysely, v, 'stale'), `${v.table}: a value changed since it was read is left alone`);
    const env = await envRepo.list(db.kysely, 'fn-sv1');
    assert.equal(env.map((r) => [r.key, r.value]), [['K1', 'same+v2'], ['K2', 'same+v2'], ['PLAIN', 'visible']]);
    assert.is((await envRepo.list(db.kysely, 'fn-sv2'))[0]?.value, 'same+v2');
    assert.is((await keysRepo.byId(db.kysely, 'fn-sv1', 'key-sv'))?.secret_sealed, 'sealed-key+v2');
    assert.is((await nodesRepo.get(db.kysely, 'node-sv'))?.credential_sealed, 'sealed-cred+v2');
    assert.is((await tokenStore.findRefreshByHash(db.kysely, 'hash-rt-sv-spent'))?.successor_sealed, 'sealed-pair+v2');
    assert.is((await tokenStore.findRefreshByHash(db.kysely, 'hash-rt-sv-live'))?.successor_sealed, null);

    const k1 = all.find((v) => v.table === 'function_env' && v.where.function_id === 'fn-sv1' && v.where.key === 'K1')!;
    assert.ok(await sealedRepo.replace(db.kysely, { ...k1, sealed: 'same+v2' }, 'only-k1'));
    assert.equal((await envRepo.list(db.kysely, 'fn-sv1')).map((r) => r.value), ['only-k1', 'same+v2', 'visible'], 'K2 holds the same text and is not touched');
    assert.is((await envRepo.list(db.kysely, 'fn-sv2'))[0]?.value, 'same+v2', 'nor is another function\'s K1');
  });
};
