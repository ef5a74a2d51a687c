// Queries on functions and their deployments (versions). Owner scoping happens here: a function is only ever
// looked up together with its owner, so another user's function is simply not found.
import { sql } from 'kysely';
import type { DeploymentRow, Executor, FunctionRow, FunctionsTable } from '../db/schema.js';
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

  async delete(db: Executor, id: string): Promise<void> {
    await db.deleteFrom('functions').where('id', '=', id).execute();
  },

  /** Hands out the next version number atomically: two deploys at once never share one. */
  async takeVersion(db: Executor, id: string): Promise<number> {
    const r = await db
      .updateTable('functions')
      .set({ next_version: sql`next_version + 1` })
      .where('id', '=', id)
      .returning('next_version')
      .executeTakeFirstOrThrow();
    return Number(r.next_version) - 1;
  },

  insertDeployment(db: Executor, d: Omit<DeploymentRow, 'build_log'>): Promise<unknown> {
    return db.insertInto('deployments').values(d).execute();
  },

  deployment(db: Executor, functionId: string, version: number): Promise<DeploymentRow | undefined> {
    return db.selectFrom('deployments').selectAll().where('function_id', '=', functionId).where('version', '=', version).executeTakeFirst();
  },

  deployments(db: Executor, functionId: string, limit: number, beforeVersion?: number): Promise<DeploymentRow[]> {
    let q = db.selectFrom('deployments').selectAll().where('function_id', '=', functionId);
    if (beforeVersion !== undefined) q = q.where('version', '<', beforeVersion);
    return q.orderBy('version', 'desc').limit(limit).execute();
  },

  /** Records a build's end, once: false when the version was not `building` any more (another run finished it). */
  async finishDeployment(db: Executor, functionId: string, version: number, patch: { status: 'ready' | 'failed'; image?: string | null; node_id?: string | null; build_log: string; error?: string | null; finished_at: number }): Promise<boolean> {
    const r = await db.updateTable('deployments').set(patch).where('function_id', '=', functionId).where('version', '=', version).where('status', '=', 'building').executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  },

  /** Replaces a finished build's stored log (its last line is known only once the version is recorded). */
  async setBuildLog(db: Executor, functionId: string, version: number, buildLog: string): Promise<void> {
    await db.updateTable('deployments').set({ build_log: buildLog }).where('function_id', '=', functionId).where('version', '=', version).execute();
  },

  /**
   * A version that became ready is made active when it is the newest ready one: a rollback is undone by a
   * newer deploy, and an older build finishing late never replaces a newer active version.
   */
  async activateIfNewest(db: Executor, functionId: string, version: number, now: number): Promise<boolean> {
    const r = await db
      .updateTable('functions')
      .set({ active_version: version, updated_at: now })
      .where('id', '=', functionId)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('deployments')
              .select('version')
              .where('function_id', '=', functionId)
              .where('status', '=', 'ready')
              .where('version', '>', version),
          ),
        ),
      )
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  /** Digests of every deployment still recorded (the artifacts to keep). */
  async digestsOf(db: Executor, functionId: string): Promise<string[]> {
    return (await db.selectFrom('deployments').select('digest').where('function_id', '=', functionId).execute()).map((r) => r.digest);
  },

  async digestsInUse(db: Executor): Promise<Set<string>> {
    return new Set((await db.selectFrom('deployments').select('digest').distinct().execute()).map((r) => r.digest));
  },
};
