// GET /api/functions/:ref/scaling: how a function scales now (scaling.service.ts).
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { json, fnRef, unauthenticated, fnNotFound, type Same, authed } from '../http/schemas.js';
import type { ScalingService } from './scaling.service.js';
import type * as api from '../../../common/api-types.js';

const ScalingVersionSchema = z.object({
  version: z.number(),
  weight: z.number().openapi({ description: 'its share of live’s calls in percent (0: not live; containers left from before)' }),
  idle: z.number(),
  busy: z.number(),
  floorWanted: z.number().openapi({ description: 'containers its warm floor asks for (minInstances, shared by weight in a split)' }),
  floorHeld: z.number().openapi({ description: 'containers nodes hold for the floor (last heartbeats)' }),
  nodes: z.array(z.object({ node: z.string(), name: z.string(), idle: z.number(), busy: z.number(), floor: z.number(), keepAliveMs: z.number(), prewarmMs: z.number(), learned: z.boolean() })),
});

export const ScalingSchema = z
  .object({
    inFlight: z.number().openapi({ description: 'calls running now on this replica' }),
    waiting: z.number().openapi({ description: 'calls waiting for a slot on this replica (queueTimeoutMs)' }),
    queued: z.number().openapi({ description: 'async calls queued' }),
    capacity: z.number().openapi({ description: 'calls at once before a call waits: concurrency × maxInstances' }),
    minInstances: z.number(),
    maxInstances: z.number().openapi({ description: 'the fleet-wide cap on its containers' }),
    versions: z.array(ScalingVersionSchema),
    floorShortfall: z.string().nullable().openapi({ description: 'why the warm floor is not met; null: met, or not known on this replica' }),
  })
  .openapi('Scaling');
true satisfies Same<z.infer<typeof ScalingSchema>, api.ScalingView>;

export function scalingRoutes(scaling: ScalingService, user: MiddlewareHandler<AppEnv>) {
  const show = createRoute({
    ...authed(user),
    method: 'get',
    path: '/{ref}/scaling',
    summary: 'How the function scales now: calls in flight and waiting, its async queue, its containers per version and node, its warm floor and cap',
    request: { params: fnRef },
    responses: { 200: json('Scaling', z.object({ scaling: ScalingSchema })), 401: unauthenticated, 404: fnNotFound },
  });
  return new OpenAPIHono<AppEnv>().openapi(show, async (c) => c.json({ scaling: await scaling.get(c.get('user'), c.req.valid('param').ref) }, 200));
}
