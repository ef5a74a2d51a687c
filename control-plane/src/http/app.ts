// The HTTP app: middleware order and the route table, in one place.
import { bearerToken } from '../auth/bearer.js';
import { OpenAPIHono } from '@hono/zod-openapi';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type { AppEnv } from './env.js';
import type { Logger } from '../../../common/logger.js';
import type { Db } from '../db/connect.js';
import type { AuthService } from '../auth/auth.service.js';
import type { UsersService } from '../users/users.service.js';
import type { Fleet } from '../fleet/fleet.service.js';
import { fleetRoutes } from '../fleet/fleet.routes.js';
import { errorHandler, problemResponse } from './problem.js';
import { requestLog } from './request-log.js';
import { closeUnread } from './close-unread.js';
import { readJsonBody, readsJson } from './json-body.js';
import type { StorageCheck } from './storage-check.js';
import { clientIp } from './client-ip.js';
import { healthRoutes } from './health.routes.js';
import { authRoutes } from '../auth/auth.routes.js';
import { usersRoutes } from '../users/users.routes.js';
import { Invalid, TooLarge } from '../errors.js';
import { functionsRoutes } from '../functions/functions.routes.js';
import { deploymentsRoutes } from '../deployments/deployments.routes.js';
import { invokeRoutes } from '../invocations/invoke.routes.js';
import { executionsRoutes } from '../executions/executions.routes.js';
import { keysRoutes } from '../keys/keys.routes.js';
import { teamsRoutes } from '../teams/teams.routes.js';
import { quotasRoutes } from '../teams/quotas.routes.js';
import { tokensRoutes } from '../tokens/tokens.routes.js';
import { auditRoutes } from '../audit/audit.routes.js';
import { deadLettersRoutes } from '../async-calls/dead-letters.routes.js';
import { schedulesRoutes } from '../async-calls/schedules.routes.js';
import { aliasesRoutes } from '../aliases/aliases.routes.js';
import { scalingRoutes } from '../scheduling/scaling.routes.js';
import { canariesRoutes } from '../canaries/canaries.routes.js';
import { alertsRoutes } from '../alerts/alerts.routes.js';
import { destinationSecretRoutes } from '../async-calls/destination-secrets.js';
import { envRoutes } from '../env/env.routes.js';
import { statsRoutes } from '../stats/stats.routes.js';
import { CALL_BODY_LIMIT } from '../invocations/invocation.service.js';

/** A call's JSON (POST …/invoke) carries a body of up to 6 MB (base64 or text) and the function's headers. */
const CALL_JSON_LIMIT = Math.ceil(CALL_BODY_LIMIT * 1.4) + 64 * 1024;
import type { Features } from './features.js';
import { requireAdmin, requireAuth } from './auth-middleware.js';
import type { Registry } from 'prom-client';
import { credentialMatches } from '../../../proto/auth.js';
import { dashboardRoutes } from '../dashboard/dashboard.routes.js';
import type { Sealer } from '../secrets/crypto.js';

export interface AppDeps {
  log: Logger;
  db: Db;
  auth: AuthService;
  users: UsersService;
  fleet: Fleet;
  /** The services of the function features (functions, deployments, calls, records, keys, env, stats). */
  features: Features;
  metrics: { registry: Registry; token?: string | undefined };
  http: { bodyLimit: number; corsOrigins?: string[] | undefined; trustProxy: boolean; version: string };
  /** Whether the dashboard offers registration. */
  registration: 'open' | 'closed';
  /** CPUB_TRACE_URL: a trace UI's page, `{traceId}` in it (the dashboard links executions to their traces). */
  traceUrl?: string | undefined;
  /** Whether the server can write its data (for /ready). */
  storage: StorageCheck;
  /** The server's AES-256-GCM sealer (the dashboard seals a new key's secret for its one showing). */
  sealer: Sealer;
}

