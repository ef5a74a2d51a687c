// Queries on a function's API keys and on the signatures already used (each signed call is accepted once).
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { ApiKeysTable, Executor } from '../db/schema.js';
import { isUniqueViolation } from '../db/connect.js';

export type ApiKeyRow = Selectable<ApiKeysTable>;

export const keysRepo = {
  async insert(db: Executor, row: Insertable<ApiKeysTable>): Promise<void> {
    await db.insertInto('api_keys').values(row).execute();
  },

  list(db: Executor, functionId: string): Promise<ApiKeyRow[]> {
    return db.selectFrom('api_keys').selectAll().where('function_id', '=', functionId).orderBy('created_at', 'desc').execute();
  },

  byId(db: Executor, functionId: string, id: string): Promise<ApiKeyRow | undefined> {
    return db.selectFrom('api_keys').selectAll().where('function_id', '=', functionId).where('id', '=', id).executeTakeFirst();
  },

  /** A key by its secret's hash; scoped to one function, or any (to learn which function a key is for). */
  bySecretHash(db: Executor, hash: string, functionId?: string): Promise<ApiKeyRow | undefined> {
    let q = db.selectFrom('api_keys').selectAll().where('secret_hash', '=', hash);
    if (functionId !== undefined) q = q.where('function_id', '=', functionId);
    return q.executeTakeFirst();
  },

  async update(db: Executor, id: string, patch: Updateable<ApiKeysTable>): Promise<void> {
    await db.updateTable('api_keys').set(patch).where('id', '=', id).execute();
  },

  /** Forgets the signatures too old to be accepted again; the number removed. */
  async purgeSignatures(db: Executor, now: number): Promise<number> {
    return Number((await db.deleteFrom('used_signatures').where('expires_at', '<', now).executeTakeFirst()).numDeletedRows);
  },

  /** Records a signature as used: false when it was used before (a replay). */
  async useSignature(db: Executor, signatureHash: string, expiresAt: number): Promise<boolean> {
    try {
      await db.insertInto('used_signatures').values({ signature_hash: signatureHash, expires_at: expiresAt }).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  },
};
