// Queries on the artifacts shared through the database (several replicas): one row per digest.
import type { Executor } from '../db/schema.js';

export const artifactsRepo = {
  /** Stores an artifact once (a digest already there is kept). */
  async insert(db: Executor, digest: string, data: Buffer, now: number): Promise<void> {
    await db.insertInto('artifact_blobs').values({ digest, data, created_at: now }).onConflict((oc) => oc.column('digest').doNothing()).execute();
  },

  async data(db: Executor, digest: string): Promise<Buffer | undefined> {
    return (await db.selectFrom('artifact_blobs').select('data').where('digest', '=', digest).executeTakeFirst())?.data;
  },

  /** Drops these digests unless a version still uses them (checked in the statement itself). */
  async deleteUnused(db: Executor, digests: string[]): Promise<void> {
    await db
      .deleteFrom('artifact_blobs')
      .where('digest', 'in', digests)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('deployments').select('digest').whereRef('deployments.digest', '=', 'artifact_blobs.digest'))))
      .execute();
  },

  /** Digests of versions whose artifact is not shared yet. */
  async unshared(db: Executor): Promise<string[]> {
    const rows = await db
      .selectFrom('deployments')
      .select('digest')
      .distinct()
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('artifact_blobs').select('digest').whereRef('artifact_blobs.digest', '=', 'deployments.digest'))))
      .execute();
    return rows.map((r) => r.digest);
  },
};
