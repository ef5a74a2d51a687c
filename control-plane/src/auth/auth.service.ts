// Registration, login, token refresh with rotation and reuse detection, logout, and access-token authentication.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, User } from '../db/schema.js';
import { teamsRepo } from '../teams/teams.repo.js';
import { usersRepo, makeHandle } from '../users/users.repo.js';
import { auditRepo } from '../audit/audit.repo.js';
import { tokenStore } from './token-store.repo.js';
import { loginThrottle, throttleKeys, ACCOUNT_POLICY, ADDRESS_POLICY } from './login-throttle.js';
import { checkPasswordLength, PASSWORD_MAX, type PasswordHasher } from './passwords.js';
import { sha256Hex, REFRESH_TTL_S, type TokenIssuer } from './tokens.js';
import { foreignKeyAs } from '../db/connect.js';
import type { Sessions, TokenResponse } from './sessions.js';
import type { DenylistCache } from './denylist-cache.js';
import type { UserCache } from '../users/user-cache.js';
import type { Sealer } from '../secrets/crypto.js';
import { Forbidden, RateLimited, Unauthenticated, Invalid } from '../errors.js';
import { toPublicUser, type PublicUser } from '../users/users.view.js';

export interface ClientInfo {
  ip: string | null;
}

export interface Principal {
  userId: string;
  email: string;
  role: 'admin' | 'user';
  jti: string;
  /** Access-token expiry, epoch ms. */
  expiresAt: number;
}

export interface AuthServiceDeps {
  db: Kysely<Database>;
  hasher: PasswordHasher;
  issuer: TokenIssuer;
  sessions: Sessions;
  denylist: DenylistCache;
  userCache: UserCache;
  registration: 'open' | 'closed';
  /** Seals the successor pair kept for the refresh grace window. */
  sealer: Sealer;
  now?: () => number;
  /** Told of security events (metrics, alerts), with whose they are (`subject`: an account, an address). */
  onSecurityEvent?: (event: SecurityEvent, subject: string) => void;
}

/** The security events /metrics counts and the security alert rules watch (bad_join_token comes from the fleet). */
export const SECURITY_EVENTS = ['refresh_reuse', 'login_throttled', 'disabled_account_token', 'bad_join_token'] as const;
export type SecurityEvent = (typeof SECURITY_EVENTS)[number];

/** A refresh token presented again this soon by the client that spent it gets the same successor pair. */
export const REFRESH_GRACE_MS = 10_000;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !EMAIL.test(email)) throw Invalid('invalid_email', 'email must be a valid address', { field: 'email' });
  return email;
}

const BAD_CREDENTIALS = () => Unauthenticated('invalid_credentials', 'email or password is incorrect');

export class AuthService {
  private readonly now: () => number;

  constructor(private readonly d: AuthServiceDeps) {
    this.now = d.now ?? Date.now;
  }

  /** Creates an account. `viaAdminCli` bypasses closed registration (for `cpub-server admin create`). */
  async register(input: { email: string; password: string; name?: string | undefined }, client: ClientInfo, viaAdminCli = false): Promise<PublicUser> {
    if (this.d.registration === 'closed' && !viaAdminCli) {
      throw Forbidden('registration_closed', 'registration is closed on this server; ask an administrator for an account');
    }
    const email = normalizeEmail(input.email);
    checkPasswordLength(input.password);
    const name = (input.name ?? '').trim() || email.split('@')[0]!;
    const passwordHash = await this.d.hasher.hash(input.password);
    const now = this.now();
    const id = randomUUID();
    return this.d.db.transaction().execute(async (tx) => {
      await usersRepo.insert(tx, {
        id,
        email,
        name,
        password_hash: passwordHash,
        role: 'user',
        created_at: now,
        updated_at: now,
        disabled_at: null,
        session_version: 0,
        handle: makeHandle(email),
      });
      // Every person owns a personal team: their own account, where their functions are made by default.
      await teamsRepo.insertPersonal(tx, { id, name }, now);
      // The slot is claimed by whichever account comes first, even one made by `admin create`.
      const first = await usersRepo.claimFirstAdmin(tx, id);
      const admin = viaAdminCli || first;
      if (admin) await usersRepo.update(tx, id, { role: 'admin' }, now);
      await auditRepo.record(tx, { event: 'register', actorId: id, subjectId: id, clientIp: client.ip, detail: { role: admin ? 'admin' : 'user' } }, now);
      return toPublicUser((await usersRepo.findById(tx, id))!);
    });
  }

