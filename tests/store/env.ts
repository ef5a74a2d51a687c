// Store cases for env.repo: a function's variables, set (an existing key replaced) all or none in a transaction.
import * as assert from 'uvu/assert';
import { envRepo, type EnvRow } from '../../control-plane/src/env/env.repo.js';
import { NOW, ownerWith, rejects, type StoreCases } from '../helpers/store.js';

const entry = (key: string, value: string, secret = 0) => ({ key, value, secret });
const view = (rows: EnvRow[]) => rows.map((r) => [r.key, r.value, r.secret, r.updated_at]);

export const envCases: StoreCases = (s) => {
  s('env: upsert sets and replaces; a function’s variables are listed by key', async ({ db }) => {
    await ownerWith(db, 'vo', 'fv', 'fv-2');
    await envRepo.upsert(db.kysely, 'fv', [entry('ZED', '1'), entry('ALPHA', '2', 1), entry('MID', '3')], NOW);
    await envRepo.upsert(db.kysely, 'fv', [entry('MID', '33', 1), entry('DUP', 'first'), entry('DUP', 'last')], NOW + 1);
    await envRepo.upsert(db.kysely, 'fv-2', [entry('ALPHA', 'other')], NOW + 2);
    assert.equal(view(await envRepo.list(db.kysely, 'fv')), [
      ['ALPHA', '2', 1, NOW],
      ['DUP', 'last', 0, NOW + 1],
      ['MID', '33', 1, NOW + 1],
      ['ZED', '1', 0, NOW],
    ]);
    assert.equal(view(await envRepo.list(db.kysely, 'fv-2')), [['ALPHA', 'other', 0, NOW + 2]]);
    assert.equal(await envRepo.list(db.kysely, 'fv-none'), []);
  });

  s('env: delete says whether there was such a key', async ({ db }) => {
    const cases: [functionId: string, key: string, expected: boolean][] = [
      ['fv', 'ZED', true],
      ['fv', 'ZED', false],
      ['fv', 'NOPE', false],
      ['fv-2', 'MID', false],
    ];
    for (const [fn, key, expected] of cases) assert.is(await envRepo.delete(db.kysely, fn, key), expected, `${fn} ${key}`);
    assert.equal((await envRepo.list(db.kysely, 'fv')).map((r) => r.key), ['ALPHA', 'DUP', 'MID'], 'another function’s delete left MID alone');
  });

  s('env: a transaction that fails half-way leaves nothing', async ({ db }) => {
    const before = await envRepo.list(db.kysely, 'fv');
    const bad = entry('BAD', null as unknown as string); // refused by the NOT NULL on value, after two rows went in
    await rejects(db.kysely.transaction().execute((tx) => envRepo.upsert(tx, 'fv', [entry('NEW', 'a'), entry('MID', 'changed'), bad], NOW + 9)), 'the bad row fails the upsert');
    assert.equal(await envRepo.list(db.kysely, 'fv'), before);
  });
};
