// HTTP routes for the record of calls: a function's executions, one execution, and a function's log lines
// (recent, or followed live over Server-Sent Events). Mounted at /api.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { EventEmitter } from 'node:events';
import type { AppEnv } from '../http/env.js';
import { json, pageQuery, fnRef, unauthenticated, fnNotFound, problem, type Same, authed } from '../http/schemas.js';
import { EXECUTION_STATUSES } from '../../../proto/outcomes.js';
import type { ExecutionsService } from './executions.service.js';
import { ExecutionSchema } from './executions.view.js';
import { AsyncCallSchema } from '../async-calls/async-calls.view.js';
import { liveLogStream } from './live-logs.js';
import type * as api from '../../../common/api-types.js';

const LogLine = z.object({ executionId: z.string(), atMs: z.number(), stream: z.string(), level: z.string(), message: z.string() }).openapi('LogLine');
true satisfies Same<z.infer<typeof LogLine>, api.LogLine>;

export function executionsRoutes(executions: ExecutionsService, liveLogs: EventEmitter, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const list = createRoute({
    ...auth,
    method: 'get',
    path: '/functions/{ref}/executions',
    summary: 'Calls of the function, newest first',
    request: {
      params: fnRef,
      query: pageQuery().extend({
        status: z.enum(EXECUTION_STATUSES).optional(),
        since: z.string().max(40).optional().openapi({ description: 'ISO time or a duration like 10m, 24h' }),
      }),
    },
    responses: { 200: json('Executions', z.object({ executions: z.array(ExecutionSchema), nextCursor: z.string().nullable() })), 401: unauthenticated, 404: fnNotFound },
  });
  const get = createRoute({
    ...auth,
    method: 'get',
    path: '/executions/{id}',
    summary: 'One call of one of the caller’s functions, with its logs; for the id of a queued call (Prefer: respond-async), that call: queued, running, succeeded or failed, its attempts and its answer',
    request: { params: z.object({ id: z.string().max(64) }) },
    responses: { 200: json('Execution, or queued call', z.union([z.object({ execution: ExecutionSchema }), z.object({ call: AsyncCallSchema })])), 401: unauthenticated, 404: problem('No such execution (or not yours)') },
  });
  const logs = createRoute({
    ...auth,
    method: 'get',
    path: '/functions/{ref}/logs',
    summary: 'The log lines of the function’s calls, oldest first; with follow=true, then each new line as a Server-Sent Event (`log`)',
    request: {
      params: fnRef,
      query: z.object({
        since: z.string().max(40).optional().openapi({ description: 'ISO time or a duration like 10m (1h by default)' }),
        limit: z.string().max(10).optional().openapi({ description: '1–1000 lines (200)' }),
        follow: z.enum(['true', 'false']).optional(),
      }),
    },
    responses: {
      200: { description: 'Lines', content: { 'application/json': { schema: z.object({ lines: z.array(LogLine) }) }, 'text/event-stream': { schema: { type: 'string' } } } },
      401: unauthenticated,
      404: fnNotFound,
    },
  });

  return new OpenAPIHono<AppEnv>()
    .openapi(list, async (c) => c.json(await executions.list(c.get('user'), c.req.valid('param').ref, c.req.valid('query')), 200))
    .openapi(get, async (c) => c.json(await executions.get(c.get('user'), c.req.valid('param').id), 200))
    .openapi(logs, async (c) => {
      const q = c.req.valid('query');
      const limit = Math.min(Math.max(Number(q.limit ?? 200) || 200, 1), 1000);
      const recent = await executions.recentLines(c.get('user'), c.req.valid('param').ref, q.since ?? '1h', limit);
      if (q.follow !== 'true') return c.json({ lines: recent.lines }, 200);
      return liveLogStream(c, liveLogs, recent.functionId, recent.lines);
    });
}