export function buildApp(d: AppDeps) {
  const app = new OpenAPIHono<AppEnv>({
    // Validation failures become a 400 problem naming the field.
    defaultHook: (result) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        // An unknown field is named as itself (`memoryMB`), not as the object that holds it.
        const unknown = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
        const field = [...(issue?.path ?? []), ...(unknown === undefined ? [] : [unknown])].join('.') || 'body';
        if (unknown !== undefined) throw Invalid('unknown_field', `${field}: no such field`, { field });
        throw Invalid('invalid_request', `${field}: ${issue?.message ?? 'invalid'}`, { field });
      }
    },
  });

  app.use('*', requestId());
  app.use('*', requestLog(d.log));
  app.use('*', secureHeaders());
  app.use('*', closeUnread());
  app.use('*', clientIp(d.http.trustProxy));
  if (d.http.corsOrigins?.length) {
    app.use(
      '/api/*',
      cors({ origin: d.http.corsOrigins, allowHeaders: ['Authorization', 'Content-Type', 'Cpub-Team'], exposeHeaders: ['X-Request-Id', 'Retry-After'], maxAge: 600 }),
    );
  }
  const tooLarge = () => TooLarge('payload_too_large', `request body is larger than ${d.http.bodyLimit} bytes`);
  const callTooLarge = () => TooLarge('body_too_large', `the call's body is over ${CALL_BODY_LIMIT} bytes`);
  const limit = bodyLimit({
    maxSize: d.http.bodyLimit,
    onError: () => {
      throw tooLarge();
    },
  });
  const callLimit = bodyLimit({
    maxSize: CALL_JSON_LIMIT,
    onError: () => {
      throw callTooLarge();
    },
  });
  // bodyLimit reads c.req.raw, which makes @hono/node-server build a full Request (≈50 µs): skip it for bodiless methods.
  // Uploads are capped by the artifact store as they stream (50 MB by default), calls by their own limit. A JSON
  // body is read here from Node's request, within the same limits (json-body.ts): no web Request or stream for it.
  app.use('/api/*', (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    if (c.req.method === 'POST' && /^\/api\/functions\/[^/]+\/deployments\/?$/.test(c.req.path)) return next();
    const call = c.req.method === 'POST' && /^\/api\/functions\/[^/]+\/invoke\/?$/.test(c.req.path);
    if (readsJson(c)) return call ? readJsonBody(c, next, CALL_JSON_LIMIT, callTooLarge) : readJsonBody(c, next, d.http.bodyLimit, tooLarge);
    return call ? callLimit(c, next) : limit(c, next);
  });

  app.route('/', healthRoutes(d.db, d.storage));
  app.route('/api/auth', authRoutes(d.auth));
  app.route('/api/users', usersRoutes(d.auth, d.users));
  app.route('/api', fleetRoutes(d.auth, d.fleet));
  const f = d.features;
  // Teams' resources also answer to scoped tokens (personal access and service tokens); account routes do not.
  const user = requireAuth(d.auth, f.tokens);
  app.route('/api', tokensRoutes(f.tokens, user));
  app.route('/api', teamsRoutes(f.teams, user));
  app.route('/api', quotasRoutes(f.quotas, user));
  app.route('/api', auditRoutes(f.audit, user));
  app.route('/api', alertsRoutes(f.alerts, user));
  app.route('/api/functions', functionsRoutes(f.functions, user));
  app.route('/api/functions', deploymentsRoutes(f.deployments, user));
  // Calls take the owner's access token or an API key of the function: the pipeline checks which (no `user` here).
  app.route('/api/functions', invokeRoutes(f.invocations));
  app.route('/api/functions', keysRoutes(f.keys, user));
  app.route('/api/functions', deadLettersRoutes(f.deadLetters, user));
  app.route('/api/functions', schedulesRoutes(f.schedules, user));
  app.route('/api/functions', aliasesRoutes(f.aliases, user));
  app.route('/api/functions', scalingRoutes(f.scaling, user));
  app.route('/api/functions', canariesRoutes(f.canaries, user));
  app.route('/api/functions', destinationSecretRoutes(f.destinationSecrets, user));
  app.route('/api/functions', envRoutes(f.env, user));
  app.route('/api', executionsRoutes(f.executions, f.liveLogs, user));
  app.route('/api', statsRoutes(f.stats, user));
  // Prometheus: a scraper with CPUB_METRICS_TOKEN, or an admin's access token.
  app.get('/metrics', async (c, next) => {
    const bearer = bearerToken(c.req.header('authorization'));
    if (!(d.metrics.token && bearer && credentialMatches(d.metrics.token, bearer))) {
      await requireAuth(d.auth)(c, async () => {});
      await requireAdmin()(c, async () => {});
    }
    void next;
    return c.body(await d.metrics.registry.metrics(), 200, { 'content-type': d.metrics.registry.contentType });
  });
  // The web dashboard: pages under /ui over the same services, cookie sessions with CSRF tokens.
  app.route('/ui', dashboardRoutes({ auth: d.auth, users: d.users, fleet: d.fleet, features: d.features, registration: d.registration, trustProxy: d.http.trustProxy, sealer: d.sealer, log: d.log, traceUrl: d.traceUrl }));
  app.get('/', (c) => c.redirect('/ui/functions'));
  // /fn/* (function URLs) never reaches this app: see invocations/function-url.ts and control-plane.ts.

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  app.doc31('/openapi.json', { openapi: '3.1.0', info: { title: 'ContainerPub API', version: d.http.version } });

  app.notFound((c) => problemResponse(c, 404, 'not_found', `no route for ${c.req.method} ${c.req.path}`));
  app.onError(errorHandler(d.log));
  return app;
}

export type App = ReturnType<typeof buildApp>;
