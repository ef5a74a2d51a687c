// HTTP routes for a function's schedules: list, create, show, change (timing, payload, overlap, catch-up, pause),
// delete.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { json, jsonBody, fnRef, unauthenticated, fnNotFound, problem, type Same, authed } from '../http/schemas.js';
import type { SchedulesService } from './schedules.service.js';
import type * as api from '../../../common/api-types.js';

export const ScheduleSchema = z
  .object({
    id: z.string(),
    functionId: z.string(),
    cron: z.string().openapi({ description: 'five-field cron, a nickname (@hourly, @daily, …) or @every 30s' }),
    timezone: z.string(),
    payload: z.unknown().openapi({ description: 'the JSON body of its calls' }),
    overlap: z.enum(['skip', 'queue']),
    catchUp: z.enum(['none', 'last']),
    paused: z.boolean(),
    nextRunAt: z.string().nullable(),
    nextRuns: z.array(z.string()),
    lastRunAt: z.string().nullable(),
    lastCallId: z.string().nullable(),
    fired: z.number(),
    skipped: z.number(),
    createdAt: z.string(),
  })
  .openapi('Schedule');
true satisfies Same<z.infer<typeof ScheduleSchema>, api.ScheduleView>;

const fields = {
  cron: z.string().min(1).max(200).openapi({ description: 'minute hour day-of-month month day-of-week (standard cron), @hourly/@daily/…, or @every <interval> (30s, 5m, 1h30m)' }),
  timezone: z.string().min(1).max(64).openapi({ description: 'IANA time zone the cron is read in (UTC by default)' }),
  payload: z.unknown().openapi({ description: 'JSON sent as the body of each call (at most 64 KiB)' }),
  overlap: z.enum(['skip', 'queue']).openapi({ description: 'skip (default): do not fire while the previous call is queued or running' }),
  catchUp: z.enum(['none', 'last']).openapi({ description: 'ticks missed while no control plane ran: none (default) or the last of them' }),
  paused: z.boolean(),
};
const CreateSchedule = z.object({
  cron: fields.cron,
  timezone: fields.timezone.default('UTC'),
  payload: fields.payload.optional(),
  overlap: fields.overlap.default('skip'),
  catchUp: fields.catchUp.default('none'),
  paused: fields.paused.default(false),
});
const ChangeSchedule = z.object({
  cron: fields.cron.optional(),
  timezone: fields.timezone.optional(),
  payload: fields.payload.optional(),
  overlap: fields.overlap.optional(),
  catchUp: fields.catchUp.optional(),
  paused: fields.paused.optional(),
});

const one = fnRef.extend({ id: z.string().max(64) });
const noSchedule = problem('No such schedule of the function');
const One = z.object({ schedule: ScheduleSchema });

export function schedulesRoutes(schedules: SchedulesService, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const list = createRoute({
    ...auth,
    method: 'get',
    path: '/{ref}/schedules',
    summary: 'The function’s schedules, with their next run times',
    request: { params: fnRef },
    responses: { 200: json('Schedules', z.object({ schedules: z.array(ScheduleSchema) })), 401: unauthenticated, 404: fnNotFound },
  });
  const create = createRoute({
    ...auth,
    method: 'post',
    path: '/{ref}/schedules',
    summary: 'Run the function on a schedule: each tick queues an async call (retries and dead letters apply)',
    request: { params: fnRef, body: jsonBody(CreateSchedule) },
    responses: {
      201: json('Created', One),
      400: problem('Not a schedule (invalid_schedule), or a field the route does not know'),
      401: unauthenticated,
      404: fnNotFound,
      409: problem('The function has as many schedules as it may (too_many_schedules)'),
      413: problem('The payload is over 64 KiB'),
    },
  });
  const show = createRoute({
    ...auth,
    method: 'get',
    path: '/{ref}/schedules/{id}',
    summary: 'One schedule',
    request: { params: one },
    responses: { 200: json('The schedule', One), 401: unauthenticated, 404: noSchedule },
  });
  const change = createRoute({
    ...auth,
    method: 'patch',
    path: '/{ref}/schedules/{id}',
    summary: 'Change a schedule, or pause and resume it (a new timing, or a resume, counts its ticks from now)',
    request: { params: one, body: jsonBody(ChangeSchedule) },
    responses: { 200: json('The schedule', One), 400: problem('Not a schedule, or a field the route does not know'), 401: unauthenticated, 404: noSchedule, 413: problem('The payload is over 64 KiB') },
  });
  const remove = createRoute({
    ...auth,
    method: 'delete',
    path: '/{ref}/schedules/{id}',
    summary: 'Delete a schedule (calls it queued already still run)',
    request: { params: one },
    responses: { 204: { description: 'Deleted' }, 401: unauthenticated, 404: noSchedule },
  });

  return new OpenAPIHono<AppEnv>()
    .openapi(list, async (c) => c.json({ schedules: await schedules.list(c.get('user'), c.req.valid('param').ref) }, 200))
    .openapi(create, async (c) => c.json({ schedule: await schedules.create(c.get('user'), c.req.valid('param').ref, c.req.valid('json')) }, 201))
    .openapi(show, async (c) => {
      const p = c.req.valid('param');
      return c.json({ schedule: await schedules.get(c.get('user'), p.ref, p.id) }, 200);
    })
    .openapi(change, async (c) => {
      const p = c.req.valid('param');
      return c.json({ schedule: await schedules.update(c.get('user'), p.ref, p.id, c.req.valid('json')) }, 200);
    })
    .openapi(remove, async (c) => {
      const p = c.req.valid('param');
      await schedules.remove(c.get('user'), p.ref, p.id);
      return c.body(null, 204);
    });
}
