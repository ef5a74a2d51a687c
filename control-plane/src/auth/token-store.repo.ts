// The token store shared by every replica: sessions (token families), refresh tokens (hashed), their links to
// access tokens, and the access denylist.
import { sql } from 'kysely';
import type { Executor, RefreshToken } from '../db/schema.js';
import { dbNowMs } from '../db/connect.js';

export interface NewRefreshToken {
  id: string;
  tokenHash: string;
  userId: string;
  familyId: string;
  parentId: string | null;
  createdAt: number;
  expiresAt: number;
}

export interface DenylistEntry {
  jti: string;
  expiresAt: number;
}

export const tokenStore = {
  async insertFamily(db: Executor, f: { id: string; userId: string; now: number; expiresAt: number }): Promise<void> {
    await db
      .insertInto('token_families')
      .values({ id: f.id, user_id: f.userId, created_at: f.now, last_used_at: f.now, expires_at: f.expiresAt, revoked_at: null, revoke_reason: null })
      .execute();
  },

  /**
   * Marks a live family used (and extends it to `expiresAt`). This write is the family's lock: a refresh and a
   * revocation of the same family serialize on it, so a revocation never misses a successor being issued.
   * Returns false when the family is revoked or gone.
   */
  async touchFamily(db: Executor, familyId: string, now: number, expiresAt: number): Promise<boolean> {
    const r = await db
      .updateTable('token_families')
      .set({ last_used_at: now, expires_at: expiresAt })
      .where('id', '=', familyId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  async insertRefresh(db: Executor, t: NewRefreshToken, access: DenylistEntry): Promise<void> {
    await db
      .insertInto('refresh_tokens')
      .values({
        id: t.id,
        token_hash: t.tokenHash,
        user_id: t.userId,
        family_id: t.familyId,
        parent_id: t.parentId,
        created_at: t.createdAt,
        expires_at: t.expiresAt,
        spent_at: null,
        revoked_at: null,
        revoke_reason: null,
      })
      .execute();
    await db
      .insertInto('token_links')
      .values({ refresh_id: t.id, access_jti: access.jti, access_expires_at: access.expiresAt })
      .execute();
  },

  findRefreshByHash(db: Executor, tokenHash: string): Promise<RefreshToken | undefined> {
    return db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  },

  /**
   * Marks a live refresh token spent. Exactly one of any number of concurrent callers gets true:
   * the conditional UPDATE is the arbiter (row lock in PostgreSQL, the single writer in SQLite).
   */
  async spend(db: Executor, tokenHash: string, now: number): Promise<boolean> {
    const r = await db
      .updateTable('refresh_tokens')
      .set({ spent_at: now })
      .where('token_hash', '=', tokenHash)
      .where('spent_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  /** Remembers, on a token just spent, the (sealed) pair it became and who spent it: the refresh grace window. */
  async recordSuccessor(db: Executor, tokenHash: string, sealed: string, ip: string | null): Promise<void> {
    await db.updateTable('refresh_tokens').set({ successor_sealed: sealed, spent_ip: ip }).where('token_hash', '=', tokenHash).execute();
  },

  /** The access token issued beside a refresh token, if still recorded. */
  linkedAccess(db: Executor, refreshId: string): Promise<DenylistEntry | undefined> {
    return db
      .selectFrom('token_links')
      .select(['access_jti as jti', 'access_expires_at as expiresAt'])
      .where('refresh_id', '=', refreshId)
      .executeTakeFirst();
  },

  /**
   * Revokes a family and every refresh token in it; returns the live access tokens linked to any of them, for
   * the caller to deny. The family row is written first, so a refresh in flight finishes (or fails) before the
   * tokens are read, and its successor is revoked too.
   */
  async revokeFamily(db: Executor, familyId: string, reason: string, now: number): Promise<DenylistEntry[]> {
    await db.updateTable('token_families').set({ revoked_at: now, revoke_reason: reason }).where('id', '=', familyId).where('revoked_at', 'is', null).execute();
    return revokeTokensWhere(db, 'family_id', familyId, reason, now);
  },

  /**
   * Revokes every session of a user; returns the linked access tokens to deny. (A login racing this is fenced
   * by the user's session_version, which callers bump in the same transaction.)
   */
  async revokeUser(db: Executor, userId: string, reason: string, now: number): Promise<DenylistEntry[]> {
    await db.updateTable('token_families').set({ revoked_at: now, revoke_reason: reason }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
    return revokeTokensWhere(db, 'user_id', userId, reason, now);
  },

  /** Adds entries to the denylist, stamped with the database clock (what the replicas' pollers read by). */
  async deny(db: Executor, entries: DenylistEntry[], reason: string): Promise<void> {
    if (entries.length === 0) return;
    const stamp = dbNowMs(db);
    await db
      .insertInto('access_denylist')
      .values(entries.map((e) => ({ jti: e.jti, expires_at: e.expiresAt, created_at: stamp, reason })))
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
  },

  async isDenied(db: Executor, jti: string): Promise<boolean> {
    const r = await db.selectFrom('access_denylist').select('jti').where('jti', '=', jti).executeTakeFirst();
    return r !== undefined;
  },

  /** The database clock, epoch ms. */
  async dbNow(db: Executor): Promise<number> {
    const r = await sql<{ now: number | string }>`select ${dbNowMs(db)} as now`.execute(db);
    return Number(r.rows[0]!.now);
  },

  /** Unexpired denylist rows stamped at or after `since` (database clock, ms); for the replica cache. */
  deniedSince(db: Executor, since: number, now: number): Promise<DenylistEntry[]> {
    return db
      .selectFrom('access_denylist')
      .select(['jti', 'expires_at as expiresAt'])
      .where('created_at', '>=', since)
      .where('expires_at', '>', now)
      .execute();
  },

  /** Deletes rows that can no longer matter: expired denylist entries, expired refresh tokens and sessions. */
  async purgeExpired(db: Executor, now: number): Promise<{ denylist: number; refresh: number }> {
    const d = await db.deleteFrom('access_denylist').where('expires_at', '<=', now).executeTakeFirst();
    const r = await db.deleteFrom('refresh_tokens').where('expires_at', '<=', now).executeTakeFirst();
    // A successor pair is needed for the grace window only: nothing sealed stays longer than it must.
    await db.updateTable('refresh_tokens').set({ successor_sealed: null }).where('successor_sealed', 'is not', null).where('spent_at', '<', now - 60_000).execute();
    await db.deleteFrom('token_families').where('expires_at', '<=', now).execute();
    return { denylist: Number(d.numDeletedRows), refresh: Number(r.numDeletedRows) };
  },
};

async function revokeTokensWhere(db: Executor, column: 'family_id' | 'user_id', value: string, reason: string, now: number): Promise<DenylistEntry[]> {
  await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: now, revoke_reason: reason })
    .where(column, '=', value)
    .where('revoked_at', 'is', null)
    .execute();
  return db
    .selectFrom('token_links')
    .innerJoin('refresh_tokens', 'refresh_tokens.id', 'token_links.refresh_id')
    .select(['token_links.access_jti as jti', 'token_links.access_expires_at as expiresAt'])
    .where(`refresh_tokens.${column}`, '=', value)
    .where('token_links.access_expires_at', '>', now)
    .execute();
}
