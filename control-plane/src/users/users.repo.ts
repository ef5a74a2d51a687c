// Queries on the users table; takes the executor so services decide the transaction.
import { randomBytes } from 'node:crypto';
import type { Executor, NewUser, User } from '../db/schema.js';
import { uniqueAsConflict } from '../db/connect.js';

export const usersRepo = {
  async insert(db: Executor, user: NewUser): Promise<void> {
    // The handle carries random characters, so a clash is all but impossible; it would be a 409 like the email.
    await uniqueAsConflict(
      () => db.insertInto('users').values(user).execute(),
      'email_taken',
      'an account with this email already exists',
    );
  },

  /** A person's account (a team's account is not a user: it never signs in). */
  findById(db: Executor, id: string): Promise<User | undefined> {
    return db.selectFrom('users').selectAll().where('id', '=', id).where('kind', '=', 'person').executeTakeFirst();
  },

  findByEmail(db: Executor, email: string): Promise<User | undefined> {
    return db.selectFrom('users').selectAll().where('email', '=', email).where('kind', '=', 'person').executeTakeFirst();
  },

  /** Newest first; `cursor` is the id-ordered position from a previous page. */
  list(db: Executor, limit: number, after?: { createdAt: number; id: string }): Promise<User[]> {
    let q = db.selectFrom('users').selectAll().where('kind', '=', 'person');
    if (after) {
      q = q.where((eb) =>
        eb.or([
          eb('created_at', '<', after.createdAt),
          eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)]),
        ]),
      );
    }
    return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  },

  async update(
    db: Executor,
    id: string,
    patch: Partial<Pick<User, 'name' | 'password_hash' | 'role' | 'disabled_at'>>,
    now: number,
  ): Promise<boolean> {
    const r = await db.updateTable('users').set({ ...patch, updated_at: now }).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  /** Bumps session_version: every token issued before now stops working (login races included). */
  async bumpSessionVersion(db: Executor, id: string): Promise<void> {
    await db
      .updateTable('users')
      .set((eb) => ({ session_version: eb('session_version', '+', 1) }))
      .where('id', '=', id)
      .execute();
  },

  /**
   * Serializes transactions that could remove the last active admin (a write to one known row), so two admins
   * demoting each other at once cannot both succeed.
   */
  async lockAdminSet(db: Executor): Promise<void> {
    await db
      .insertInto('meta')
      .values({ key: 'admin_set_lock', value: '' })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: '' }))
      .execute();
  },

  async delete(db: Executor, id: string): Promise<boolean> {
    const r = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  },

  async countUsers(db: Executor): Promise<number> {
    const r = await db.selectFrom('users').select((eb) => eb.fn.countAll<number | string>().as('n')).where('kind', '=', 'person').executeTakeFirstOrThrow();
    return Number(r.n);
  },

  async countActiveAdmins(db: Executor): Promise<number> {
    const r = await db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('role', '=', 'admin')
      .where('disabled_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  },

  /**
   * Claims the one-time "first user becomes admin" slot. Returns true for exactly one caller,
   * even when two registrations race (the meta row's primary key decides).
   */
  async claimFirstAdmin(db: Executor, userId: string): Promise<boolean> {
    const r = await db
      .insertInto('meta')
      .values({ key: 'first_admin', value: userId })
      .onConflict((oc) => oc.column('key').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  },
};

/**
 * A user's handle for function URLs (`/fn/<handle>/<name>`): the email's local part made URL-safe, and four
 * random characters so handles do not reveal whether another address exists. Set once, never changed.
 */
export function makeHandle(email: string): string {
  const base = (email.split('@')[0] ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 20) || 'user';
  return `${base}-${randomBytes(3).toString('hex').slice(0, 4)}`;
}
