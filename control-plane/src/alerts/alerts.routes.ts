// HTTP routes of alerting: the alerts (open and past), rules, channels (with a test send) and silences — a team's,
// or with `fleet` (a query flag or a body field) the fleet's, for server administrators.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { json, jsonBody, unauthenticated, problem, forbidden, authed, type Same } from '../http/schemas.js';
import { CHANNEL_TYPES, type AlertsService } from './alerts.service.js';
import { RULE_KINDS, RuleParamsSchema } from './rules.js';
import type * as api from '../../../common/api-types.js';

const AlertSchema = z
  .object({
    id: z.string(),
    ruleId: z.string(),
    rule: z.string(),
    kind: z.string(),
    severity: z.string(),
    state: z.enum(['pending', 'firing', 'resolved']),
    summary: z.string(),
    function: z.string().nullable(),
    labels: z.record(z.string(), z.string()),
    value: z.number(),
    threshold: z.number(),
    startedAt: z.string(),
    firedAt: z.string().nullable(),
    resolvedAt: z.string().nullable(),
    silenced: z.boolean(),
  })
  .openapi('Alert');
true satisfies Same<z.infer<typeof AlertSchema>, api.AlertView>;

const RuleSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.string(),
    fleet: z.boolean(),
    builtin: z.boolean(),
    function: z.string().nullable(),
    enabled: z.boolean(),
    params: z.record(z.string(), z.unknown()),
  })
  .openapi('AlertRule');
true satisfies Same<z.infer<typeof RuleSchema>, api.AlertRuleView>;

const ChannelSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.enum(CHANNEL_TYPES),
    target: z.string(),
    fleet: z.boolean(),
    createdAt: z.string(),
    lastDelivery: z.object({ state: z.enum(['pending', 'delivered', 'failed']), attempts: z.number(), error: z.string().nullable(), at: z.string() }).nullable(),
  })
  .openapi('AlertChannel');
true satisfies Same<z.infer<typeof ChannelSchema>, api.AlertChannelView>;

const SilenceSchema = z
  .object({
    id: z.string(),
    fleet: z.boolean(),
    ruleId: z.string().nullable(),
    function: z.string().nullable(),
    kind: z.string().nullable(),
    subject: z.string().nullable(),
    comment: z.string(),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    endsAt: z.string(),
  })
  .openapi('AlertSilence');
true satisfies Same<z.infer<typeof SilenceSchema>, api.AlertSilenceView>;

const fleetQuery = z.object({ fleet: z.enum(['true', 'false']).optional().openapi({ description: 'true: the fleet’s (server administrators)' }) });
const isFleet = (q: { fleet?: 'true' | 'false' | undefined }) => q.fleet === 'true';
const id = z.object({ id: z.string().max(64) });
const name = z.string().min(1).max(80);
const fleetField = z.boolean().optional().openapi({ description: 'a fleet rule, channel or silence (server administrators)' });

const CreateRule = z.object({
  name: name.optional(),
  kind: z.enum(RULE_KINDS),
  function: z.string().min(1).max(100).optional().openapi({ description: 'one function (id or name); unset: every function of the team (or, fleet-wide, every function)' }),
  fleet: fleetField,
  enabled: z.boolean().optional(),
  params: RuleParamsSchema.optional(),
});
const ChangeRule = z.object({ name: name.optional(), enabled: z.boolean().optional(), params: RuleParamsSchema.optional() });
const CreateChannel = z.object({
  name,
  type: z.enum(CHANNEL_TYPES).openapi({ description: 'webhook: Alertmanager’s webhook JSON, signed (X-Cpub-Signature); slack: an incoming webhook; alertmanager: its /api/v2/alerts; email: through CPUB_SMTP_URL' }),
  url: z.string().max(2048).optional(),
  to: z.array(z.string().max(254)).min(1).max(10).optional(),
  fleet: fleetField,
});
const CreateSilence = z.object({
  ruleId: z.string().max(64).optional(),
  function: z.string().min(1).max(100).optional(),
  kind: z.enum(RULE_KINDS).optional(),
  subject: z.string().min(1).max(200).optional().openapi({ description: 'a node, an account or address, or a function’s team/name' }),
  durationSec: z.number().int().min(60).max(90 * 86_400).openapi({ description: 'how long it lasts (1 minute to 90 days)' }),
  comment: z.string().max(500).optional(),
  fleet: fleetField,
});

