// HTTP routes for scoped tokens: a person's (/api/tokens) and a team's service tokens (/api/teams/:team/tokens).
// A token's secret is in the answer that made it only.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { problem, json, jsonBody, unauthenticated, authed, forbidden, type Same } from '../http/schemas.js';
import { PERMISSIONS } from '../teams/roles.js';
import { TOKEN_EXPIRY, type TokensService, type TokenExpiry } from './tokens.service.js';
import { RateLimitSchema } from './rate-limiter.js';
import type * as api from '../../../common/api-types.js';

const TokenSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['personal', 'service']),
    name: z.string(),
    prefix: z.string(),
    scopes: z.array(z.string()),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    rateLimit: RateLimitSchema.nullable(),
  })
  .openapi('AccessToken');
const WithSecret = z.object({ token: TokenSchema, secret: z.string() });
true satisfies Same<z.infer<typeof TokenSchema>, api.AccessTokenView>;
true satisfies Same<z.infer<typeof WithSecret>, api.AccessTokenWithSecret>;

const NewToken = z.object({
  name: z.string().min(1).max(100),
  scopes: z.array(z.enum(PERMISSIONS)).min(1).openapi({ description: `what it may do: ${PERMISSIONS.join(', ')} (within its holder's role)` }),
  expiresIn: z.enum(Object.keys(TOKEN_EXPIRY) as [TokenExpiry, ...TokenExpiry[]]).default('30d'),
  rateLimit: RateLimitSchema.optional(),
});
const teamParam = z.object({ team: z.string().max(63) });
const idParam = z.object({ id: z.string().max(64) });

export function tokensRoutes(tokens: TokensService, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const create = createRoute({
    ...auth,
    method: 'post',
    path: '/tokens',
    summary: 'A personal access token (for CI: CPUB_TOKEN): acts as you, within your roles and its scopes; its secret is in this answer only',
    request: { body: jsonBody(NewToken) },
    responses: { 201: json('Token and secret', WithSecret), 400: problem('Bad scope or expiry (named)'), 401: unauthenticated },
  });
  const list = createRoute({
    ...auth,
    method: 'get',
    path: '/tokens',
    summary: 'Your personal access tokens (no secrets)',
    responses: { 200: json('Tokens', z.object({ tokens: z.array(TokenSchema) })), 401: unauthenticated },
  });
  const revoke = createRoute({
    ...auth,
    method: 'delete',
    path: '/tokens/{id}',
    summary: 'Revoke a personal access token (within a second on every replica)',
    request: { params: idParam },
    responses: { 204: { description: 'Revoked' }, 401: unauthenticated, 404: problem('No such token of yours') },
  });
  const createService = createRoute({
    ...auth,
    method: 'post',
    path: '/teams/{team}/tokens',
    summary: 'A team service token (team admins and owners): acts as the team (an admin of it) within its scopes; its secret is in this answer only',
    request: { params: teamParam, body: jsonBody(NewToken) },
    responses: { 201: json('Token and secret', WithSecret), 400: problem('Bad scope or expiry (named); a personal team'), 401: unauthenticated, 403: forbidden, 404: problem('No such team of yours') },
  });
  const listService = createRoute({
    ...auth,
    method: 'get',
    path: '/teams/{team}/tokens',
    summary: 'The team’s service tokens (team admins and owners; no secrets)',
    request: { params: teamParam },
    responses: { 200: json('Tokens', z.object({ tokens: z.array(TokenSchema) })), 401: unauthenticated, 403: forbidden, 404: problem('No such team of yours') },
  });
  const revokeService = createRoute({
    ...auth,
    method: 'delete',
    path: '/teams/{team}/tokens/{id}',
    summary: 'Revoke a team service token (team admins and owners)',
    request: { params: teamParam.merge(idParam) },
    responses: { 204: { description: 'Revoked' }, 401: unauthenticated, 403: forbidden, 404: problem('No such team or token') },
  });
  return new OpenAPIHono<AppEnv>()
    .openapi(create, async (c) => c.json(await tokens.createPersonal(c.get('user'), c.req.valid('json')), 201))
    .openapi(list, async (c) => c.json({ tokens: await tokens.listPersonal(c.get('user')) }, 200))
    .openapi(revoke, async (c) => {
      await tokens.revokePersonal(c.get('user'), c.req.valid('param').id);
      return c.body(null, 204);
    })
    .openapi(createService, async (c) => c.json(await tokens.createService(c.get('user'), c.req.valid('param').team, c.req.valid('json')), 201))
    .openapi(listService, async (c) => c.json({ tokens: await tokens.listService(c.get('user'), c.req.valid('param').team) }, 200))
    .openapi(revokeService, async (c) => {
      const p = c.req.valid('param');
      await tokens.revokeService(c.get('user'), p.team, p.id);
      return c.body(null, 204);
    });
}
