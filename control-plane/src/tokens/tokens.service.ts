// Scoped tokens for CI and scripts: personal access tokens (cpt_…, act as their person with the person's roles)
// and team service tokens (cps_…, act as their team, an admin of it); both do only what their scopes name, expire,
// are shown once and kept hashed, and answer only on the routes of teams' resources (not account routes).
import { RateLimiter, storedLimit, type RateLimit } from './rate-limiter.js';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, User } from '../db/schema.js';
import { Invalid, NotFound, Unauthenticated } from '../errors.js';
import { auditRepo } from '../audit/audit.repo.js';
import { memberOf, sessionOnly, type SignedIn } from '../teams/access.js';
import type { Principal } from '../auth/auth.service.js';
import type { UserCache } from '../users/user-cache.js';
import { tokensRepo, type AccessTokenRow } from './tokens.repo.js';
import type * as api from '../../../common/api-types.js';

export const PERSONAL_PREFIX = 'cpt_';
export const SERVICE_PREFIX = 'cps_';
export const TOKEN_EXPIRY = { '1h': 3_600_000, '1d': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000, '90d': 90 * 86_400_000, '1y': 365 * 86_400_000, never: 0 } as const;
export type TokenExpiry = keyof typeof TOKEN_EXPIRY;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
/** A token's last use is written at most this often (not on every request). */
const USED_EVERY_MS = 60_000;
/** A token checked is trusted this long (a revocation takes effect within it, on every replica). */
const CACHE_MS = 1000;

/** What a new token is given. */
export interface NewToken {
  name: string;
  scopes: string[];
  expiresIn: TokenExpiry;
  rateLimit?: RateLimit | undefined;
}

export const isScopedToken = (bearer: string) => bearer.startsWith(PERSONAL_PREFIX) || bearer.startsWith(SERVICE_PREFIX);

