// Store cases for keys.repo: a function's API keys (found by id or secret hash, scoped to the function when asked)
// and the used signatures that make each signed call count once.
import * as assert from 'uvu/assert';
import { keysRepo, type ApiKeyRow } from '../../control-plane/src/keys/keys.repo.js';
import { NOW, ownerWith, rejects, type StoreCases } from '../helpers/store.js';

function key(id: string, functionId: string, createdAt: number): ApiKeyRow {
  return { id, function_id: functionId, name: `name-${id}`, prefix: id.slice(0, 4), secret_hash: `hash-${id}`, secret_sealed: `sealed-${id}`, created_at: createdAt, expires_at: NOW + 86_400_000, last_used_at: null, revoked_at: null, rate_limit: null };
}

export const keysCases: StoreCases = (s) => {
  s('keys: listed newest first per function; byId and bySecretHash scoped to the function when asked', async ({ db }) => {
    await ownerWith(db, 'ko', 'fk-1', 'fk-2');
    const keys = [key('k1', 'fk-1', NOW), key('k2', 'fk-1', NOW + 2), key('k3', 'fk-1', NOW + 1), key('k4', 'fk-2', NOW + 3)];
    for (const k of keys) await keysRepo.insert(db.kysely, k);
    await rejects(keysRepo.insert(db.kysely, { ...key('k5', 'fk-2', NOW), secret_hash: 'hash-k1' }), 'a secret hash belongs to one key');
    assert.equal((await keysRepo.list(db.kysely, 'fk-1')).map((k) => k.id), ['k2', 'k3', 'k1']);
    assert.equal(await keysRepo.list(db.kysely, 'fk-2'), [keys[3]], 'every column round-trips');

    const byId: [functionId: string, id: string, expected: string | undefined][] = [
      ['fk-1', 'k1', 'k1'],
      ['fk-2', 'k4', 'k4'],
      ['fk-2', 'k1', undefined],
      ['fk-1', 'nope', undefined],
    ];
    for (const [fn, id, expected] of byId) assert.is((await keysRepo.byId(db.kysely, fn, id))?.id, expected, `${fn} ${id}`);

    const byHash: [hash: string, functionId: string | undefined, expected: string | undefined][] = [
      ['hash-k1', 'fk-1', 'k1'],
      ['hash-k1', 'fk-2', undefined],
      ['hash-k1', undefined, 'k1'],
      ['hash-k4', undefined, 'k4'],
      ['hash-nope', undefined, undefined],
    ];
    for (const [hash, fn, expected] of byHash) assert.is((await keysRepo.bySecretHash(db.kysely, hash, fn))?.id, expected, `${hash} in ${fn ?? 'any function'}`);
    assert.is((await keysRepo.bySecretHash(db.kysely, 'hash-k4'))?.function_id, 'fk-2', 'tells which function a key is for');
  });

  s('keys: update changes that key only', async ({ db }) => {
    await keysRepo.update(db.kysely, 'k1', { last_used_at: NOW + 4, revoked_at: NOW + 5 });
    assert.equal(await keysRepo.byId(db.kysely, 'fk-1', 'k1'), { ...key('k1', 'fk-1', NOW), last_used_at: NOW + 4, revoked_at: NOW + 5 });
    assert.equal(await keysRepo.byId(db.kysely, 'fk-1', 'k3'), key('k3', 'fk-1', NOW + 1));
  });

  s('keys: a signature is accepted once: a replay is refused, even when both arrive at once', async ({ db }) => {
    assert.is(await keysRepo.useSignature(db.kysely, 'sig-1', NOW + 300_000), true);
    assert.is(await keysRepo.useSignature(db.kysely, 'sig-1', NOW + 300_000), false);
    assert.is(await keysRepo.useSignature(db.kysely, 'sig-2', NOW + 300_000), true);
    const racing = await Promise.all(Array.from({ length: 6 }, () => keysRepo.useSignature(db.kysely, 'sig-3', NOW + 300_000)));
    assert.is(racing.filter(Boolean).length, 1);
    const stored = await db.kysely.selectFrom('used_signatures').selectAll().where('signature_hash', 'in', ['sig-1', 'sig-2', 'sig-3']).orderBy('signature_hash').execute();
    assert.equal(stored, ['sig-1', 'sig-2', 'sig-3'].map((signature_hash) => ({ signature_hash, expires_at: NOW + 300_000 })));
  });

  s('keys: purgeSignatures forgets only the signatures past their window', async ({ db }) => {
    await keysRepo.useSignature(db.kysely, 'sig-old', NOW + 100);
    await keysRepo.useSignature(db.kysely, 'sig-new', NOW + 400_000);
    assert.ok((await keysRepo.purgeSignatures(db.kysely, NOW + 300_001)) >= 1);
    assert.is(await keysRepo.useSignature(db.kysely, 'sig-old', NOW + 100), true, 'forgotten');
    assert.is(await keysRepo.useSignature(db.kysely, 'sig-new', NOW + 400_000), false, 'still remembered');
  });
};
