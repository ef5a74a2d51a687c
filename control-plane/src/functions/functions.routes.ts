// HTTP routes for functions themselves: create, list, read, change settings, delete.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { problem, json, jsonBody, pageQuery, fnRef, unauthenticated, fnNotFound, authed, forbidden } from '../http/schemas.js';
import type { FunctionsService } from './functions.service.js';
import { FunctionSchema, FunctionSettings } from './functions.view.js';

export function functionsRoutes(fns: FunctionsService, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const create = createRoute({
    ...auth,
    method: 'post',
    path: '/',
    summary: 'Create a function in a team (team: its handle; default: the Cpub-Team header’s, else the personal team); needs functions:write there',
    request: { body: jsonBody(FunctionSettings.extend({ name: z.string().max(63), team: z.string().max(63).optional() })) },
    responses: { 201: json('Created', z.object({ function: FunctionSchema })), 400: problem('Bad name or setting (named)'), 401: unauthenticated, 403: forbidden, 404: problem('No such team of yours (team_not_found)'), 409: problem('Name taken') },
  });
  const list = createRoute({
    ...auth,
    method: 'get',
    path: '/',
    summary: 'The functions of the request’s team (Cpub-Team; default: the personal team), newest first',
    request: { query: pageQuery() },
    responses: { 200: json('Functions', z.object({ functions: z.array(FunctionSchema), nextCursor: z.string().nullable() })), 401: unauthenticated, 403: forbidden, 404: problem('No such team of yours (team_not_found)') },
  });
  const get = createRoute({
    ...auth,
    method: 'get',
    path: '/{ref}',
    summary: 'One function with its active version, limits and URL',
    request: { params: fnRef },
    responses: { 200: json('Function', z.object({ function: FunctionSchema })), 401: unauthenticated, 404: fnNotFound },
  });
  const patch = createRoute({
    ...auth,
    method: 'patch',
    path: '/{ref}',
    summary: 'Change limits, auth or network (new containers pick it up; warm ones are recycled)',
    request: { params: fnRef, body: jsonBody(FunctionSettings) },
    responses: { 200: json('Function', z.object({ function: FunctionSchema })), 400: problem('Bad setting (named)'), 401: unauthenticated, 403: forbidden, 404: fnNotFound },
  });
  const remove = createRoute({
    ...auth,
    method: 'delete',
    path: '/{ref}',
    summary: 'Delete the function, its versions, executions, keys, env, containers and images',
    request: { params: fnRef },
    responses: { 204: { description: 'Deleted' }, 401: unauthenticated, 403: forbidden, 404: fnNotFound },
  });

  return new OpenAPIHono<AppEnv>()
    .openapi(create, async (c) => c.json({ function: await fns.create(c.get('user'), c.req.valid('json')) }, 201))
    .openapi(list, async (c) => {
      const q = c.req.valid('query');
      return c.json(await fns.list(c.get('user'), q.limit, q.cursor), 200);
    })
    .openapi(get, async (c) => c.json({ function: await fns.get(c.get('user'), c.req.valid('param').ref) }, 200))
    .openapi(patch, async (c) => c.json({ function: await fns.update(c.get('user'), c.req.valid('param').ref, c.req.valid('json')) }, 200))
    .openapi(remove, async (c) => {
      await fns.delete(c.get('user'), c.req.valid('param').ref);
      return c.body(null, 204);
    });
}