  async login(input: { email: string; password: string }, client: ClientInfo): Promise<TokenResponse> {
    const email = input.email.trim().toLowerCase();
    const db = this.d.db;
    const accountKey = throttleKeys.account(email);
    const addressKey = client.ip ? throttleKeys.address(client.ip) : undefined;
    const now = this.now();
    // Counted before the password is checked, so parallel guesses cannot outrun the limit.
    const accountMs = await loginThrottle.attempt(db, accountKey, ACCOUNT_POLICY, now);
    const addressMs = addressKey ? await loginThrottle.attempt(db, addressKey, ADDRESS_POLICY, now) : 0;
    const blockedMs = Math.max(accountMs, addressMs);
    if (blockedMs > 0) {
      await auditRepo.record(db, { event: 'login_throttled', clientIp: client.ip, detail: { email } }, now);
      this.d.onSecurityEvent?.('login_throttled', accountMs > 0 ? `account ${email}` : `address ${client.ip}`);
      throw RateLimited('too_many_attempts', 'too many failed logins; wait before trying again', Math.ceil(blockedMs / 1000));
    }

    // The row read here (its session_version) is what the tokens will carry: a password change that commits
    // while this login runs bumps the version, and these tokens are dead on arrival.
    const user = await usersRepo.findByEmail(db, email);
    const ok =
      input.password.length <= PASSWORD_MAX &&
      (user ? await this.d.hasher.verify(user.password_hash, input.password) : (await this.d.hasher.verifyDummy(input.password), false));
    if (!ok || !user) {
      await db.transaction().execute(async (tx) => {
        await loginThrottle.failed(tx, accountKey, ACCOUNT_POLICY, now);
        if (addressKey) await loginThrottle.failed(tx, addressKey, ADDRESS_POLICY, now);
        await auditRepo.record(tx, { event: 'login_failure', subjectId: user?.id ?? null, clientIp: client.ip, detail: { email } }, now);
      });
      throw BAD_CREDENTIALS();
    }
    if (user.disabled_at !== null) throw Forbidden('account_disabled', 'this account is disabled');

    return foreignKeyAs(
      () =>
        db.transaction().execute(async (tx) => {
          await loginThrottle.succeeded(tx, accountKey, addressKey);
          await auditRepo.record(tx, { event: 'login_success', actorId: user.id, subjectId: user.id, clientIp: client.ip }, now);
          return this.d.sessions.start(tx, user, now);
        }),
      BAD_CREDENTIALS, // the account was deleted while we checked the password
    );
  }

