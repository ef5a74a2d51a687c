// Queries on access tokens: personal ones by their person, service ones by their team's account.
import type { Executor } from '../db/schema.js';
import type { Selectable } from 'kysely';
import type { AccessTokensTable } from '../db/schema.js';

export type AccessTokenRow = Selectable<AccessTokensTable>;

export const tokensRepo = {
  async insert(db: Executor, row: AccessTokenRow): Promise<void> {
    await db.insertInto('access_tokens').values(row).execute();
  },

  byHash(db: Executor, hash: string): Promise<AccessTokenRow | undefined> {
    return db.selectFrom('access_tokens').selectAll().where('secret_hash', '=', hash).executeTakeFirst();
  },

  list(db: Executor, holderId: string, kind: AccessTokenRow['kind']): Promise<AccessTokenRow[]> {
    return db.selectFrom('access_tokens').selectAll().where('holder_id', '=', holderId).where('kind', '=', kind).orderBy('created_at', 'desc').orderBy('id').limit(500).execute();
  },

  byId(db: Executor, holderId: string, kind: AccessTokenRow['kind'], id: string): Promise<AccessTokenRow | undefined> {
    return db.selectFrom('access_tokens').selectAll().where('holder_id', '=', holderId).where('kind', '=', kind).where('id', '=', id).executeTakeFirst();
  },

  async revoke(db: Executor, id: string, now: number): Promise<void> {
    await db.updateTable('access_tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  },

  async used(db: Executor, id: string, now: number): Promise<void> {
    await db.updateTable('access_tokens').set({ last_used_at: now }).where('id', '=', id).execute();
  },
};
