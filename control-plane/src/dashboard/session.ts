// Dashboard sessions: the same access and refresh tokens as the API, kept in httpOnly, SameSite=Strict cookies
// (Secure when the request came over HTTPS); an expired access token is refreshed (and the pair rotated) on the
// next page. Every form carries a CSRF token that must equal the `cpub_csrf` cookie (double submit; the cookie
// is SameSite=Strict and httpOnly, so another site can neither send nor read it).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import type { AppEnv } from '../http/env.js';
import type { AuthService } from '../auth/auth.service.js';
import type { TokenResponse } from '../auth/sessions.js';
import { AppError, Forbidden } from '../errors.js';

export const COOKIE = { access: 'cpub_at', refresh: 'cpub_rt', csrf: 'cpub_csrf' } as const;
const REFRESH_MAX_AGE = 30 * 86_400;

export type UiEnv = AppEnv & { Variables: AppEnv['Variables'] & { csrf: string } };

/** HTTPS as the browser sees it (directly, or through a proxy we trust to say so). */
function secure(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

const options = (c: Context, maxAge: number) => ({ httpOnly: true, secure: secure(c), sameSite: 'Strict' as const, path: '/', maxAge });

export function setSession(c: Context, t: TokenResponse): void {
  setCookie(c, COOKIE.access, t.accessToken, options(c, t.expiresIn));
  setCookie(c, COOKIE.refresh, t.refreshToken, options(c, REFRESH_MAX_AGE));
}

export function clearSession(c: Context): void {
  deleteCookie(c, COOKIE.access, { path: '/', secure: secure(c) });
  deleteCookie(c, COOKIE.refresh, { path: '/', secure: secure(c) });
}

/** The CSRF token of this browser (made on first visit), put in c.var.csrf for the forms. */
export function csrfToken(): MiddlewareHandler<UiEnv> {
  return async (c, next) => {
    let token = getCookie(c, COOKIE.csrf);
    if (!token || !/^[A-Za-z0-9_-]{32,64}$/.test(token)) {
      token = randomBytes(24).toString('base64url');
      setCookie(c, COOKIE.csrf, token, options(c, REFRESH_MAX_AGE));
    }
    c.set('csrf', token);
    await next();
  };
}

/** Refuses a state-changing request whose form field (or header) `_csrf` does not match the cookie: 403. */
export async function checkCsrf(c: Context<UiEnv>, form?: Record<string, unknown>): Promise<void> {
  const sent = (form?._csrf as string | undefined) ?? c.req.header('x-csrf-token') ?? '';
  const expected = c.get('csrf');
  const a = Buffer.from(String(sent));
  const b = Buffer.from(expected);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw Forbidden('csrf_failed', 'the form is missing its CSRF token or it does not match: reload the page and try again');
}

/**
 * The signed-in user, from the access cookie; an expired or revoked one is refreshed with the refresh cookie
 * (rotated). No session → `null` (the route redirects to the login page).
 */
export async function sessionUser(c: Context<UiEnv>, auth: AuthService): Promise<boolean> {
  const access = getCookie(c, COOKIE.access);
  if (access) {
    try {
      const { principal, user } = await auth.authenticate(access);
      c.set('principal', principal);
      c.set('user', user);
      return true;
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
    }
  }
  const refresh = getCookie(c, COOKIE.refresh);
  if (!refresh) return false;
  try {
    const t = await auth.refresh(refresh, { ip: c.get('clientIp') });
    setSession(c, t);
    const { principal, user } = await auth.authenticate(t.accessToken);
    c.set('principal', principal);
    c.set('user', user);
    return true;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    clearSession(c);
    return false;
  }
}
