// HTTP routes for the numbers of calls: per function, or across all of the caller's functions (the overview);
// for a period, or in hourly or daily buckets. Mounted at /api.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { json, fnRef, unauthenticated, fnNotFound, problem, type Same, authed } from '../http/schemas.js';
import { Invalid } from '../errors.js';
import type * as api from '../../../common/api-types.js';
import { PERIODS, type Period, type StatsService } from './stats.service.js';

export function periodOf(p: string | undefined): Period {
  const period = p ?? '24h';
  if (!(period in PERIODS)) throw Invalid('invalid_period', 'period must be 1h, 24h, 7d or 30d', { field: 'period' });
  return period as Period;
}

const Latency = { p50: z.number(), p95: z.number(), p99: z.number() };
const StatsSchema = z
  .object({
    period: z.string(),
    invocations: z.number(),
    successes: z.number(),
    errors: z.number(),
    errorRate: z.number(),
    latencyMs: z.object({ ...Latency, avg: z.number() }),
    coldStarts: z.number(),
    asyncAttempts: z.number().openapi({ description: 'calls that were attempts of async calls (counted in invocations too)' }),
    retries: z.number().openapi({ description: 'of those, attempts after the first' }),
    avgCpuMs: z.number(),
    maxMemoryBytes: z.number(),
  })
  .openapi('Stats');
const BucketSchema = z
  .object({ start: z.string(), invocations: z.number(), errors: z.number(), coldStarts: z.number(), asyncAttempts: z.number(), retries: z.number(), avgDurationMs: z.number(), latencyMs: z.object(Latency), avgCpuMs: z.number(), maxMemoryBytes: z.number() })
  .openapi('StatsBucket');
const Buckets = z.object({ buckets: z.array(BucketSchema) });
true satisfies Same<z.infer<typeof StatsSchema>, api.StatsSummary>;
true satisfies Same<z.infer<typeof Buckets>, api.StatsBuckets>;

// Bounds are checked by the service, which names the field (period: 1h|24h|7d|30d; hours 1–168; days 1–90).
const period = z.object({ period: z.string().max(8).optional().openapi({ description: '1h, 24h (default), 7d or 30d' }) });
const hours = z.object({ hours: z.string().max(8).optional().openapi({ description: '1–168 (24)' }) });
const days = z.object({ days: z.string().max(8).optional().openapi({ description: '1–90 (30)' }) });

export function statsRoutes(stats: StatsService, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const bad = problem('Bad period or range (named)');
  const route = <P extends string, Q extends z.ZodObject, S extends z.ZodType>(path: P, summary: string, query: Q, schema: S, withRef: boolean) =>
    createRoute({
      ...auth,
      method: 'get',
      path,
      summary,
      request: withRef ? { params: fnRef, query } : { query },
      responses: { 200: json(summary, schema), 400: bad, 401: unauthenticated, ...(withRef ? { 404: fnNotFound } : {}) },
    });
  const ref = (c: { req: { param(name: string): string | undefined } }) => c.req.param('ref');
  const app = new OpenAPIHono<AppEnv>();
  for (const withRef of [true, false]) {
    const base = withRef ? '/functions/{ref}/stats' : '/stats/overview';
    const whose = withRef ? 'the function’s calls' : 'the calls of all the caller’s functions';
    app.openapi(route(base, `Numbers of ${whose} over a period`, period, StatsSchema, withRef), async (c) =>
      c.json(await stats.summary(await stats.scope(c.get('user'), withRef ? ref(c) : undefined), periodOf(c.req.query('period'))), 200),
    );
    app.openapi(route(`${base}/hourly`, `Numbers of ${whose} per UTC hour, oldest first`, hours, Buckets, withRef), async (c) =>
      c.json({ buckets: await stats.buckets(await stats.scope(c.get('user'), withRef ? ref(c) : undefined), 'hour', Number(c.req.query('hours') ?? 24)) }, 200),
    );
    app.openapi(route(`${base}/daily`, `Numbers of ${whose} per UTC day, oldest first`, days, Buckets, withRef), async (c) =>
      c.json({ buckets: await stats.buckets(await stats.scope(c.get('user'), withRef ? ref(c) : undefined), 'day', Number(c.req.query('days') ?? 30)) }, 200),
    );
  }
  return app;
}
