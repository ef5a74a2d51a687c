// Middleware that authenticates a bearer access token (sets c.var.principal) and one that requires an admin.
import { bearerToken } from '../auth/bearer.js';
import type { MiddlewareHandler } from 'hono';
import type { AuthService } from '../auth/auth.service.js';
import { Forbidden, Invalid, Unauthenticated } from '../errors.js';
import type { AppEnv } from './env.js';
import { isScopedToken, type TokensService } from '../tokens/tokens.service.js';
import type { SignedIn } from '../teams/access.js';

/** Authenticates an access token — or, with `tokens`, a scoped token (cpt_…, cps_…) too — and names the request's team. */
export function requireAuth(auth: AuthService, tokens?: TokensService): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = bearerToken(c.req.header('authorization'));
    if (!token) throw Unauthenticated('unauthenticated', 'send an access token: Authorization: Bearer <token>');
    const { principal, user } = tokens && isScopedToken(token) ? await tokens.authenticate(token) : await auth.authenticate(token);
    c.set('principal', principal);
    // A service token works in its own team; anyone else in the team the request names (default: their personal one).
    c.set('user', { ...user, team: teamHeader(c.req.header(TEAM_HEADER)) ?? (user as SignedIn).team, ip: c.get('clientIp') });
    await next();
  };
}

/** The header naming the team a request works in (a team's handle); absent: the caller's personal team. */
export const TEAM_HEADER = 'cpub-team';
const HANDLE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The team a request names, checked for shape (whether the caller is in it is the lookup's to say: a 404). */
export function teamHeader(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!HANDLE.test(value)) throw Invalid('invalid_team', `${TEAM_HEADER}: a team handle is lowercase letters, digits and -`, { field: TEAM_HEADER });
  return value;
}

export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.get('principal')?.role !== 'admin') throw Forbidden('admin_only', 'this needs an administrator');
    await next();
  };
}
