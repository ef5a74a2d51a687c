// Queries on functions. Owner scoping happens here: a function is only ever
// looked up together with its owner, so another user's function is simply not found.
import type { Executor, FunctionRow, FunctionsTable } from '../db/schema.js';
import type { Insertable, Updateable } from 'kysely';
import { uniqueAsConflict } from '../db/connect.js';

export const functionsRepo = {
  async insert(db: Executor, row: Insertable<FunctionsTable>): Promise<void> {
    await uniqueAsConflict(() => db.insertInto('functions').values(row).execute(), 'function_exists', `you already have a function named ${row.name}`);
  },

  /** By id or by name, for one owner. */
  findForOwner(db: Executor, ownerId: string, ref: string): Promise<FunctionRow | undefined> {
    return db
      .selectFrom('functions')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .where((eb) => eb.or([eb('id', '=', ref), eb('name', '=', ref)]))
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
  async delete(db: Executor, id: string, now: number): Promise<void> {
    await db.transaction().execute(async (tx) => {
      await tx.insertInto('record_purges').values({ function_id: id, deleted_at: now }).onConflict((oc) => oc.column('function_id').doNothing()).execute();
      await tx.deleteFrom('functions').where('id', '=', id).execute();
    });
  },
};
