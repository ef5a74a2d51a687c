// Middleware that authenticates a bearer access token (sets c.var.principal) and one that requires an admin.
import { bearerToken } from '../auth/bearer.js';
import type { MiddlewareHandler } from 'hono';
import type { AuthService } from '../auth/auth.service.js';
import { Forbidden, Unauthenticated } from '../errors.js';
import type { AppEnv } from './env.js';

export function requireAuth(auth: AuthService): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = bearerToken(c.req.header('authorization'));
    if (!token) throw Unauthenticated('unauthenticated', 'send an access token: Authorization: Bearer <token>');
    const { principal, user } = await auth.authenticate(token);
    c.set('principal', principal);
    c.set('user', user);
    await next();
  };
}

export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.get('principal')?.role !== 'admin') throw Forbidden('admin_only', 'this needs an administrator');
    await next();
  };
}
