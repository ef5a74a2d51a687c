// HTTP routes for a function's dead letters: list, replay (202, a new queued call), delete one or all.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { json, pageQuery, fnRef, unauthenticated, fnNotFound, problem, type Same, authed } from '../http/schemas.js';
import { AsyncAccepted } from '../invocations/invoke.routes.js';
import type { DeadLettersService } from './dead-letters.service.js';
import { TRIGGERS } from '../executions/records.js';
import type * as api from '../../../common/api-types.js';

const DeadLetterSchema = z
  .object({
    id: z.string().openapi({ description: 'the call’s id: GET /api/executions/{id} shows it whole' }),
    executionId: z.string().nullable().openapi({ description: 'the last attempt’s execution record' }),
    functionId: z.string(),
    trigger: z.enum(TRIGGERS),
    request: z.object({ method: z.string(), path: z.string(), bytes: z.number() }),
    attempts: z.number(),
    lastStatus: z.string(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    failedAt: z.string(),
  })
  .openapi('DeadLetter');
const DeadLetterList = z.object({ deadLetters: z.array(DeadLetterSchema), nextCursor: z.string().nullable() });
true satisfies Same<z.infer<typeof DeadLetterList>, api.DeadLetterList>;

const letter = fnRef.extend({ id: z.string().max(64) });
const noLetter = problem('No such dead letter of the function');

export function deadLettersRoutes(deadLetters: DeadLettersService, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const list = createRoute({
    ...auth,
    method: 'get',
    path: '/{ref}/dead-letters',
    summary: 'The function’s dead letters: async calls that failed after their last attempt, the newest first',
    request: { params: fnRef, query: pageQuery() },
    responses: { 200: json('Dead letters', DeadLetterList), 401: unauthenticated, 404: fnNotFound },
  });
  const replay = createRoute({
    ...auth,
    method: 'post',
    path: '/{ref}/dead-letters/{id}/replay',
    summary: 'Queue the dead letter’s request again as a new call; the dead letter leaves the list',
    request: { params: letter },
    responses: { 202: json('Queued', AsyncAccepted), 401: unauthenticated, 404: noLetter, 409: problem('Replayed already (already_replayed)') },
  });
  const removeOne = createRoute({
    ...auth,
    method: 'delete',
    path: '/{ref}/dead-letters/{id}',
    summary: 'Delete a dead letter',
    request: { params: letter },
    responses: { 204: { description: 'Deleted' }, 401: unauthenticated, 404: noLetter },
  });
  const removeAll = createRoute({
    ...auth,
    method: 'delete',
    path: '/{ref}/dead-letters',
    summary: 'Delete all of the function’s dead letters',
    request: { params: fnRef },
    responses: { 200: json('How many', z.object({ deleted: z.number() })), 401: unauthenticated, 404: fnNotFound },
  });

  return new OpenAPIHono<AppEnv>()
    .openapi(list, async (c) => {
      const q = c.req.valid('query');
      return c.json(await deadLetters.list(c.get('user'), c.req.valid('param').ref, q.limit, q.cursor), 200);
    })
    .openapi(replay, async (c) => {
      const p = c.req.valid('param');
      const queued = await deadLetters.replay(c.get('user'), p.ref, p.id);
      return c.json(queued, 202, { Location: queued.statusUrl });
    })
    .openapi(removeOne, async (c) => {
      const p = c.req.valid('param');
      await deadLetters.remove(c.get('user'), p.ref, p.id);
      return c.body(null, 204);
    })
    .openapi(removeAll, async (c) => c.json({ deleted: await deadLetters.remove(c.get('user'), c.req.valid('param').ref) }, 200));
}
