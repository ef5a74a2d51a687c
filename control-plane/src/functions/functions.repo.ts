// Queries on functions. A function's owner_id is its team (teams/): it is only ever looked up for a member of
// that team, so another team's function is simply not found.
import type { Executor, FunctionRow, FunctionsTable, TeamRole } from '../db/schema.js';
import type { Insertable, Updateable } from 'kysely';
import { uniqueAsConflict } from '../db/connect.js';

export const functionsRepo = {
  async insert(db: Executor, row: Insertable<FunctionsTable>): Promise<void> {
    await uniqueAsConflict(() => db.insertInto('functions').values(row).execute(), 'function_exists', `you already have a function named ${row.name}`);
  },

  /**
   * By id in any of the person's teams, or by name in one of them (`teamHandle`; undefined: their personal team),
   * with their role there and the team's handle: a function of a team they are not in is not found.
   */
  findForMember(db: Executor, userId: string, ref: string, teamHandle: string | undefined): Promise<(FunctionRow & { member_role: TeamRole; team_handle: string }) | undefined> {
    return db
      .selectFrom('functions')
      .innerJoin('team_members', (j) => j.onRef('team_members.team_id', '=', 'functions.owner_id').on('team_members.user_id', '=', userId))
      .innerJoin('users', 'users.id', 'functions.owner_id')
      .selectAll('functions')
      .select(['team_members.role as member_role', 'users.handle as team_handle'])
      .where((eb) => eb.or([eb('functions.id', '=', ref), eb.and([eb('functions.name', '=', ref), teamHandle === undefined ? eb('functions.owner_id', '=', userId) : eb('users.handle', '=', teamHandle)])]))
      .orderBy('functions.id')
      .executeTakeFirst();
  },

  byId(db: Executor, id: string): Promise<FunctionRow | undefined> {
    return db.selectFrom('functions').selectAll().where('id', '=', id).executeTakeFirst();
  },

  /** Functions with a warm floor (min_instances) and a version to run, of owners not disabled. */
  withFloor(db: Executor): Promise<FunctionRow[]> {
    return db
      .selectFrom('functions')
      .innerJoin('users', 'users.id', 'functions.owner_id')
      .selectAll('functions')
      .where('functions.min_instances', '>', 0)
      .where('functions.active_version', 'is not', null)
      .where('users.disabled_at', 'is', null)
      .execute();
  },

  /** The function, unless its owner is disabled (whose functions answer to no one). */
  byIdOfActiveOwner(db: Executor, id: string): Promise<FunctionRow | undefined> {
    return db.selectFrom('functions').innerJoin('users', 'users.id', 'functions.owner_id').selectAll('functions').where('functions.id', '=', id).where('users.disabled_at', 'is', null).executeTakeFirst();
  },

  findByHandleAndName(db: Executor, handle: string, name: string): Promise<(FunctionRow & { handle: string }) | undefined> {
    return db
      .selectFrom('functions')
      .innerJoin('users', 'users.id', 'functions.owner_id')
      .selectAll('functions')
      .select('users.handle')
      .where('users.handle', '=', handle)
      .where('functions.name', '=', name)
      .where('users.disabled_at', 'is', null)
      .executeTakeFirst();
  },

  /** Newest first, after the cursor's position. */
  list(db: Executor, ownerId: string, limit: number, after?: { createdAt: number; id: string }): Promise<FunctionRow[]> {
    let q = db.selectFrom('functions').selectAll().where('owner_id', '=', ownerId);
    if (after) q = q.where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]));
    return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  },

  async update(db: Executor, id: string, patch: Updateable<FunctionsTable>): Promise<void> {
    await db.updateTable('functions').set(patch).where('id', '=', id).execute();
  },

  /** Every function's record retention (null: the server's default), and the functions deleted whose records remain. */
  async retentions(db: Executor): Promise<{ live: { id: string; retentionMs: number | null }[]; deleted: string[] }> {
    const live = await db.selectFrom('functions').select(['id', 'execution_retention_ms']).execute();
    const deleted = await db.selectFrom('record_purges').select('function_id').execute();
    return { live: live.map((f) => ({ id: f.id, retentionMs: f.execution_retention_ms === null ? null : Number(f.execution_retention_ms) })), deleted: deleted.map((d) => d.function_id) };
  },

  /** A deleted function's records are all gone. */
  async recordsPurged(db: Executor, id: string): Promise<void> {
    await db.deleteFrom('record_purges').where('function_id', '=', id).execute();
  },

  /** Its versions, keys, env and rollups go with it (cascade); its records are left to the purger, marked in record_purges. */
  /** Run it in a transaction: the mark and the delete go together. */
  async delete(db: Executor, id: string, now: number): Promise<void> {
    await db.insertInto('record_purges').values({ function_id: id, deleted_at: now }).onConflict((oc) => oc.column('function_id').doNothing()).execute();
    await db.deleteFrom('functions').where('id', '=', id).execute();
  },
};