  /**
   * Rotates a refresh token. The old one is spent and its linked access token denied. Presenting a
   * spent token revokes its whole family (reuse detection) and answers 401.
   */
  async refresh(refreshToken: string, client: ClientInfo): Promise<TokenResponse> {
    const claims = await this.d.issuer.verifyRefresh(refreshToken);
    const hash = sha256Hex(refreshToken);
    const now = this.now();
    const result = await this.d.db.transaction().execute(async (tx) => {
      const row = await tokenStore.findRefreshByHash(tx, hash);
      if (!row) return { denied: [], error: Unauthenticated('invalid_token', 'the refresh token is not valid') };
      // Touching the family first serializes this refresh with any revocation of the same family.
      const live = await tokenStore.touchFamily(tx, row.family_id, now, now + REFRESH_TTL_S * 1000);
      if (live && (await tokenStore.spend(tx, hash, now))) {
        const user = await usersRepo.findById(tx, row.user_id);
        const old = await tokenStore.linkedAccess(tx, row.id);
        const denied = await this.d.sessions.deny(tx, old ? [old] : [], 'refreshed');
        if (!user || user.disabled_at !== null || user.session_version !== claims.sv) {
          return { denied, error: Unauthenticated('session_revoked', 'this session is no longer valid; log in again') };
        }
        await auditRepo.record(tx, { event: 'refresh', actorId: user.id, subjectId: user.id, clientIp: client.ip }, now);
        const tokens = await this.d.sessions.rotate(tx, user, now, row.family_id, row.id);
        await tokenStore.recordSuccessor(tx, hash, this.d.sealer.seal(JSON.stringify(tokens), `refresh-grace:${row.id}`), client.ip);
        return { denied, tokens };
      }
      if (!live) return { denied: [], error: Unauthenticated('session_revoked', 'this session has ended; log in again') };
      // Spent a moment ago by the same client (two tabs or two CLI processes refreshing together): the same
      // successor pair, and the session lives on. Read again: the refresh that spent it may have committed
      // while this one waited for the family.
      const spent = await tokenStore.findRefreshByHash(tx, hash);
      if (spent?.spent_at != null && spent.revoked_at === null && spent.successor_sealed && now - spent.spent_at <= REFRESH_GRACE_MS && spent.spent_ip === client.ip) {
        return { denied: [], tokens: JSON.parse(this.d.sealer.open(spent.successor_sealed, `refresh-grace:${row.id}`)) as TokenResponse };
      }
      // Spent (or revoked on its own): someone is replaying a token. Kill the family, including its newest tokens.
      const denied = await this.d.sessions.revokeFamily(tx, row.family_id, 'refresh_reuse', now);
      await auditRepo.record(tx, { event: 'refresh_reuse_detected', subjectId: row.user_id, clientIp: client.ip, detail: { family: row.family_id } }, now);
      return { denied, error: Unauthenticated('refresh_token_reused', 'this refresh token was already used; the session has been revoked, log in again'), userId: row.user_id as string };
    });
    this.d.sessions.commitDenied(result.denied);
    if ('error' in result && result.error) {
      if (result.error.code === 'refresh_token_reused' && this.d.onSecurityEvent && 'userId' in result && result.userId) {
        const who = await this.d.userCache.get(result.userId).catch(() => undefined);
        this.d.onSecurityEvent('refresh_reuse', `account ${who?.email ?? result.userId}${client.ip ? ` from ${client.ip}` : ''}`);
      }
      throw result.error;
    }
    return result.tokens!;
  }

  /** Ends the session of `refreshToken` (which must belong to the caller) and the presented access token. */
  async logout(principal: Principal, refreshToken: string, client: ClientInfo): Promise<void> {
    const claims = await this.d.issuer.verifyRefresh(refreshToken).catch(() => null);
    const row = claims ? await tokenStore.findRefreshByHash(this.d.db, sha256Hex(refreshToken)) : undefined;
    if (!row || row.user_id !== principal.userId) {
      throw Forbidden('refresh_token_mismatch', 'the refresh token does not belong to this session');
    }
    const now = this.now();
    const denied = await this.d.db.transaction().execute(async (tx) => {
      const fam = await this.d.sessions.revokeFamily(tx, row.family_id, 'logout', now);
      const own = await this.d.sessions.deny(tx, [{ jti: principal.jti, expiresAt: principal.expiresAt }], 'logout');
      await auditRepo.record(tx, { event: 'logout', actorId: principal.userId, subjectId: principal.userId, clientIp: client.ip }, now);
      return [...fam, ...own];
    });
    this.d.sessions.commitDenied(denied);
  }

  /** Verifies an access token and loads its user; every failure is a 401. Role comes from the database. */
  async authenticate(token: string): Promise<{ principal: Principal; user: User }> {
    const claims = await this.d.issuer.verifyAccess(token);
    if (await this.d.denylist.has(claims.jti)) {
      // Disabling an account revokes its tokens: one presented after is still a disabled account's, for alerting.
      const holder = this.d.onSecurityEvent ? await this.d.userCache.get(claims.sub) : undefined;
      if (holder && holder.disabled_at != null) this.d.onSecurityEvent!('disabled_account_token', `account ${holder.email}`);
      throw Unauthenticated('token_revoked', 'this access token has been revoked');
    }
    const user = await this.d.userCache.get(claims.sub);
    if (!user) throw Unauthenticated('invalid_token', 'the access token is not valid');
    if (user.disabled_at !== null) {
      this.d.onSecurityEvent?.('disabled_account_token', `account ${user.email}`);
      throw Unauthenticated('account_disabled', 'this account is disabled');
    }
    if (claims.sv !== user.session_version) throw Unauthenticated('token_revoked', 'this access token has been revoked');
    return {
      principal: { userId: user.id, email: user.email, role: user.role, jti: claims.jti, expiresAt: claims.exp * 1000 },
      user,
    };
  }
}
