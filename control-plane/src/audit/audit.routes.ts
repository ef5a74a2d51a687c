// HTTP routes for the audit trail: a team's (GET /api/teams/:team/audit, admins and owners of the team) and the
// server's (GET /api/audit, server administrators).
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { problem, json, unauthenticated, authed, forbidden, type Same } from '../http/schemas.js';
import type { AuditService } from './audit.service.js';
import type * as api from '../../../common/api-types.js';

const Entry = z
  .object({
    id: z.string(),
    at: z.string(),
    event: z.string(),
    actor: z.string().nullable().openapi({ description: 'who did it (their email)' }),
    team: z.string().nullable(),
    target: z.string().nullable().openapi({ description: 'what it was done to, as kind:name (function:api, member:ann@example.com)' }),
    before: z.unknown().openapi({ description: 'the settings before (never a secret value)' }),
    after: z.unknown(),
    detail: z.record(z.string(), z.unknown()),
    clientIp: z.string().nullable(),
  })
  .openapi('AuditEntry');
true satisfies Same<z.infer<typeof Entry>, api.AuditEntryView>;
const Page = z.object({ entries: z.array(Entry), nextCursor: z.string().nullable() });

const time = z.string().max(40).refine((v) => !Number.isNaN(Date.parse(v)), 'an ISO 8601 time, like 2026-12-01T00:00:00Z');
const Filters = z
  .object({
    event: z.string().max(64).optional(),
    actor: z.string().max(320).optional().openapi({ description: 'an actor’s email' }),
    target: z.string().max(200).optional().openapi({ description: 'kind:name, e.g. function:api' }),
    since: time.optional(),
    until: time.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().max(200).optional(),
  })
  .strict();

export function auditRoutes(audit: AuditService, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const team = createRoute({
    ...auth,
    method: 'get',
    path: '/teams/{team}/audit',
    summary: 'The team’s audit trail, newest first: who changed what, with before and after (team admins and owners)',
    request: { params: z.object({ team: z.string().max(63) }), query: Filters },
    responses: { 200: json('Entries', Page), 400: problem('Bad filter (named)'), 401: unauthenticated, 403: forbidden, 404: problem('No such team of yours') },
  });
  const all = createRoute({
    ...auth,
    method: 'get',
    path: '/audit',
    summary: 'The server’s audit trail, account events included (server administrators); team narrows it to one team',
    request: { query: Filters.extend({ team: z.string().max(63).optional() }) },
    responses: { 200: json('Entries', Page), 400: problem('Bad filter (named)'), 401: unauthenticated, 403: problem('Not an administrator'), 404: problem('No such team') },
  });
  return new OpenAPIHono<AppEnv>()
    .openapi(team, async (c) => c.json(await audit.forTeam(c.get('user'), c.req.valid('param').team, c.req.valid('query')), 200))
    .openapi(all, async (c) => c.json(await audit.all(c.get('user'), c.req.valid('query')), 200));
}
