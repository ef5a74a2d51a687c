// Dashboard sessions: the same access and refresh tokens as the API, kept in httpOnly, SameSite=Strict cookies
// (Secure when the request came over HTTPS); an expired access token is refreshed (and the pair rotated) on the
// next page. Every form carries a CSRF token that must equal the `cpub_csrf` cookie (double submit; the cookie
// is SameSite=Strict and httpOnly, so another site can neither send nor read it).
import type { TeamView } from '../../../common/api-types.js';
import type { SignedIn } from '../teams/access.js';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import type { AppEnv } from '../http/env.js';
import type { AuthService } from '../auth/auth.service.js';
import type { TokenResponse } from '../auth/sessions.js';
import { AppError, Forbidden } from '../errors.js';
import type { Sealer } from '../secrets/crypto.js';

export const COOKIE = { access: 'cpub_at', refresh: 'cpub_rt', csrf: 'cpub_csrf', flash: 'cpub_flash', secret: 'cpub_secret', team: 'cpub_team' } as const;
const REFRESH_MAX_AGE = 30 * 86_400;

export type UiEnv = AppEnv & { Variables: AppEnv['Variables'] & { csrf: string; trustProxy: boolean; teams: TeamView[] } };

/** HTTPS as the browser sees it (directly, or through a proxy we trust to say so: CPUB_TRUST_PROXY). */
function secure(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || (c.get('trustProxy') === true && c.req.header('x-forwarded-proto') === 'https');
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
    const token = getCookie(c, COOKIE.csrf);
    if (token && /^[A-Za-z0-9_-]{32,64}$/.test(token)) c.set('csrf', token);
    else newCsrfToken(c);
    await next();
  };
}

/** A fresh CSRF token (at every login and logout, so one seen before a session is no use in it). */
export function newCsrfToken(c: Context<UiEnv>): void {
  const token = randomBytes(24).toString('base64url');
  setCookie(c, COOKIE.csrf, token, options(c, REFRESH_MAX_AGE));
  c.set('csrf', token);
}

/** A message for the next page only (after a redirect), kept in a short-lived cookie, never in the URL. */
export function flash(c: Context, kind: 'ok' | 'error', text: string): void {
  setCookie(c, COOKIE.flash, Buffer.from(JSON.stringify({ kind, text: text.slice(0, 500) })).toString('base64url'), { ...options(c, 60), path: '/ui' });
}

export function takeFlash(c: Context): { kind: 'ok' | 'error'; text: string } | undefined {
  const raw = getCookie(c, COOKIE.flash);
  if (!raw) return undefined;
  deleteCookie(c, COOKIE.flash, { path: '/ui', secure: secure(c) });
  try {
    const f = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { kind?: string; text?: string };
    return (f.kind === 'ok' || f.kind === 'error') && typeof f.text === 'string' ? { kind: f.kind, text: f.text } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A new API key's secret for the page after the redirect (so a reload does not create another key): sealed
 * with the server's AES-256-GCM key, bound to the user, in a cookie that lives a minute and is read once.
 */
export function flashSecret(c: Context, sealer: Sealer, userId: string, s: { name: string; secret: string }): void {
  setCookie(c, COOKIE.secret, sealer.seal(JSON.stringify(s), `key-secret:${userId}`), { ...options(c, 60), path: '/ui/functions' });
}

export function takeSecret(c: Context, sealer: Sealer, userId: string): { name: string; secret: string } | undefined {
  const raw = getCookie(c, COOKIE.secret);
  if (!raw) return undefined;
  deleteCookie(c, COOKIE.secret, { path: '/ui/functions', secure: secure(c) });
  try {
    const s = JSON.parse(sealer.open(raw, `key-secret:${userId}`)) as { name?: unknown; secret?: unknown };
    return typeof s.name === 'string' && typeof s.secret === 'string' ? { name: s.name, secret: s.secret } : undefined;
  } catch {
    return undefined; // another user's, an old key's, or tampered with: nothing to show
  }
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
      c.set('user', { ...user, ip: c.get('clientIp') });
      return true;
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
    }
  }
  const refresh = getCookie(c, COOKIE.refresh);
  if (!refresh) return false;
  try {
    const t = await refreshOnce(auth, refresh, c.get('clientIp'));
    setSession(c, t);
    const { principal, user } = await auth.authenticate(t.accessToken);
    c.set('principal', principal);
    c.set('user', { ...user, ip: c.get('clientIp') });
    return true;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    clearSession(c);
    return false;
  }
}

/**
 * A refresh token works once; a second use revokes its whole session (reuse detection). Pages of one browser
 * often refresh at the same moment (two tabs, the log tail reconnecting): they share one refresh, and for a few
 * seconds after it a request still carrying the spent token gets the same new pair.
 */
const refreshed = new Map<string, { at: number; tokens: Promise<TokenResponse> }>();
const REFRESH_GRACE_MS = 10_000;

function refreshOnce(auth: AuthService, token: string, ip: string | null): Promise<TokenResponse> {
  const now = Date.now();
  for (const [k, v] of refreshed) if (now - v.at > REFRESH_GRACE_MS) refreshed.delete(k);
  const key = createHash('sha256').update(token).digest('base64url');
  const hit = refreshed.get(key);
  if (hit) return hit.tokens;
  const tokens = auth.refresh(token, { ip });
  refreshed.set(key, { at: now, tokens });
  tokens.catch(() => refreshed.delete(key));
  return tokens;
}

/**
 * The teams of the signed-in user, and the one the dashboard works in (the `cpub_team` cookie, if they are still in
 * it; otherwise their personal team): every page's header shows it, and every lookup is in it.
 */
export async function sessionTeam(c: Context<UiEnv>, teams: { list(user: SignedIn): Promise<TeamView[]> }): Promise<void> {
  const mine = await teams.list(c.get('user'));
  c.set('teams', mine);
  const chosen = getCookie(c, COOKIE.team);
  const team = chosen ? mine.find((t) => t.handle === chosen && !t.personal) : undefined;
  if (chosen && !team) deleteCookie(c, COOKIE.team, { path: '/' });
  if (team) c.set('user', { ...c.get('user'), team: team.handle });
}

/** Works in `handle` from now on (undefined: the personal team). */
export function chooseTeam(c: Context, handle: string | undefined): void {
  if (handle) setCookie(c, COOKIE.team, handle, options(c, REFRESH_MAX_AGE));
  else deleteCookie(c, COOKIE.team, { path: '/' });
}
