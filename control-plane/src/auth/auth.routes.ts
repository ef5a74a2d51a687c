// HTTP routes under /api/auth: register, login, refresh, logout. Validate → one service call → respond.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../http/env.js';
import type { AuthService } from './auth.service.js';
import { requireAuth } from '../http/auth-middleware.js';
import { UserSchema, TokensSchema, problem, json, jsonBody, bearer } from '../http/schemas.js';
import { PASSWORD_MAX, PASSWORD_MIN } from './passwords.js';

const RegisterBody = z.object({
  email: z.string().max(320),
  password: z.string().min(PASSWORD_MIN).max(PASSWORD_MAX),
  name: z.string().max(200).optional(),
});
const LoginBody = z.object({ email: z.string().max(320), password: z.string().min(1).max(4096) });
const RefreshBody = z.object({ refreshToken: z.string().min(1).max(4096) });

const register = createRoute({
  method: 'post',
  path: '/register',
  summary: 'Create an account (the first one becomes admin)',
  request: { body: jsonBody(RegisterBody) },
  responses: {
    201: json('The new account', z.object({ user: UserSchema })),
    400: problem('Invalid email, password or name'),
    403: problem('Registration is closed'),
    409: problem('Email already registered'),
  },
});

const login = createRoute({
  method: 'post',
  path: '/login',
  summary: 'Exchange email and password for an access and a refresh token',
  request: { body: jsonBody(LoginBody) },
  responses: {
    200: json('Tokens', TokensSchema),
    401: problem('Wrong email or password'),
    403: problem('Account disabled'),
    429: problem('Too many failed attempts; see Retry-After'),
  },
});

const refresh = createRoute({
  method: 'post',
  path: '/refresh',
  summary: 'Rotate a refresh token for a new token pair',
  request: { body: jsonBody(RefreshBody) },
  responses: {
    200: json('New tokens', TokensSchema),
    401: problem('Invalid, expired or reused refresh token (reuse revokes the session)'),
  },
});

export function authRoutes(auth: AuthService) {
  const logout = createRoute({
    method: 'post',
    path: '/logout',
    summary: 'End the session: the access and refresh tokens stop working',
    security: bearer,
    middleware: [requireAuth(auth)] as const,
    request: { body: jsonBody(RefreshBody) },
    responses: {
      200: json('Logged out', z.object({ message: z.string() })),
      401: problem('Not authenticated'),
      403: problem('The refresh token belongs to another session'),
    },
  });

  return new OpenAPIHono<AppEnv>()
    .openapi(register, async (c) => {
      const user = await auth.register(c.req.valid('json'), { ip: c.get('clientIp') });
      return c.json({ user }, 201);
    })
    .openapi(login, async (c) => c.json(await auth.login(c.req.valid('json'), { ip: c.get('clientIp') }), 200))
    .openapi(refresh, async (c) => c.json(await auth.refresh(c.req.valid('json').refreshToken, { ip: c.get('clientIp') }), 200))
    .openapi(logout, async (c) => {
      await auth.logout(c.get('principal'), c.req.valid('json').refreshToken, { ip: c.get('clientIp') });
      return c.json({ message: 'Logout successful' }, 200);
    });
}
