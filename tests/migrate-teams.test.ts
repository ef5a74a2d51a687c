// Migration 0021 (teams) on a database of users and their functions, on both dialects: every person gets a
// personal team that is their own account, as its owner; their functions are that team's, found by name for them
// and by their old URL (/fn/<their handle>/<name>) for calls; nobody else's; a new team cannot take a person's handle.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db, Dialect } from '../control-plane/src/db/connect.js';
import { migrateTo, migrateToLatest } from '../control-plane/src/db/migrate.js';
import { functionsRepo } from '../control-plane/src/functions/functions.repo.js';
import { teamsRepo } from '../control-plane/src/teams/teams.repo.js';
import { usersRepo } from '../control-plane/src/users/users.repo.js';
import { emptyDatabase } from './helpers/postgres.js';
import { loud } from './helpers/hooks.js';
import { fnRow, NOW, rejectsWith, user } from './helpers/store.js';

for (const dialect of ['sqlite', 'postgres'] as Dialect[]) {
  const s = suite<{ db: Db; cleanup: () => Promise<void> }>(`migration 0021 teams [${dialect}]`);
  s.before(
    loud(async (ctx) => {
      Object.assign(ctx, await emptyDatabase(dialect));
    }),
  );
  s.after(
    loud(async (ctx) => {
      await ctx.db.close();
      await ctx.cleanup();
    }),
  );

  s('existing users and functions carry over: personal teams, owners, the same URLs', async ({ db }) => {
    await migrateTo(db.kysely, '0020-alias-floors');
    const k = db.kysely as never as import('kysely').Kysely<any>;
    for (const id of ['ann', 'bob']) {
      const { kind: _k, ...u } = { ...user(id), kind: undefined };
      await k.insertInto('users').values(u).execute();
    }
    const { viewer_invoke: _v, response_limit_mb: _r, request_limit_mb: _q, ...api } = { ...fnRow('f-ann', 'ann', 'api'), viewer_invoke: undefined };
    await k.insertInto('functions').values(api).execute();
    await k.insertInto('functions').values({ ...api, id: 'f-bob', owner_id: 'bob' }).execute();

    assert.equal(await migrateToLatest(db.kysely), ['0021-teams', '0022-access-tokens', '0023-rate-limits', '0024-alerts', '0025-response-limit', '0026-runtimes', '0027-alert-held', '0028-rollup-index-twin']);
    for (const id of ['ann', 'bob']) {
      const teams = await teamsRepo.forUser(db.kysely, id);
      assert.equal(teams.map((t) => [t.id, t.handle, t.name, t.personal, t.role]), [[id, `h-${id}`, id, 1, 'owner']], `${id}'s personal team`);
      assert.is((await usersRepo.findById(db.kysely, id))?.kind, 'person');
    }
    const found = await functionsRepo.findForMember(db.kysely, 'ann', 'api', undefined);
    assert.equal([found?.id, found?.member_role, found?.team_handle], ['f-ann', 'owner', 'h-ann'], 'found by name in the personal team');
    assert.is((await functionsRepo.findForMember(db.kysely, 'ann', 'f-bob', undefined))?.id, undefined, 'not another’s');
    assert.is((await functionsRepo.findByHandleAndName(db.kysely, 'h-ann', 'api'))?.id, 'f-ann', 'the old URL still finds it');
    assert.is((await functionsRepo.findByHandleAndName(db.kysely, 'h-bob', 'api'))?.id, 'f-bob');
    await rejectsWith(teamsRepo.insert(db.kysely, { name: 'Squat', handle: 'h-ann', ownerId: 'bob' }, NOW), 'team_handle_taken');
    const team = await teamsRepo.insert(db.kysely, { name: 'Shared', handle: 'shared', ownerId: 'bob' }, NOW);
    assert.is(await usersRepo.findById(db.kysely, team), undefined, 'a team’s account is not a user');
    assert.is((await usersRepo.list(db.kysely, 10)).length, 2, 'nor listed as one');
  });

  s.run();
}
