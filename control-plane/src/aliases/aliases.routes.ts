// HTTP routes for a function's aliases: list, create, show, change (version, weights, sticky), delete.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { json, jsonBody, fnRef, unauthenticated, fnNotFound, problem, type Same, authed } from '../http/schemas.js';
import type { AliasesService } from './aliases.service.js';
import type * as api from '../../../common/api-types.js';
import { STICKY } from '../../../common/weights.js';

export const AliasSchema = z
  .object({
    name: z.string(),
    version: z.number().int().nullable(),
    weights: z.record(z.string(), z.number()).nullable(),
    sticky: z.string().nullable(),
    minInstances: z.number().openapi({ description: 'containers of its version(s) kept started across the fleet (its warm floor; live’s is the function’s minInstances)' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Alias');
true satisfies Same<z.infer<typeof AliasSchema>, api.AliasView>;

const fields = {
  version: z.number().int().min(1).openapi({ description: 'a ready version of the function' }),
  weights: z
    .record(z.string(), z.number())
    .nullable()
    .openapi({ description: 'a split: {"<version>": percent, …} (2–5 ready versions, whole percents summing to 100); null ends a split', example: { '1': 90, '2': 10 } }),
  sticky: z
    .string()
    .regex(STICKY, 'header:<name> or cookie:<name>')
    .nullable()
    .openapi({ description: 'header:<name> or cookie:<name>: a caller sending it gets the same version of a split every time' }),
  minInstances: z.number().int().min(0).max(100).openapi({ description: 'its warm floor: containers of its version(s) kept started across the fleet (at most the function’s maxInstances); live’s is the function’s minInstances' }),
};
const CreateAlias = z.object({ name: z.string().min(1).max(32), version: fields.version, weights: fields.weights.optional(), sticky: fields.sticky.optional(), minInstances: fields.minInstances.optional() });
const ChangeAlias = z.object({ version: fields.version.optional(), weights: fields.weights.optional(), sticky: fields.sticky.optional(), minInstances: fields.minInstances.optional() });

const one = fnRef.extend({ name: z.string().min(1).max(32) });
const noAlias = problem('No such alias of the function (or no such function)');
const One = z.object({ alias: AliasSchema });
const invalid = problem('Not an alias (invalid_alias, version_not_ready, invalid_weights, live_follows_active), or a field the route does not know');

export function aliasesRoutes(aliases: AliasesService, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const list = createRoute({
    ...auth,
    method: 'get',
    path: '/{ref}/aliases',
    summary: 'The function’s aliases: live (the active version, what its URL serves) first',
    request: { params: fnRef },
    responses: { 200: json('Aliases', z.object({ aliases: z.array(AliasSchema) })), 401: unauthenticated, 404: fnNotFound },
  });
  const create = createRoute({
    ...auth,
    method: 'post',
    path: '/{ref}/aliases',
    summary: 'Name a version (called at /fn/<owner>/<name>@<alias>/…), optionally split by weight with another',
    request: { params: fnRef, body: jsonBody(CreateAlias) },
    responses: { 201: json('Created', One), 400: invalid, 401: unauthenticated, 404: fnNotFound, 409: problem('The alias exists (alias_exists), or the function has as many as it may (too_many_aliases)') },
  });
  const show = createRoute({
    ...auth,
    method: 'get',
    path: '/{ref}/aliases/{name}',
    summary: 'One alias',
    request: { params: one },
    responses: { 200: json('The alias', One), 401: unauthenticated, 404: noAlias },
  });
  const change = createRoute({
    ...auth,
    method: 'patch',
    path: '/{ref}/aliases/{name}',
    summary: 'Point an alias at another version, split it by weight ({"weights": {"1": 90, "2": 10}}; null ends it), or make its split sticky',
    request: { params: one, body: jsonBody(ChangeAlias) },
    responses: { 200: json('The alias', One), 400: invalid, 401: unauthenticated, 404: noAlias },
  });
  const remove = createRoute({
    ...auth,
    method: 'delete',
    path: '/{ref}/aliases/{name}',
    summary: 'Delete an alias (live cannot be: it is the function’s default)',
    request: { params: one },
    responses: { 204: { description: 'Deleted' }, 401: unauthenticated, 404: noAlias, 409: problem('live cannot be deleted (live_alias)') },
  });

  return new OpenAPIHono<AppEnv>()
    .openapi(list, async (c) => c.json({ aliases: await aliases.list(c.get('user'), c.req.valid('param').ref) }, 200))
    .openapi(create, async (c) => c.json({ alias: await aliases.create(c.get('user'), c.req.valid('param').ref, c.req.valid('json')) }, 201))
    .openapi(show, async (c) => {
      const p = c.req.valid('param');
      return c.json({ alias: await aliases.get(c.get('user'), p.ref, p.name) }, 200);
    })
    .openapi(change, async (c) => {
      const p = c.req.valid('param');
      return c.json({ alias: await aliases.update(c.get('user'), p.ref, p.name, c.req.valid('json')) }, 200);
    })
    .openapi(remove, async (c) => {
      const p = c.req.valid('param');
      await aliases.remove(c.get('user'), p.ref, p.name);
      return c.body(null, 204);
    });
}
