// Queries on a function's env vars and sealed secrets.
import type { Selectable } from 'kysely';
import type { Executor, FunctionEnvTable } from '../db/schema.js';

export type EnvRow = Selectable<FunctionEnvTable>;

export const envRepo = {
  list(db: Executor, functionId: string): Promise<EnvRow[]> {
    return db.selectFrom('function_env').selectAll().where('function_id', '=', functionId).orderBy('key').execute();
  },

  /** Sets each entry (an existing key is replaced). Run it in a transaction to set them all or none. */
  async upsert(db: Executor, functionId: string, rows: { key: string; value: string; secret: number }[], now: number): Promise<void> {
    for (const r of rows) {
      await db
        .insertInto('function_env')
        .values({ function_id: functionId, key: r.key, value: r.value, secret: r.secret, updated_at: now })
        .onConflict((oc) => oc.columns(['function_id', 'key']).doUpdateSet({ value: r.value, secret: r.secret, updated_at: now }))
        .execute();
    }
  },

  /** False when there was no such key. */
  async delete(db: Executor, functionId: string, key: string): Promise<boolean> {
    const r = await db.deleteFrom('function_env').where('function_id', '=', functionId).where('key', '=', key).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  },
};