export function alertsRoutes(alerts: AlertsService, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const adminOnly = problem('fleet=true by someone not a server administrator (admin_only), or a role that may not (role_forbids)');
  const list = createRoute({
    ...auth,
    method: 'get',
    path: '/alerts',
    summary: 'Alerts, newest first: open ones (state=open: pending and firing), firing, resolved, or all that fired',
    request: {
      query: fleetQuery.extend({
        state: z.enum(['open', 'firing', 'resolved', 'all']).default('all'),
        function: z.string().max(100).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
    },
    responses: { 200: json('Alerts', z.object({ alerts: z.array(AlertSchema) })), 401: unauthenticated, 403: adminOnly },
  });
  const rules = createRoute({ ...auth, method: 'get', path: '/alerts/rules', summary: 'The rules in force: the built-in ones and the team’s (or the fleet’s)', request: { query: fleetQuery }, responses: { 200: json('Rules', z.object({ rules: z.array(RuleSchema) })), 401: unauthenticated, 403: adminOnly } });
  const addRule = createRoute({
    ...auth,
    method: 'post',
    path: '/alerts/rules',
    summary: 'Add a rule (function rules for a team; node and security rules fleet-wide)',
    request: { body: jsonBody(CreateRule) },
    responses: { 201: json('Created', z.object({ rule: RuleSchema })), 400: problem('Not a rule (invalid_rule, too_many_rules), or a field the route does not know'), 401: unauthenticated, 403: adminOnly, 404: problem('No such function in your teams') },
  });
  const changeRule = createRoute({
    ...auth,
    method: 'patch',
    path: '/alerts/rules/{id}',
    summary: 'Change a rule: its name, enabled, or parameters (merged with those it has); built-in rules by administrators',
    request: { params: id, body: jsonBody(ChangeRule) },
    responses: { 200: json('The rule', z.object({ rule: RuleSchema })), 400: problem('Not a rule, or a field the route does not know'), 401: unauthenticated, 403: forbidden, 404: problem('No such rule of yours') },
  });
  const removeRule = createRoute({
    ...auth,
    method: 'delete',
    path: '/alerts/rules/{id}',
    summary: 'Delete a rule (a built-in one goes back to its defaults); its open alerts resolve',
    request: { params: id },
    responses: { 204: { description: 'Deleted' }, 401: unauthenticated, 403: forbidden, 404: problem('No such rule of yours') },
  });
  const channels = createRoute({ ...auth, method: 'get', path: '/alerts/channels', summary: 'Where alerts are sent, each with its latest delivery', request: { query: fleetQuery }, responses: { 200: json('Channels', z.object({ channels: z.array(ChannelSchema) })), 401: unauthenticated, 403: adminOnly } });
  const addChannel = createRoute({
    ...auth,
    method: 'post',
    path: '/alerts/channels',
    summary: 'Add a channel; a webhook’s signing secret is in this answer only',
    request: { body: jsonBody(CreateChannel) },
    responses: {
      201: json('Created', z.object({ channel: ChannelSchema, secret: z.string().nullable().openapi({ description: 'webhook: the HMAC-SHA256 key of X-Cpub-Signature (base64 of HMAC(secret, timestamp + ":" + body))' }) })),
      400: problem('Not a channel (invalid_channel: a private address unless CPUB_DESTINATION_ALLOW allows it; smtp_not_configured; channel_exists), or a field the route does not know'),
      401: unauthenticated,
      403: adminOnly,
    },
  });
  const removeChannel = createRoute({ ...auth, method: 'delete', path: '/alerts/channels/{id}', summary: 'Delete a channel', request: { params: id }, responses: { 204: { description: 'Deleted' }, 401: unauthenticated, 403: forbidden, 404: problem('No such channel of yours') } });
  const testChannel = createRoute({
    ...auth,
    method: 'post',
    path: '/alerts/channels/{id}/test',
    summary: 'Send a test alert to the channel now (once, not retried) and say how it went',
    request: { params: id },
    responses: { 200: json('Sent, or why not', z.object({ delivered: z.boolean(), error: z.string().nullable() })), 401: unauthenticated, 403: forbidden, 404: problem('No such channel of yours') },
  });
  const silencesList = createRoute({ ...auth, method: 'get', path: '/alerts/silences', summary: 'Silences in force', request: { query: fleetQuery }, responses: { 200: json('Silences', z.object({ silences: z.array(SilenceSchema) })), 401: unauthenticated, 403: adminOnly } });
  const addSilence = createRoute({
    ...auth,
    method: 'post',
    path: '/alerts/silences',
    summary: 'Hold back deliveries of matching alerts for a while (they are still tracked and listed); when it ends, what it held back is sent if it still holds (an alert still firing, one that resolved after its firing was sent)',
    request: { body: jsonBody(CreateSilence) },
    responses: { 201: json('Created', z.object({ silence: SilenceSchema })), 400: problem('Not a silence (invalid_silence), or a field the route does not know'), 401: unauthenticated, 403: adminOnly, 404: problem('No such rule or function of yours') },
  });
  const endSilence = createRoute({ ...auth, method: 'delete', path: '/alerts/silences/{id}', summary: 'End a silence now (what it held back is sent as when it ends on its own)', request: { params: id }, responses: { 204: { description: 'Ended' }, 401: unauthenticated, 403: forbidden, 404: problem('No such silence in force') } });

  return new OpenAPIHono<AppEnv>()
    .openapi(list, async (c) => {
      const q = c.req.valid('query');
      return c.json({ alerts: await alerts.alerts(c.get('user'), { fleet: isFleet(q), state: q.state, limit: q.limit, function: q.function }) }, 200);
    })
    .openapi(rules, async (c) => c.json({ rules: await alerts.rules(c.get('user'), isFleet(c.req.valid('query'))) }, 200))
    .openapi(addRule, async (c) => c.json({ rule: await alerts.createRule(c.get('user'), c.req.valid('json')) }, 201))
    .openapi(changeRule, async (c) => c.json({ rule: await alerts.updateRule(c.get('user'), c.req.valid('param').id, c.req.valid('json')) }, 200))
    .openapi(removeRule, async (c) => {
      await alerts.deleteRule(c.get('user'), c.req.valid('param').id);
      return c.body(null, 204);
    })
    .openapi(channels, async (c) => c.json({ channels: await alerts.channels(c.get('user'), isFleet(c.req.valid('query'))) }, 200))
    .openapi(addChannel, async (c) => c.json(await alerts.createChannel(c.get('user'), c.req.valid('json')), 201))
    .openapi(removeChannel, async (c) => {
      await alerts.deleteChannel(c.get('user'), c.req.valid('param').id);
      return c.body(null, 204);
    })
    .openapi(testChannel, async (c) => c.json(await alerts.testChannel(c.get('user'), c.req.valid('param').id), 200))
    .openapi(silencesList, async (c) => c.json({ silences: await alerts.silences(c.get('user'), isFleet(c.req.valid('query'))) }, 200))
    .openapi(addSilence, async (c) => c.json({ silence: await alerts.createSilence(c.get('user'), c.req.valid('json')) }, 201))
    .openapi(endSilence, async (c) => {
      await alerts.endSilence(c.get('user'), c.req.valid('param').id);
      return c.body(null, 204);
    });
}
