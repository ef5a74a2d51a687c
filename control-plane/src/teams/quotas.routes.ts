// HTTP routes for a team's quotas: its usage (members) and setting them (server administrators).
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { problem, json, jsonBody, unauthenticated, authed, forbidden, type Same } from '../http/schemas.js';
import { QUOTA_NAMES, QuotasSchema, type QuotaKeeper } from './quotas.js';
import type * as api from '../../../common/api-types.js';

const Usage = z
  .object({
    team: z.string(),
    quotas: z.array(z.object({ name: z.string().openapi({ description: QUOTA_NAMES.join(', ') }), limit: z.number().nullable().openapi({ description: 'null: none' }), used: z.number() })),
  })
  .openapi('TeamUsage');
true satisfies Same<z.infer<typeof Usage>, api.TeamUsageView>;
const teamParam = z.object({ team: z.string().max(63) });

export function quotasRoutes(quotas: QuotaKeeper, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const usage = createRoute({
    ...auth,
    method: 'get',
    path: '/teams/{team}/usage',
    summary: 'The team’s quotas and its use of each (calls and CPU over the last 24 hours)',
    request: { params: teamParam },
    responses: { 200: json('Usage', Usage), 401: unauthenticated, 403: forbidden, 404: problem('No such team of yours') },
  });
  const set = createRoute({
    ...auth,
    method: 'put',
    path: '/teams/{team}/quotas',
    summary: `Set a team’s quotas (server administrators): ${QUOTA_NAMES.join(', ')}; a number, or null to lift it`,
    request: { params: teamParam, body: jsonBody(QuotasSchema) },
    responses: { 200: json('Usage', Usage), 400: problem('A quota the server does not know, or a bad number (named)'), 401: unauthenticated, 403: problem('Not a server administrator'), 404: problem('No such team') },
  });
  return new OpenAPIHono<AppEnv>()
    .openapi(usage, async (c) => c.json(await quotas.usage(c.get('user'), c.req.valid('param').team), 200))
    .openapi(set, async (c) => c.json(await quotas.set(c.get('user'), c.req.valid('param').team, c.req.valid('json')), 200));
}
