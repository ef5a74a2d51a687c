// Store cases for deployments.repo: version numbers handed out atomically, a build finished once, and activation
// that a late, older build cannot undo.
import * as assert from 'uvu/assert';
import { deploymentsRepo } from '../../control-plane/src/deployments/deployments.repo.js';
import { functionsRepo } from '../../control-plane/src/functions/functions.repo.js';
import { deploymentRow, NOW, ownerWith, rejects, type StoreCases } from '../helpers/store.js';

export const deploymentsCases: StoreCases = (s) => {
  s('deployments: takeVersion numbers 1, 2, … per function, and takes at once never share a number', async ({ db }) => {
    await ownerWith(db, 'do', 'fd-take', 'fd-take2', 'fd-page', 'fd-fin', 'fd-act', 'fd-dig1', 'fd-dig2');
    assert.is(await deploymentsRepo.takeVersion(db.kysely, 'fd-take'), 1);
    assert.is(await deploymentsRepo.takeVersion(db.kysely, 'fd-take'), 2);
    const taken = await Promise.all(Array.from({ length: 8 }, () => db.kysely.transaction().execute((tx) => deploymentsRepo.takeVersion(tx, 'fd-take'))));
    assert.equal(taken.sort((a, b) => a - b), [3, 4, 5, 6, 7, 8, 9, 10]);
    assert.is(await deploymentsRepo.takeVersion(db.kysely, 'fd-take2'), 1, 'numbered per function');
    await rejects(deploymentsRepo.takeVersion(db.kysely, 'fd-none'), 'no such function: no number');
  });

  s('deployments: a version reads back as written; paging by version, newest first', async ({ db }) => {
    for (let v = 1; v <= 5; v++) await deploymentsRepo.insertDeployment(db.kysely, deploymentRow('fd-page', v, v === 3 ? { runtime: 'python-ml' } : {}));
    await deploymentsRepo.insertDeployment(db.kysely, deploymentRow('fd-take', 1));
    assert.equal(await deploymentsRepo.deployment(db.kysely, 'fd-page', 3), { ...deploymentRow('fd-page', 3, { runtime: 'python-ml' }), build_log: '' });
    const { runtime: _, ...unnamed } = deploymentRow('fd-take2', 1);
    await deploymentsRepo.insertDeployment(db.kysely, unnamed);
    assert.is((await deploymentsRepo.deployment(db.kysely, 'fd-take2', 1))?.runtime, 'node', 'a version that names no runtime is Node’s');
    assert.is(await deploymentsRepo.deployment(db.kysely, 'fd-page', 6), undefined);
    await rejects(deploymentsRepo.insertDeployment(db.kysely, deploymentRow('fd-page', 3)), 'a version is recorded once');
    const cases: [limit: number, before: number | undefined, expected: number[]][] = [
      [10, undefined, [5, 4, 3, 2, 1]],
      [2, undefined, [5, 4]],
      [2, 4, [3, 2]],
      [2, 2, [1]],
      [2, 1, []],
    ];
    for (const [limit, before, expected] of cases) {
      assert.equal((await deploymentsRepo.deployments(db.kysely, 'fd-page', limit, before)).map((d) => d.version), expected, `limit ${limit} before ${before}`);
    }
  });

  s('deployments: a build is finished once; a second finish changes nothing; the log can be replaced', async ({ db }) => {
    await deploymentsRepo.insertDeployment(db.kysely, deploymentRow('fd-fin', 1));
    await deploymentsRepo.insertDeployment(db.kysely, deploymentRow('fd-fin', 2));
    const ready = { status: 'ready' as const, image: 'img:1', node_id: 'node-1', build_log: 'built', finished_at: NOW + 10 };
    assert.is(await deploymentsRepo.finishDeployment(db.kysely, 'fd-fin', 1, ready), true);
    assert.is(await deploymentsRepo.finishDeployment(db.kysely, 'fd-fin', 1, { status: 'failed', build_log: 'late', error: 'late', finished_at: NOW + 20 }), false);
    assert.is(await deploymentsRepo.finishDeployment(db.kysely, 'fd-fin', 9, ready), false, 'no such version');
    assert.equal(await deploymentsRepo.deployment(db.kysely, 'fd-fin', 1), { ...deploymentRow('fd-fin', 1), ...ready, error: null });
    assert.is((await deploymentsRepo.deployment(db.kysely, 'fd-fin', 2))?.status, 'building', 'the other version untouched');

    await deploymentsRepo.setBuildLog(db.kysely, 'fd-fin', 1, 'built\nrecorded as version 1');
    assert.is((await deploymentsRepo.deployment(db.kysely, 'fd-fin', 1))?.build_log, 'built\nrecorded as version 1');
    assert.is((await deploymentsRepo.deployment(db.kysely, 'fd-fin', 2))?.build_log, '');
  });

  s('deployments: activateIfNewest makes the newest ready version active; an older one finishing late does not replace it', async ({ db }) => {
    for (let v = 1; v <= 5; v++) await deploymentsRepo.insertDeployment(db.kysely, deploymentRow('fd-act', v));
    const finish = (v: number, status: 'ready' | 'failed') => deploymentsRepo.finishDeployment(db.kysely, 'fd-act', v, { status, build_log: '', finished_at: NOW });
    // Each step: what finishes (if anything), which version is activated and how, what that returns, what is active after.
    type Step = [what: string, finished: [number, 'ready' | 'failed'] | null, call: 'activateIfNewest' | 'activate', version: number, returns: boolean | undefined, active: number];
    const steps: Step[] = [
      ['the first ready version', [1, 'ready'], 'activateIfNewest', 1, true, 1],
      ['a newer one', [3, 'ready'], 'activateIfNewest', 3, true, 3],
      ['an older one finishing late', [2, 'ready'], 'activateIfNewest', 2, false, 3],
      ['a rollback', null, 'activate', 1, undefined, 1],
      ['a newer failed version does not count', [4, 'failed'], 'activateIfNewest', 3, true, 3],
      ['a newer deploy undoes a rollback', [5, 'ready'], 'activateIfNewest', 5, true, 5],
    ];
    let updatedAt = NOW;
    for (const [i, [what, finished, call, version, returns, active]] of steps.entries()) {
      if (finished) assert.ok(await finish(...finished));
      const now = NOW + 100 + i;
      assert.is(await deploymentsRepo[call](db.kysely, 'fd-act', version, now), returns, what);
      if (returns !== false) updatedAt = now;
      const f = await functionsRepo.byId(db.kysely, 'fd-act');
      assert.equal([f?.active_version, f?.updated_at], [active, updatedAt], what);
    }
    assert.is((await functionsRepo.byId(db.kysely, 'fd-page'))?.active_version, null, 'other functions untouched');
    assert.is(await deploymentsRepo.activateIfNewest(db.kysely, 'fd-none', 1, NOW), false);
  });

  s('deployments: digests of a function, digests in use, versions still building', async ({ db }) => {
    await deploymentsRepo.insertDeployment(db.kysely, deploymentRow('fd-dig1', 1, { digest: 'dig-shared' }));
    await deploymentsRepo.insertDeployment(db.kysely, deploymentRow('fd-dig1', 2, { digest: 'dig-own', status: 'ready' }));
    await deploymentsRepo.insertDeployment(db.kysely, deploymentRow('fd-dig2', 1, { digest: 'dig-shared', size_bytes: 5_000_000_000, status: 'failed' }));
    await deploymentsRepo.insertDeployment(db.kysely, deploymentRow('fd-dig2', 2, { digest: 'dig-other', size_bytes: 5_000_000_000 }));
    assert.equal((await deploymentsRepo.digestsOf(db.kysely, 'fd-dig1')).sort(), ['dig-own', 'dig-shared']);
    assert.equal(await deploymentsRepo.digestsOf(db.kysely, 'fd-none'), []);
    const inUse = await deploymentsRepo.digestsInUse(db.kysely);
    for (const d of ['dig-shared', 'dig-own', 'dig-other', 'digest-fd-page-1']) assert.ok(inUse.has(d), d);
    const building = (await deploymentsRepo.building(db.kysely)).filter((d) => d.function_id.startsWith('fd-dig'));
    assert.equal(building.sort((a, b) => a.function_id.localeCompare(b.function_id)), [
      { function_id: 'fd-dig1', version: 1, digest: 'dig-shared', size_bytes: 1024 },
      { function_id: 'fd-dig2', version: 2, digest: 'dig-other', size_bytes: 5_000_000_000 },
    ]);
    await functionsRepo.delete(db.kysely, 'fd-dig2', NOW);
    assert.not.ok((await deploymentsRepo.digestsInUse(db.kysely)).has('dig-other'), 'gone with its function');
  });
};
