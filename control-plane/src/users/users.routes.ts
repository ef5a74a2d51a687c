// HTTP routes under /api/users: the caller's profile, password and account; the admin's list and controls.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../http/env.js';
import type { AuthService } from '../auth/auth.service.js';
import type { UsersService } from './users.service.js';
import { requireAdmin, requireAuth } from '../http/auth-middleware.js';
import { UserSchema, problem, json, jsonBody, bearer } from '../http/schemas.js';
import { toPublicUser } from './users.view.js';
import { PASSWORD_MAX } from '../auth/passwords.js';

const unauth = problem('Not authenticated');

const getMe = createRoute({
  method: 'get',
  path: '/me',
  summary: 'The caller’s profile',
  security: bearer,
  responses: { 200: json('Profile', UserSchema), 401: unauth },
});

const patchMe = createRoute({
  method: 'patch',
  path: '/me',
  summary: 'Update the caller’s profile',
  security: bearer,
  request: { body: jsonBody(z.object({ name: z.string().min(1).max(200) })) },
  responses: { 200: json('Profile', UserSchema), 400: problem('Invalid name'), 401: unauth },
});

const changePassword = createRoute({
  method: 'post',
  path: '/me/password',
  summary: 'Change password; every session of the user is revoked',
  security: bearer,
  request: {
    body: jsonBody(z.object({ currentPassword: z.string().min(1).max(4096), newPassword: z.string().max(PASSWORD_MAX) })),
  },
  responses: { 204: { description: 'Changed' }, 400: problem('New password too short or long'), 401: unauth, 403: problem('Current password is wrong') },
});

const deleteMe = createRoute({
  method: 'delete',
  path: '/me',
  summary: 'Delete the caller’s account and everything it owns',
  security: bearer,
  request: { body: jsonBody(z.object({ password: z.string().min(1).max(4096) })) },
  responses: { 204: { description: 'Deleted' }, 401: unauth, 403: problem('Password is wrong'), 409: problem('Last administrator') },
});

const listUsers = createRoute({
  method: 'get',
  path: '/',
  summary: 'All users (admin)',
  security: bearer,
  middleware: [requireAdmin()] as const,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(200).default(50),
      cursor: z.string().max(200).optional(),
    }),
  },
  responses: {
    200: json('A page of users, newest first', z.object({ users: z.array(UserSchema), nextCursor: z.string().nullable() })),
    401: unauth,
    403: problem('Not an administrator'),
  },
});

const patchUser = createRoute({
  method: 'patch',
  path: '/{id}',
  summary: 'Change a user’s role or disable them (admin); disabling revokes their tokens at once',
  security: bearer,
  middleware: [requireAdmin()] as const,
  request: {
    params: z.object({ id: z.string().max(100) }),
    body: jsonBody(z.object({ role: z.enum(['admin', 'user']).optional(), disabled: z.boolean().optional() })),
  },
  responses: {
    200: json('The user', UserSchema),
    401: unauth,
    403: problem('Not an administrator'),
    404: problem('No such user'),
    409: problem('Would leave no active administrator'),
  },
});

export function usersRoutes(auth: AuthService, users: UsersService) {
  const app = new OpenAPIHono<AppEnv>();
  app.use('*', requireAuth(auth));
  return app
    .openapi(getMe, (c) => c.json(toPublicUser(c.get('user')), 200))
    .openapi(patchMe, async (c) => c.json(await users.updateProfile(c.get('principal'), c.req.valid('json'), { ip: c.get('clientIp') }), 200))
    .openapi(changePassword, async (c) => {
      await users.changePassword(c.get('principal'), c.req.valid('json'), { ip: c.get('clientIp') });
      return c.body(null, 204);
    })
    .openapi(deleteMe, async (c) => {
      await users.deleteSelf(c.get('principal'), c.req.valid('json').password, { ip: c.get('clientIp') });
      return c.body(null, 204);
    })
    .openapi(listUsers, async (c) => {
      const q = c.req.valid('query');
      return c.json(await users.list(q.limit, q.cursor), 200);
    })
    .openapi(patchUser, async (c) =>
      c.json(await users.adminUpdate(c.get('principal'), c.req.valid('param').id, c.req.valid('json'), { ip: c.get('clientIp') }), 200),
    );
}
