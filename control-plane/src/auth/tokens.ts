// Issues and verifies the two JWTs: access (1 h) and refresh (30 d). One pinned algorithm, every claim checked.
import { createHash, randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { Unauthenticated } from '../errors.js';

export const ALG = 'HS256';
export const ISSUER = 'containerpub';
export const ACCESS_AUDIENCE = 'containerpub:api';
export const REFRESH_AUDIENCE = 'containerpub:refresh';
export const ACCESS_TTL_S = 3600;
export const REFRESH_TTL_S = 30 * 24 * 3600;
/** Clock difference between replicas tolerated on `iat` and `exp`, seconds. */
export const CLOCK_LEEWAY_S = 30;

export interface AccessClaims {
  sub: string;
  email: string;
  role: string;
  jti: string;
  /** The user's session_version when issued. */
  sv: number;
  iat: number;
  exp: number;
}

export interface RefreshClaims {
  sub: string;
  jti: string;
  fam: string;
  sv: number;
  iat: number;
  exp: number;
}

export interface IssuedPair {
  accessToken: string;
  refreshToken: string;
  access: { jti: string; expiresAt: number };
  refresh: { jti: string; expiresAt: number; hash: string };
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export interface TokenSubject {
  id: string;
  email: string;
  role: string;
  session_version: number;
}

export interface TokenIssuer {
  issuePair(user: TokenSubject, familyId: string, nowMs: number): Promise<IssuedPair>;
  /** Throws Unauthenticated (`token_expired` or `invalid_token`) unless it is a valid access token. */
  verifyAccess(token: string): Promise<AccessClaims>;
  /** Throws Unauthenticated unless it is a valid refresh token. */
  verifyRefresh(token: string): Promise<RefreshClaims>;
}

/** Verified access tokens kept so a hot token is not re-verified on every request; exp is still checked each time. */
const VERIFIED_CACHE_MAX = 10_000;

export function createTokenIssuer(secret: Uint8Array, now: () => number = Date.now): TokenIssuer {
  // Importing the key once saves a WebCrypto import per sign and verify.
  const key = crypto.subtle.importKey('raw', new Uint8Array(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  // Keyed by the exact token text: identical bytes verify identically, so a hit is as good as a fresh check.
  const verified = new Map<string, AccessClaims>();

  async function sign(claims: Record<string, unknown>, sub: string, jti: string, aud: string, iat: number, exp: number) {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setSubject(sub)
      .setJti(jti)
      .setIssuer(ISSUER)
      .setAudience(aud)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(await key);
  }

  async function verify(token: string, audience: string, typ: 'access' | 'refresh') {
    try {
      const { payload } = await jwtVerify(token, await key, {
        algorithms: [ALG],
        issuer: ISSUER,
        audience,
        typ: 'JWT',
        currentDate: new Date(now()),
        requiredClaims: ['sub', 'jti', 'iat', 'exp'],
      });
      if (payload.typ !== typ) throw Unauthenticated('invalid_token', `not an ${typ} token`);
      // jose takes any number: Infinity (`1e309`), a far-future exp or a future iat would pass.
      const { iat, exp } = payload;
      const nowS = Math.floor(now() / 1000);
      const ttl = typ === 'access' ? ACCESS_TTL_S : REFRESH_TTL_S;
      if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp) || iat! > nowS + CLOCK_LEEWAY_S || exp! <= iat! || exp! > iat! + ttl + CLOCK_LEEWAY_S) {
        throw Unauthenticated('invalid_token', `the ${typ} token's times are not valid`);
      }
      return payload;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw Unauthenticated('token_expired', `the ${typ} token has expired`);
      if (err instanceof joseErrors.JOSEError) throw Unauthenticated('invalid_token', `the ${typ} token is not valid`);
      throw err;
    }
  }

  return {
    async issuePair(user, familyId, nowMs) {
      const iat = Math.floor(nowMs / 1000);
      const accessJti = randomUUID();
      const refreshJti = randomUUID();
      const accessExp = iat + ACCESS_TTL_S;
      const refreshExp = iat + REFRESH_TTL_S;
      const sv = user.session_version;
      const accessToken = await sign({ typ: 'access', email: user.email, role: user.role, sv }, user.id, accessJti, ACCESS_AUDIENCE, iat, accessExp);
      const refreshToken = await sign({ typ: 'refresh', fam: familyId, sv }, user.id, refreshJti, REFRESH_AUDIENCE, iat, refreshExp);
      return {
        accessToken,
        refreshToken,
        access: { jti: accessJti, expiresAt: accessExp * 1000 },
        refresh: { jti: refreshJti, expiresAt: refreshExp * 1000, hash: sha256Hex(refreshToken) },
      };
    },

    async verifyAccess(token) {
      const hit = verified.get(token);
      if (hit) {
        if (hit.exp * 1000 > now()) return hit;
        verified.delete(token);
        throw Unauthenticated('token_expired', 'the access token has expired');
      }
      const p = await verify(token, ACCESS_AUDIENCE, 'access');
      if (typeof p.email !== 'string' || typeof p.role !== 'string' || typeof p.sv !== 'number') {
        throw Unauthenticated('invalid_token', 'the access token is not valid');
      }
      const claims = { sub: p.sub!, email: p.email, role: p.role, jti: p.jti!, sv: p.sv, iat: p.iat!, exp: p.exp! };
      if (verified.size >= VERIFIED_CACHE_MAX) verified.delete(verified.keys().next().value!);
      verified.set(token, claims);
      return claims;
    },

    async verifyRefresh(token) {
      const p = await verify(token, REFRESH_AUDIENCE, 'refresh');
      if (typeof p.fam !== 'string' || typeof p.sv !== 'number') throw Unauthenticated('invalid_token', 'the refresh token is not valid');
      return { sub: p.sub!, jti: p.jti!, fam: p.fam, sv: p.sv, iat: p.iat!, exp: p.exp! };
    },
  };
}
