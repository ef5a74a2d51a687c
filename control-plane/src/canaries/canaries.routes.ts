// HTTP routes for a function's canaries: its history, start one for a ready version, promote or abort the one under
// way. (A deploy starts one too: POST …/deployments?canary=10&canaryWindowMs=600000.)
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { json, jsonBody, fnRef, unauthenticated, fnNotFound, problem, type Same, authed } from '../http/schemas.js';
import { CANARY_LIMITS, type CanariesService } from './canaries.service.js';
import type * as api from '../../../common/api-types.js';

const Numbers = z.object({ version: z.number(), calls: z.number(), errors: z.number(), p95Ms: z.number().nullable() });

export const CanarySchema = z
  .object({
    id: z.string(),
    version: z.number(),
    baseline: z.number().openapi({ description: 'the active version it is compared with, and what live returns to on a rollback' }),
    percent: z.number(),
    windowMs: z.number(),
    state: z.enum(['building', 'running', 'promoted', 'rolled_back', 'aborted', 'failed']),
    reason: z.string().nullable().openapi({ description: 'why it ended as it did (the numbers it was judged by); null while it runs' }),
    seen: z.object({ canary: Numbers, baseline: Numbers }).nullable().openapi({ description: 'the last comparison of the two versions since it started (calls, function failures, p95)' }),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    endsAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .openapi('Canary');
true satisfies Same<z.infer<typeof CanarySchema>, api.CanaryView>;

/** A canary's share and window, as a deploy's query or a POST's body gives them. */
export const canaryFields = {
  percent: z.number().int().min(CANARY_LIMITS.percent.min).max(CANARY_LIMITS.percent.max).openapi({ description: 'the share of live’s calls it gets, percent' }),
  windowMs: z.number().int().min(CANARY_LIMITS.windowMs.min).max(CANARY_LIMITS.windowMs.max).openapi({ description: 'how long it runs before it is promoted (10 s–24 h), unless it is rolled back first' }),
};

const StartCanary = z.object({ version: z.number().int().min(1).openapi({ description: 'a ready version other than the active one' }), ...canaryFields });
const One = z.object({ canary: CanarySchema });

export function canariesRoutes(canaries: CanariesService, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const list = createRoute({
    ...auth,
    method: 'get',
    path: '/{ref}/canaries',
    summary: 'The function’s canaries, newest first: the one under way and how each before it ended',
    request: { params: fnRef },
    responses: { 200: json('Canaries', z.object({ canaries: z.array(CanarySchema) })), 401: unauthenticated, 404: fnNotFound },
  });
  const start = createRoute({
    ...auth,
    method: 'post',
    path: '/{ref}/canaries',
    summary: 'Give a ready version a share of live’s calls for a window; it is promoted when it holds, rolled back on its own when its error rate or p95 is worse',
    request: { params: fnRef, body: jsonBody(StartCanary) },
    responses: {
      201: json('Started', One),
      400: problem('Not a canary (invalid_canary, version_active, version_not_ready), or a field the route does not know'),
      401: unauthenticated,
      404: fnNotFound,
      409: problem('No active version to compare with (no_baseline), a canary under way (canary_under_way), or live split already (live_split)'),
    },
  });
  const ending = (path: string, summary: string) =>
    createRoute({
      ...auth,
      method: 'post',
      path,
      summary,
      request: { params: fnRef },
      responses: { 200: json('Ended', One), 401: unauthenticated, 404: problem('No such function, or no canary under way (no_canary)'), 409: problem('Still building (canary_building), or it ended meanwhile (canary_moved)') },
    });
  const promote = ending('/{ref}/canaries/promote', 'Promote the canary under way now: its version becomes the active one');
  const abort = ending('/{ref}/canaries/abort', 'Abort the canary under way: live returns to the active version');

  return new OpenAPIHono<AppEnv>()
    .openapi(list, async (c) => c.json({ canaries: await canaries.list(c.get('user'), c.req.valid('param').ref) }, 200))
    .openapi(start, async (c) => c.json({ canary: await canaries.start(c.get('user'), c.req.valid('param').ref, c.req.valid('json')) }, 201))
    .openapi(promote, async (c) => c.json({ canary: await canaries.end(c.get('user'), c.req.valid('param').ref, true) }, 200))
    .openapi(abort, async (c) => c.json({ canary: await canaries.end(c.get('user'), c.req.valid('param').ref, false) }, 200));
}
