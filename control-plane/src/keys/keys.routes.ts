// HTTP routes for a function's API keys: create (the secret is in that answer only), list, revoke, roll.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { json, jsonBody, fnRef, unauthenticated, fnNotFound, type Same, authed } from '../http/schemas.js';
import type { KeysService } from './keys.service.js';
import { RateLimitSchema } from '../tokens/rate-limiter.js';
import type * as api from '../../../common/api-types.js';

/** An API key's name: the API's bounds, shared with the dashboard's form. */
export const KeyName = z.string().min(1).max(100);

const KeySchema = z
  .object({ id: z.string(), name: z.string(), prefix: z.string(), createdAt: z.string(), expiresAt: z.string().nullable(), lastUsedAt: z.string().nullable(), revokedAt: z.string().nullable(), rateLimit: RateLimitSchema.nullable() })
  .openapi('ApiKey');
const keyId = fnRef.extend({ keyId: z.string().max(64) });
const KeyAndSecret = z.object({ key: KeySchema, secret: z.string() });
true satisfies Same<z.infer<typeof KeyAndSecret>, api.KeyWithSecret>;

export function keysRoutes(keys: KeysService, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const create = createRoute({
    ...auth,
    method: 'post',
    path: '/{ref}/keys',
    summary: 'A new API key; its secret is in this answer only',
    request: { params: fnRef, body: jsonBody(z.object({ name: KeyName.default('key'), expiresIn: z.enum(['1h', '1d', '7d', '30d', 'never']).default('never'), rateLimit: RateLimitSchema.optional() })) },
    responses: { 201: json('Key and secret', KeyAndSecret), 401: unauthenticated, 404: fnNotFound },
  });
  const list = createRoute({
    ...auth,
    method: 'get',
    path: '/{ref}/keys',
    summary: 'The function’s API keys (no secrets)',
    request: { params: fnRef },
    responses: { 200: json('Keys', z.object({ keys: z.array(KeySchema) })), 401: unauthenticated, 404: fnNotFound },
  });
  const revoke = createRoute({
    ...auth,
    method: 'delete',
    path: '/{ref}/keys/{keyId}',
    summary: 'Revoke a key (kept for the record)',
    request: { params: keyId },
    responses: { 204: { description: 'Revoked' }, 401: unauthenticated, 404: fnNotFound },
  });
  const roll = createRoute({
    ...auth,
    method: 'post',
    path: '/{ref}/keys/{keyId}/roll',
    summary: 'A new secret for a key; the old one stops working',
    request: { params: keyId },
    responses: { 200: json('Key and secret', KeyAndSecret), 401: unauthenticated, 404: fnNotFound },
  });

  return new OpenAPIHono<AppEnv>()
    .openapi(create, async (c) => {
      const b = c.req.valid('json');
      return c.json(await keys.create(c.get('user'), c.req.valid('param').ref, b.name, b.expiresIn, b.rateLimit), 201);
    })
    .openapi(list, async (c) => c.json({ keys: await keys.list(c.get('user'), c.req.valid('param').ref) }, 200))
    .openapi(revoke, async (c) => {
      const p = c.req.valid('param');
      await keys.revoke(c.get('user'), p.ref, p.keyId);
      return c.body(null, 204);
    })
    .openapi(roll, async (c) => {
      const p = c.req.valid('param');
      return c.json(await keys.roll(c.get('user'), p.ref, p.keyId), 200);
    });
}
