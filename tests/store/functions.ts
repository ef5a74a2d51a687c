// Store cases for functions.repo: unique names per owner, owner scoping, the keyset-paged list, and a delete that
// takes the function's versions, calls, keys and env with it.
import * as assert from 'uvu/assert';
import { functionsRepo } from '../../control-plane/src/functions/functions.repo.js';
import { usersRepo } from '../../control-plane/src/users/users.repo.js';
import { teamsRepo } from '../../control-plane/src/teams/teams.repo.js';
import { deploymentsRepo } from '../../control-plane/src/deployments/deployments.repo.js';
import { keysRepo } from '../../control-plane/src/keys/keys.repo.js';
import { envRepo } from '../../control-plane/src/env/env.repo.js';
import { deploymentRow, fnRow, NOW, ownerWith, rejectsWith, type StoreCases } from '../helpers/store.js';

export const functionsCases: StoreCases = (s) => {
  s('functions: a name is unique per owner: a second one is a Conflict (function_exists); another owner may use it', async ({ db }) => {
    await ownerWith(db, 'fo-a');
    await ownerWith(db, 'fo-b');
    await functionsRepo.insert(db.kysely, fnRow('fa-1', 'fo-a', 'api'));
    await functionsRepo.insert(db.kysely, fnRow('fa-2', 'fo-a', 'worker'));
    await rejectsWith(functionsRepo.insert(db.kysely, fnRow('fa-3', 'fo-a', 'api')), 'function_exists');
    await functionsRepo.insert(db.kysely, fnRow('fb-1', 'fo-b', 'api'));
    assert.is(await functionsRepo.byId(db.kysely, 'fa-3'), undefined, 'the refused function is not there');
    assert.equal(await functionsRepo.byId(db.kysely, 'fa-1'), { ...fnRow('fa-1', 'fo-a', 'api'), next_version: 1, viewer_invoke: 0 }, 'every column round-trips');
  });

  s('functions: findForMember finds by id in any of the person’s teams, by name in the team named (default: the personal one), with the role; never another team’s', async ({ db }) => {
    const team = await teamsRepo.insert(db.kysely, { name: 'Shared', handle: 'shared-fo', ownerId: 'fo-a' }, NOW);
    await teamsRepo.addMember(db.kysely, team, 'fo-b', 'viewer', NOW);
    await functionsRepo.insert(db.kysely, fnRow('ft-1', team, 'api'));
    const cases: [user: string, ref: string, team: string | undefined, expected: string | undefined, role?: string][] = [
      ['fo-a', 'fa-1', undefined, 'fa-1', 'owner'],
      ['fo-a', 'api', undefined, 'fa-1', 'owner'],
      ['fo-b', 'api', undefined, 'fb-1', 'owner'],
      ['fo-a', 'api', 'shared-fo', 'ft-1', 'owner'],
      ['fo-b', 'api', 'shared-fo', 'ft-1', 'viewer'],
      ['fo-b', 'ft-1', undefined, 'ft-1', 'viewer'],
      ['fo-b', 'fa-1', undefined, undefined],
      ['fo-b', 'worker', undefined, undefined],
      ['fo-b', 'api', 'h-fo-a', undefined],
      ['fo-a', 'nope', undefined, undefined],
    ];
    for (const [user, ref, teamHandle, expected, role] of cases) {
      const f = await functionsRepo.findForMember(db.kysely, user, ref, teamHandle);
      assert.is(f?.id, expected, `${user} ${ref} in ${teamHandle}`);
      if (f) assert.is(f.member_role, role, `${user}'s role`);
    }
    assert.is((await functionsRepo.findForMember(db.kysely, 'fo-b', 'api', 'shared-fo'))?.team_handle, 'shared-fo');
    await teamsRepo.removeMember(db.kysely, team, 'fo-b');
    assert.is(await functionsRepo.findForMember(db.kysely, 'fo-b', 'ft-1', undefined), undefined, 'gone with the membership');
    await functionsRepo.delete(db.kysely, 'ft-1', NOW);
    await functionsRepo.recordsPurged(db.kysely, 'ft-1');
    await teamsRepo.delete(db.kysely, team);
  });

  s('functions: byId, byIdOfActiveOwner, findByHandleAndName; a disabled owner’s functions answer to no one', async ({ db }) => {
    assert.is((await functionsRepo.byId(db.kysely, 'fb-1'))?.owner_id, 'fo-b');
    assert.is(await functionsRepo.byId(db.kysely, 'nope'), undefined);
    assert.is((await functionsRepo.byIdOfActiveOwner(db.kysely, 'fb-1'))?.id, 'fb-1');
    const byHandle: [handle: string, name: string, expected: string | undefined][] = [
      ['h-fo-a', 'api', 'fa-1'],
      ['h-fo-b', 'api', 'fb-1'],
      ['h-fo-b', 'worker', undefined],
      ['h-fo-a', 'nope', undefined],
    ];
    for (const [handle, name, expected] of byHandle) assert.is((await functionsRepo.findByHandleAndName(db.kysely, handle, name))?.id, expected, `${handle}/${name}`);
    assert.is((await functionsRepo.findByHandleAndName(db.kysely, 'h-fo-a', 'api'))?.handle, 'h-fo-a');

    assert.ok(await usersRepo.update(db.kysely, 'fo-b', { disabled_at: NOW }, NOW));
    assert.is(await functionsRepo.byIdOfActiveOwner(db.kysely, 'fb-1'), undefined);
    assert.is(await functionsRepo.findByHandleAndName(db.kysely, 'h-fo-b', 'api'), undefined);
    assert.is((await functionsRepo.byId(db.kysely, 'fb-1'))?.id, 'fb-1', 'byId does not look at the owner');
    assert.is((await functionsRepo.byIdOfActiveOwner(db.kysely, 'fa-1'))?.id, 'fa-1', 'other owners unaffected');
  });

  s('functions: list pages newest first, ties broken by id, the owner’s only', async ({ db }) => {
    await ownerWith(db, 'fo-l');
    const created: [string, number][] = [['l-e', NOW], ['l-a', NOW + 1], ['l-d', NOW + 1], ['l-b', NOW + 1], ['l-c', NOW + 2]];
    for (const [id, at] of created) await functionsRepo.insert(db.kysely, fnRow(id, 'fo-l', id, at));
    const all = ['l-c', 'l-d', 'l-b', 'l-a', 'l-e'];
    assert.equal((await functionsRepo.list(db.kysely, 'fo-l', 10)).map((f) => f.id), all);
    const pages: string[][] = [];
    let after: { createdAt: number; id: string } | undefined;
    for (let i = 0; i < 5; i++) { // bounded: a cursor that does not advance must fail, not hang
      const page = await functionsRepo.list(db.kysely, 'fo-l', 2, after);
      if (!page.length) break;
      pages.push(page.map((f) => f.id));
      const last = page[page.length - 1]!;
      after = { createdAt: last.created_at, id: last.id };
    }
    assert.equal(pages, [['l-c', 'l-d'], ['l-b', 'l-a'], ['l-e']]);
  });

  s('functions: update changes the patched columns of that function only', async ({ db }) => {
    await functionsRepo.update(db.kysely, 'fa-2', { memory_mb: 512, cpus: 1.5, auth: 'public', updated_at: NOW + 5 });
    const f = await functionsRepo.byId(db.kysely, 'fa-2');
    assert.equal([f?.memory_mb, f?.cpus, f?.auth, f?.updated_at, f?.name, f?.created_at], [512, 1.5, 'public', NOW + 5, 'worker', NOW]);
    const other = await functionsRepo.byId(db.kysely, 'fa-1');
    assert.equal([other?.memory_mb, other?.auth, other?.updated_at], [128, 'private', NOW]);
  });

  s('functions: delete takes its versions, keys, env and rollups with it and marks its records for the purger; other functions keep theirs', async ({ db }) => {
    for (const id of ['fa-1', 'fa-2']) {
      await deploymentsRepo.insertDeployment(db.kysely, deploymentRow(id, 1));
      await db.kysely.insertInto('execution_rollups').values({ function_id: id, size_ms: 60_000, start: NOW, version: 1, calls: 1, success: 1, error: 0, timeout: 0, oom: 0, crashed: 0, rejected: 0, agent_lost: 0, cold_starts: 0, queued: 0, retries: 0, duration_sum_ms: 1, cpu_sum_ms: 0, memory_max_bytes: 0, latency: Buffer.from([0]) }).execute();
      await keysRepo.insert(db.kysely, { id: `k-${id}`, function_id: id, name: 'k', prefix: 'p', secret_hash: `hash-k-${id}`, secret_sealed: 's', created_at: NOW, expires_at: null, last_used_at: null, revoked_at: null });
      await envRepo.upsert(db.kysely, id, [{ key: 'A', value: '1', secret: 0 }], NOW);
    }
    await functionsRepo.delete(db.kysely, 'fa-1', NOW);
    assert.is(await functionsRepo.byId(db.kysely, 'fa-1'), undefined);
    assert.equal((await db.kysely.selectFrom('record_purges').selectAll().execute()).map((r) => [r.function_id, Number(r.deleted_at)]), [['fa-1', NOW]]);
    for (const table of ['deployments', 'execution_rollups', 'api_keys', 'function_env'] as const) {
      const rows = await db.kysely.selectFrom(table).select('function_id').where('function_id', 'in', ['fa-1', 'fa-2']).execute();
      assert.equal(rows.map((r) => r.function_id), ['fa-2'], table);
    }
  });
};
