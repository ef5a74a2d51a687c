// Queries on a function's versions (deployments): numbering, recording builds, activating, listing.
import { sql } from 'kysely';
import type { DeploymentRow, Executor } from '../db/schema.js';

export const deploymentsRepo = {
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

  async count(db: Executor, functionId: string): Promise<number> {
    const r = await db.selectFrom('deployments').select((eb) => eb.fn.countAll<number | string>().as('n')).where('function_id', '=', functionId).executeTakeFirstOrThrow();
    return Number(r.n);
  },

  /** Bytes of the artifacts of a team's versions. */
  async teamBytes(db: Executor, teamId: string): Promise<number> {
    const r = await db
      .selectFrom('deployments')
      .innerJoin('functions', 'functions.id', 'deployments.function_id')
      .select((eb) => eb.fn.sum<number | string>('deployments.size_bytes').as('n'))
      .where('functions.owner_id', '=', teamId)
      .executeTakeFirstOrThrow();
    return Number(r.n ?? 0);
  },

  insertDeployment(db: Executor, d: Omit<DeploymentRow, 'build_log' | 'runtime'> & { runtime?: string }): Promise<unknown> {
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

  /** Makes a version the active one (a rollback); a split of `live` (aliases) ends: live is the active version again. */
  async activate(db: Executor, functionId: string, version: number, now: number): Promise<void> {
    await db.updateTable('functions').set({ active_version: version, updated_at: now }).where('id', '=', functionId).execute();
    await endLiveSplit(db, functionId);
  },

  /** Makes a version active only if `from` still is (a canary's promotion); whether it did. Ends a split of live. */
  async activateIf(db: Executor, functionId: string, version: number, from: number, now: number): Promise<boolean> {
    const r = await db.updateTable('functions').set({ active_version: version, updated_at: now }).where('id', '=', functionId).where('active_version', '=', from).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return false;
    await endLiveSplit(db, functionId);
    return true;
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
    if (Number(r.numUpdatedRows) !== 1) return false;
    await endLiveSplit(db, functionId);
    return true;
  },

  /** Digests of every deployment still recorded (the artifacts to keep). */
  async digestsOf(db: Executor, functionId: string): Promise<string[]> {
    return (await db.selectFrom('deployments').select('digest').where('function_id', '=', functionId).execute()).map((r) => r.digest);
  },

  async digestsInUse(db: Executor): Promise<Set<string>> {
    return new Set((await db.selectFrom('deployments').select('digest').distinct().execute()).map((r) => r.digest));
  },

  /** Versions still marked `building` (a build cut short, or one running now). */
  building(db: Executor): Promise<Pick<DeploymentRow, 'function_id' | 'version' | 'digest' | 'size_bytes'>[]> {
    return db.selectFrom('deployments').select(['function_id', 'version', 'digest', 'size_bytes']).where('status', '=', 'building').execute();
  },
};

/** A new active version ends a split of `live` (its weights name the versions before it). */
export async function endLiveSplit(db: Executor, functionId: string): Promise<void> {
  await db.deleteFrom('function_aliases').where('function_id', '=', functionId).where('name', '=', 'live').execute();
}
