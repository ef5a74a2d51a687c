// API keys of a function: the secret is shown once; stored as a SHA-256 hash (for bearer lookups) and sealed
// (signed calls need it for the HMAC). Signed calls: X-Api-Key (the key id), X-Timestamp (epoch seconds,
// ±300 s), X-Signature = base64 HMAC-SHA256(secret, timestamp + ":" + body), each signature accepted once.
import { RateLimiter, storedLimit, type RateLimit } from '../tokens/rate-limiter.js';
import { auditRepo, functionChange } from '../audit/audit.repo.js';
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, FunctionRow, User } from '../db/schema.js';
import type { Sealer } from '../secrets/crypto.js';
import { NotFound, Unauthenticated } from '../errors.js';
import type { FunctionLookup } from '../functions/functions.service.js';
import { keysRepo, type ApiKeyRow } from './keys.repo.js';
import type { KeyView } from '../../../common/api-types.js';

export const KEY_PREFIX = 'cpk_';
const WINDOW_S = 300;
const EXPIRY = { '1h': 3_600_000, '1d': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000, never: 0 } as const;
export type KeyExpiry = keyof typeof EXPIRY;

export type { KeyView } from '../../../common/api-types.js';

const iso = (t: number | null) => (t === null ? null : new Date(Number(t)).toISOString());
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function toKeyView(k: ApiKeyRow): KeyView {
  return { id: k.id, name: k.name, prefix: k.prefix, createdAt: iso(k.created_at)!, expiresAt: iso(k.expires_at), lastUsedAt: iso(k.last_used_at), revokedAt: iso(k.revoked_at), rateLimit: storedLimit(k.rate_limit) ?? null };
}

