// HTTP routes for a function's env: list (secrets masked), set vars and secrets, unset one.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { json, jsonBody, fnRef, unauthenticated, fnNotFound, problem, type Same, authed, forbidden } from '../http/schemas.js';
import type { EnvService } from './env.service.js';
import type * as api from '../../../common/api-types.js';

/** An env value (a secret's too): the API's bound, shared with the dashboard's form. */
export const EnvValue = z.string().max(32_768);

const EnvEntry = z.object({ key: z.string(), value: z.string(), secret: z.boolean(), updatedAt: z.string() }).openapi('EnvEntry');
const EnvList = z.object({ env: z.array(EnvEntry) });
true satisfies Same<z.infer<typeof EnvList>, api.EnvList>;

export function envRoutes(env: EnvService, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const list = createRoute({
    ...auth,
    method: 'get',
    path: '/{ref}/env',
    summary: 'Env vars (secrets masked)',
    request: { params: fnRef },
    responses: { 200: json('Env', EnvList), 401: unauthenticated, 404: fnNotFound },
  });
  const put = createRoute({
    ...auth,
    method: 'put',
    path: '/{ref}/env',
    summary: 'Set env vars and secrets (new and warm containers get them)',
    request: { params: fnRef, body: jsonBody(z.object({ vars: z.record(z.string(), EnvValue).optional(), secrets: z.record(z.string(), EnvValue).optional() })) },
    responses: { 200: json('Env', EnvList), 400: problem('Bad name'), 401: unauthenticated, 404: fnNotFound },
  });
  const one = createRoute({
    ...auth,
    method: 'get',
    path: '/{ref}/env/{key}',
    summary: 'One env var with its value; a secret’s value needs env:read (team admins and owners)',
    request: { params: fnRef.extend({ key: z.string().max(128) }) },
    responses: { 200: json('Env var', z.object({ key: z.string(), value: z.string(), secret: z.boolean() })), 401: unauthenticated, 403: forbidden, 404: problem('No such function or env var') },
  });
  const unset = createRoute({
    ...auth,
    method: 'delete',
    path: '/{ref}/env/{key}',
    summary: 'Unset one env var or secret',
    request: { params: fnRef.extend({ key: z.string().max(128) }) },
    responses: { 204: { description: 'Unset' }, 401: unauthenticated, 404: fnNotFound },
  });

  return new OpenAPIHono<AppEnv>()
    .openapi(list, async (c) => c.json({ env: await env.list(c.get('user'), c.req.valid('param').ref) }, 200))
    .openapi(one, async (c) => {
      const p = c.req.valid('param');
      return c.json(await env.get(c.get('user'), p.ref, p.key), 200);
    })
    .openapi(put, async (c) => {
      const b = c.req.valid('json');
      return c.json({ env: await env.set(c.get('user'), c.req.valid('param').ref, b.vars ?? {}, b.secrets ?? {}) }, 200);
    })
    .openapi(unset, async (c) => {
      const p = c.req.valid('param');
      await env.unset(c.get('user'), p.ref, p.key);
      return c.body(null, 204);
    });
}
