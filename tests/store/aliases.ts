// Aliases (aliases/aliases.repo.ts): a function's named pointers to its versions, on both dialects.
import * as assert from 'uvu/assert';
import { aliasesRepo } from '../../control-plane/src/aliases/aliases.repo.js';
import { functionsRepo } from '../../control-plane/src/functions/functions.repo.js';
import { NOW, ownerWith, type StoreCases } from '../helpers/store.js';

export const aliasesCases: StoreCases = (s) => {
  s('aliases: listed by name, one per name and function, changed in place (live’s on its first split), removed, and gone with their function', async ({ db }) => {
    await ownerWith(db, 'al-owner', 'al-f', 'al-g');
    const row = (function_id: string, name: string, version: number) => ({ function_id, name, version, weights: null, sticky: null, min_instances: null as number | null, created_at: NOW, updated_at: NOW });
    await aliasesRepo.insert(db.kysely, row('al-f', 'stable', 1));
    await aliasesRepo.insert(db.kysely, row('al-f', 'beta', 2));
    await aliasesRepo.insert(db.kysely, row('al-g', 'stable', 3));
    assert.ok(await aliasesRepo.insert(db.kysely, row('al-f', 'beta', 1)).then(() => false, () => true), 'one alias of a name per function');
    assert.equal((await aliasesRepo.list(db.kysely, 'al-f')).map((a) => [a.name, a.version]), [['beta', 2], ['stable', 1]]);
    assert.is(await aliasesRepo.count(db.kysely, 'al-f'), 2);
    await aliasesRepo.put(db.kysely, { ...row('al-f', 'live', 0), weights: '{"1":90,"2":10}', sticky: 'header:x-user' });
    await aliasesRepo.put(db.kysely, { ...row('al-f', 'live', 0), weights: '{"1":50,"2":50}', sticky: null, updated_at: NOW + 1 });
    const live = (await aliasesRepo.get(db.kysely, 'al-f', 'live'))!;
    assert.equal([live.weights, live.sticky, Number(live.created_at), Number(live.updated_at)], ['{"1":50,"2":50}', null, NOW, NOW + 1]);
    // A floor on an alias: found by the floor keeper's question, kept by put.
    await aliasesRepo.put(db.kysely, { ...row('al-g', 'stable', 3), min_instances: 2, updated_at: NOW + 2 });
    assert.equal((await aliasesRepo.withFloor(db.kysely)).map((a) => [a.function_id, a.name, a.min_instances]), [['al-g', 'stable', 2]]);
    assert.is(await aliasesRepo.remove(db.kysely, 'al-f', 'beta'), true);
    assert.is(await aliasesRepo.remove(db.kysely, 'al-f', 'beta'), false);
    await functionsRepo.delete(db.kysely, 'al-f', NOW);
    assert.equal(await aliasesRepo.list(db.kysely, 'al-f'), [], 'deleted with the function');
    assert.equal((await aliasesRepo.list(db.kysely, 'al-g')).map((a) => a.name), ['stable'], 'another function’s untouched');
  });
};