export class KeysService {
  /** last_used_at is written at most once a minute per key: not a write on every call. */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly sealer: Sealer,
    private readonly functions: FunctionLookup,
    /** Keys with a rate limit take a call from their bucket here. */
    private readonly limiter = new RateLimiter(),
  ) {}

  private newSecret(id: string): { secret: string; hash: string; sealed: string; prefix: string } {
    const secret = KEY_PREFIX + randomBytes(32).toString('base64url');
    return { secret, hash: sha256(secret), sealed: this.sealer.seal(secret, `key:${id}`), prefix: secret.slice(0, 12) };
  }

  async create(user: User, ref: string, name: string, expiresIn: KeyExpiry, rateLimit?: RateLimit | undefined): Promise<{ key: KeyView; secret: string }> {
    const fn = await this.functions.find(user, ref, 'keys:write');
    const id = randomUUID();
    const s = this.newSecret(id);
    const now = Date.now();
    const row = { id, function_id: fn.id, name, prefix: s.prefix, secret_hash: s.hash, secret_sealed: s.sealed, created_at: now, expires_at: EXPIRY[expiresIn] ? now + EXPIRY[expiresIn] : null, last_used_at: null, revoked_at: null, rate_limit: rateLimit ? JSON.stringify(rateLimit) : null };
    await this.db.transaction().execute(async (tx) => {
      await keysRepo.insert(tx, row);
      await auditRepo.record(tx, functionChange(user, fn, 'key_created', { target: `key:${fn.name}/${name}`, after: { id, name, prefix: s.prefix, expiresIn } }), now);
    });
    return { key: toKeyView(row), secret: s.secret };
  }

  async list(user: User, ref: string): Promise<KeyView[]> {
    const fn = await this.functions.find(user, ref, 'keys:read');
    return (await keysRepo.list(this.db, fn.id)).map(toKeyView);
  }

  private async find(fn: FunctionRow, keyId: string): Promise<ApiKeyRow> {
    const k = await keysRepo.byId(this.db, fn.id, keyId);
    if (!k) throw NotFound('key_not_found', `${fn.name} has no key ${keyId}`);
    return k;
  }

  /** Revoked keys are kept for the record. */
  async revoke(user: User, ref: string, keyId: string): Promise<void> {
    const fn = await this.functions.find(user, ref, 'keys:write');
    const k = await this.find(fn, keyId);
    if (k.revoked_at !== null) return;
    const now = Date.now();
    await this.db.transaction().execute(async (tx) => {
      await keysRepo.update(tx, k.id, { revoked_at: now });
      await auditRepo.record(tx, functionChange(user, fn, 'key_revoked', { target: `key:${fn.name}/${k.name}`, before: { id: k.id, prefix: k.prefix } }), now);
    });
  }

  /** A new secret for the same key; the old one stops working at once. */
  async roll(user: User, ref: string, keyId: string): Promise<{ key: KeyView; secret: string }> {
    const fn = await this.functions.find(user, ref, 'keys:write');
    const k = await this.find(fn, keyId);
    if (k.revoked_at !== null) throw NotFound('key_not_found', `key ${keyId} is revoked`);
    const s = this.newSecret(k.id);
    await this.db.transaction().execute(async (tx) => {
      await keysRepo.update(tx, k.id, { secret_hash: s.hash, secret_sealed: s.sealed, prefix: s.prefix });
      await auditRepo.record(tx, functionChange(user, fn, 'key_rolled', { target: `key:${fn.name}/${k.name}`, before: { prefix: k.prefix }, after: { prefix: s.prefix } }));
    });
    return { key: toKeyView({ ...k, prefix: s.prefix }), secret: s.secret };
  }

  /** Checks a call's key (bearer, or a signature) against the function's keys; throws 401 otherwise. */
  async authorize(functionId: string, c: { bearer?: string | undefined; apiKey?: string | undefined; timestamp?: string | undefined; signature?: string | undefined; body: Buffer }): Promise<void> {
    const now = Date.now();
    let key: ApiKeyRow | undefined;
    if (c.signature !== undefined || c.timestamp !== undefined) {
      if (!c.apiKey || !c.timestamp || !c.signature) throw Unauthenticated('bad_signature', 'a signed call needs X-Api-Key, X-Timestamp and X-Signature');
      const ts = Number(c.timestamp);
      if (!Number.isFinite(ts) || Math.abs(now / 1000 - ts) > WINDOW_S) throw Unauthenticated('stale_signature', `X-Timestamp must be within ${WINDOW_S} s of the server's clock`);
      key = await keysRepo.byId(this.db, functionId, c.apiKey);
      if (!key) throw Unauthenticated('bad_signature', 'the signature does not match');
      const expected = createHmac('sha256', this.sealer.open(key.secret_sealed, `key:${key.id}`)).update(`${c.timestamp}:`).update(c.body).digest();
      const given = Buffer.from(c.signature, 'base64');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw Unauthenticated('bad_signature', 'the signature does not match');
      this.checkUsable(key, now);
      const fresh = await keysRepo.useSignature(this.db, sha256(`${key.id}:${c.signature}`), (ts + WINDOW_S) * 1000 + 60_000);
      if (!fresh) throw Unauthenticated('signature_reused', 'this signature was already used: sign every call afresh');
    } else {
      const secret = c.bearer ?? (c.apiKey?.startsWith(KEY_PREFIX) ? c.apiKey : undefined);
      if (!secret) throw Unauthenticated('unauthenticated', 'this function needs an API key: Authorization: Bearer <key>, or a signed call');
      key = await keysRepo.bySecretHash(this.db, sha256(secret), functionId);
      if (!key) throw Unauthenticated('invalid_key', 'the API key is not valid for this function');
      this.checkUsable(key, now);
    }
    const limit = storedLimit(key.rate_limit);
    if (limit) this.limiter.take(`key:${key.id}`, limit, `API key ${key.name}`);
    if ((this.touched.get(key.id) ?? 0) < now - 60_000) {
      this.touched.set(key.id, now);
      await keysRepo.update(this.db, key.id, { last_used_at: now });
    }
  }

  /** An API key of a function, from a bearer value: for `POST …/invoke` with a key. */
  async functionOfKey(secret: string): Promise<string | undefined> {
    if (!secret.startsWith(KEY_PREFIX)) return undefined;
    return (await keysRepo.bySecretHash(this.db, sha256(secret)))?.function_id;
  }

  private checkUsable(key: ApiKeyRow, now: number): void {
    if (key.revoked_at !== null) throw Unauthenticated('key_revoked', 'this API key was revoked');
    if (key.expires_at !== null && Number(key.expires_at) <= now) throw Unauthenticated('key_expired', 'this API key has expired');
  }
}
