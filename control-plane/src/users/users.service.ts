// The profile, password change, account deletion, and the admin's view and control of accounts.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { usersRepo } from './users.repo.js';
import { teamsRepo } from '../teams/teams.repo.js';
import { auditRepo } from '../audit/audit.repo.js';
import { checkPasswordLength, type PasswordHasher } from '../auth/passwords.js';
import type { Sessions } from '../auth/sessions.js';
import type { UserCache } from './user-cache.js';
import type { ClientInfo, Principal } from '../auth/auth.service.js';
import { Conflict, Forbidden, Invalid, NotFound } from '../errors.js';
import { decodeCursor, page } from '../http/cursor.js';
import { toPublicUser, type PublicUser } from './users.view.js';

export interface UsersServiceDeps {
  db: Kysely<Database>;
  hasher: PasswordHasher;
  sessions: Sessions;
  userCache: UserCache;
  now?: () => number;
}

export class UsersService {
  private readonly now: () => number;

  constructor(private readonly d: UsersServiceDeps) {
    this.now = d.now ?? Date.now;
  }

  async get(userId: string): Promise<PublicUser> {
    const u = await usersRepo.findById(this.d.db, userId);
    if (!u) throw NotFound('user_not_found', 'no such user');
    return toPublicUser(u);
  }

  async updateProfile(p: Principal, patch: { name: string }, client: ClientInfo): Promise<PublicUser> {
    const name = patch.name.trim();
    if (!name) throw Invalid('invalid_name', 'name must not be blank', { field: 'name' });
    const now = this.now();
    await this.d.db.transaction().execute(async (tx) => {
      await usersRepo.update(tx, p.userId, { name }, now);
      await auditRepo.record(tx, { event: 'profile_update', actorId: p.userId, subjectId: p.userId, clientIp: client.ip }, now);
    });
    this.d.userCache.invalidate(p.userId);
    return this.get(p.userId);
  }

  /** Changes the password and revokes every session of the user, this one included. */
  async changePassword(p: Principal, input: { currentPassword: string; newPassword: string }, client: ClientInfo): Promise<void> {
    checkPasswordLength(input.newPassword, 'newPassword');
    await this.checkPassword(p.userId, input.currentPassword, 'currentPassword');
    const hash = await this.d.hasher.hash(input.newPassword);
    const now = this.now();
    const denied = await this.d.db.transaction().execute(async (tx) => {
      await usersRepo.update(tx, p.userId, { password_hash: hash }, now);
      await usersRepo.bumpSessionVersion(tx, p.userId);
      const revoked = await this.d.sessions.revokeUser(tx, p.userId, 'password_change', now);
      const own = await this.d.sessions.deny(tx, [{ jti: p.jti, expiresAt: p.expiresAt }], 'password_change');
      await auditRepo.record(tx, { event: 'password_change', actorId: p.userId, subjectId: p.userId, clientIp: client.ip }, now);
      return [...revoked, ...own];
    });
    this.d.userCache.invalidate(p.userId);
    this.d.sessions.commitDenied(denied);
  }

  /** Deletes the caller's account after checking the password; tokens die with it. */
  async deleteSelf(p: Principal, password: string, client: ClientInfo): Promise<void> {
    await this.checkPassword(p.userId, password, 'password');
    const now = this.now();
    const denied = await this.d.db.transaction().execute(async (tx) => {
      // The last admin may leave only when nobody would be left without one.
      if ((await usersRepo.countUsers(tx)) > 1) await this.ensureNotLastAdmin(tx, p.userId);
      // A team others are in keeps an owner; a team of theirs alone goes with them (its functions too).
      const stuck = await teamsRepo.ownedAloneWithOthers(tx, p.userId);
      if (stuck.length) throw Conflict('last_team_owner', `you are the only owner of ${stuck.map((t) => `team ${t}`).join(', ')}: make another member an owner first, or delete the team`);
      for (const teamId of await teamsRepo.aloneIn(tx, p.userId)) await teamsRepo.delete(tx, teamId);
      const revoked = await this.d.sessions.revokeUser(tx, p.userId, 'account_deleted', now);
      const own = await this.d.sessions.deny(tx, [{ jti: p.jti, expiresAt: p.expiresAt }], 'account_deleted');
      await usersRepo.delete(tx, p.userId);
      await auditRepo.record(tx, { event: 'account_deleted', actorId: p.userId, subjectId: p.userId, clientIp: client.ip }, now);
      return [...revoked, ...own];
    });
    this.d.userCache.invalidate(p.userId);
    this.d.sessions.commitDenied(denied);
  }

  async list(limit: number, cursor?: string): Promise<{ users: PublicUser[]; nextCursor: string | null }> {
    const rows = await usersRepo.list(this.d.db, limit + 1, cursor ? decodeCursor(cursor) : undefined);
    const p = page(rows, limit, (u) => u.id, toPublicUser);
    return { users: p.items, nextCursor: p.nextCursor };
  }

  /** Admin: change a user's role or disable/enable them. Disabling revokes their sessions at once. */
  async adminUpdate(admin: Principal, userId: string, patch: { role?: 'admin' | 'user' | undefined; disabled?: boolean | undefined }, client: ClientInfo): Promise<PublicUser> {
    if (admin.role !== 'admin') throw Forbidden('admin_only', 'this needs an administrator');
    const now = this.now();
    const denied = await this.d.db.transaction().execute(async (tx) => {
      const user = await usersRepo.findById(tx, userId);
      if (!user) throw NotFound('user_not_found', 'no such user');
      const demoting = patch.role === 'user' && user.role === 'admin';
      const disabling = patch.disabled === true && user.disabled_at === null;
      if ((demoting || disabling) && user.role === 'admin') await this.ensureNotLastAdmin(tx, userId);
      const audit = (event: 'role_change' | 'account_disabled' | 'account_enabled', detail = {}) =>
        auditRepo.record(tx, { event, actorId: admin.userId, subjectId: userId, clientIp: client.ip, detail }, now);
      let denied: Awaited<ReturnType<Sessions['revokeUser']>> = [];
      if (patch.role && patch.role !== user.role) {
        await usersRepo.update(tx, userId, { role: patch.role }, now);
        await audit('role_change', { from: user.role, to: patch.role });
      }
      if (disabling) {
        await usersRepo.update(tx, userId, { disabled_at: now }, now);
        await usersRepo.bumpSessionVersion(tx, userId);
        denied = await this.d.sessions.revokeUser(tx, userId, 'account_disabled', now);
        await audit('account_disabled');
      } else if (patch.disabled === false && user.disabled_at !== null) {
        await usersRepo.update(tx, userId, { disabled_at: null }, now);
        await audit('account_enabled');
      }
      return denied;
    });
    this.d.userCache.invalidate(userId);
    this.d.sessions.commitDenied(denied);
    return this.get(userId);
  }

  private async checkPassword(userId: string, password: string, field: string): Promise<void> {
    const u = await usersRepo.findById(this.d.db, userId);
    if (!u) throw NotFound('user_not_found', 'no such user');
    if (password.length > 256 || !(await this.d.hasher.verify(u.password_hash, password))) {
      throw Forbidden('wrong_password', `${field} is incorrect`);
    }
  }

  private async ensureNotLastAdmin(tx: Kysely<Database>, userId: string): Promise<void> {
    await usersRepo.lockAdminSet(tx);
    const u = await usersRepo.findById(tx, userId);
    if (u?.role === 'admin' && u.disabled_at === null && (await usersRepo.countActiveAdmins(tx)) <= 1) {
      throw Conflict('last_admin', 'this is the only active administrator; make another user admin first');
    }
  }
}