export class TokensService {
  private readonly cache = new Map<string, { at: number; row: AccessTokenRow | undefined }>();
  private readonly usedAt = new Map<string, number>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly users: UserCache,
    private readonly now: () => number = Date.now,
    /** Tokens with a rate limit take a call from their bucket on every request. */
    private readonly limiter = new RateLimiter(),
  ) {}

  /** The person (or team) a scoped token acts as, with its scopes; every failure is a 401. */
  async authenticate(secret: string): Promise<{ principal: Principal; user: SignedIn }> {
    const hash = sha256(secret);
    const now = this.now();
    let hit = this.cache.get(hash);
    if (!hit || now - hit.at >= CACHE_MS) {
      hit = { at: now, row: await tokensRepo.byHash(this.db, hash) };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, hit);
    }
    const row = hit.row;
    if (!row || row.kind !== (secret.startsWith(SERVICE_PREFIX) ? 'service' : 'personal')) throw Unauthenticated('invalid_token', 'the token is not valid');
    if (row.revoked_at !== null) throw Unauthenticated('token_revoked', 'this token has been revoked');
    if (row.expires_at !== null && Number(row.expires_at) <= now) throw Unauthenticated('token_expired', `this token expired at ${iso(row.expires_at)}`);
    const holder = row.kind === 'personal' ? await this.users.get(row.holder_id) : await this.teamAccount(row.holder_id);
    if (!holder) throw Unauthenticated('invalid_token', 'the token is not valid');
    if (holder.disabled_at !== null) throw Unauthenticated('account_disabled', 'this account is disabled');
    const limit = storedLimit(row.rate_limit);
    if (limit) this.limiter.take(`token:${row.id}`, limit, `token ${row.name}`);
    if (now - (this.usedAt.get(row.id) ?? 0) >= USED_EVERY_MS) {
      this.usedAt.set(row.id, now);
      void tokensRepo.used(this.db, row.id, now).catch(() => {});
    }
    const scopes = JSON.parse(row.scopes) as string[];
    return {
      principal: { userId: holder.id, email: holder.email, role: row.kind === 'personal' ? holder.role : 'user', jti: row.id, expiresAt: row.expires_at === null ? Number.MAX_SAFE_INTEGER : Number(row.expires_at) },
      user: { ...holder, role: row.kind === 'personal' ? holder.role : 'user', scopes, ...(row.kind === 'service' ? { team: holder.handle } : {}) },
    };
  }

  private async teamAccount(id: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).where('kind', '=', 'team').executeTakeFirst();
  }

  /** A personal access token of the caller's (only a session may make one: a token cannot make tokens). */
  async createPersonal(user: SignedIn, input: NewToken): Promise<api.AccessTokenWithSecret> {
    sessionOnly(user);
    return this.create(user, 'personal', user.id, input, null);
  }

  async listPersonal(user: SignedIn): Promise<api.AccessTokenView[]> {
    sessionOnly(user);
    return (await tokensRepo.list(this.db, user.id, 'personal')).map(toView);
  }

  async revokePersonal(user: SignedIn, id: string): Promise<void> {
    sessionOnly(user);
    await this.revoke(user, 'personal', user.id, id, null);
  }

  /** A service token of the team (its admins and owners, in a session): acts as the team, an admin of it. */
  async createService(user: SignedIn, handle: string, input: NewToken): Promise<api.AccessTokenWithSecret> {
    const m = await this.teamFor(user, handle);
    if (m.personal) throw Invalid('personal_team', 'a personal team has no service tokens: make a personal access token (POST /api/tokens)');
    await this.db.insertInto('team_members').values({ team_id: m.id, user_id: m.id, role: 'admin', created_at: this.now() }).onConflict((oc) => oc.columns(['team_id', 'user_id']).doNothing()).execute();
    return this.create(user, 'service', m.id, input, m.id);
  }

  async listService(user: SignedIn, handle: string): Promise<api.AccessTokenView[]> {
    const m = await this.teamFor(user, handle);
    return (await tokensRepo.list(this.db, m.id, 'service')).map(toView);
  }

  async revokeService(user: SignedIn, handle: string, id: string): Promise<void> {
    const m = await this.teamFor(user, handle);
    await this.revoke(user, 'service', m.id, id, m.id);
  }

  private async teamFor(user: SignedIn, handle: string) {
    sessionOnly(user);
    return memberOf(this.db, user, handle, 'keys:write');
  }

  private async create(user: SignedIn, kind: AccessTokenRow['kind'], holderId: string, input: NewToken, teamId: string | null): Promise<api.AccessTokenWithSecret> {
    const now = this.now();
    const id = randomUUID();
    const secret = `${kind === 'personal' ? PERSONAL_PREFIX : SERVICE_PREFIX}${randomBytes(32).toString('base64url')}`;
    const ttl = TOKEN_EXPIRY[input.expiresIn];
    const row: AccessTokenRow = { id, kind, holder_id: holderId, name: input.name, prefix: secret.slice(0, 12), secret_hash: sha256(secret), scopes: JSON.stringify([...new Set(input.scopes)]), created_by: user.id, created_at: now, expires_at: ttl ? now + ttl : null, last_used_at: null, revoked_at: null, rate_limit: input.rateLimit ? JSON.stringify(input.rateLimit) : null };
    await this.db.transaction().execute(async (tx) => {
      await tokensRepo.insert(tx, row);
      await auditRepo.record(tx, { event: 'token_created', actorId: user.id, teamId, target: `token:${input.name}`, clientIp: user.ip ?? null, after: { id, kind, scopes: JSON.parse(row.scopes) as string[], expiresAt: iso(row.expires_at) } }, now);
    });
    return { token: toView(row), secret };
  }

  private async revoke(user: SignedIn, kind: AccessTokenRow['kind'], holderId: string, id: string, teamId: string | null): Promise<void> {
    const row = await tokensRepo.byId(this.db, holderId, kind, id);
    if (!row) throw NotFound('token_not_found', `no token ${id}`);
    if (row.revoked_at !== null) return;
    const now = this.now();
    await this.db.transaction().execute(async (tx) => {
      await tokensRepo.revoke(tx, id, now);
      await auditRepo.record(tx, { event: 'token_revoked', actorId: user.id, teamId, target: `token:${row.name}`, clientIp: user.ip ?? null, before: { id, kind } }, now);
    });
    this.cache.clear();
  }
}

function toView(r: AccessTokenRow): api.AccessTokenView {
  return { id: r.id, kind: r.kind, name: r.name, prefix: r.prefix, scopes: JSON.parse(r.scopes) as string[], createdAt: iso(r.created_at)!, expiresAt: iso(r.expires_at), lastUsedAt: iso(r.last_used_at), revokedAt: iso(r.revoked_at), rateLimit: storedLimit(r.rate_limit) ?? null };
}
