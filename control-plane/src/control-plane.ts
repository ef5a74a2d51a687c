// Wires the control plane from its configuration: database → services → HTTP server. All wiring, no logic.
import { createServer as createHttpsServer } from 'node:https';
import { readPemFile } from '../../common/pem.js';
import { ArtifactStore } from './artifacts/artifact-store.js';
import { EnvService } from './env/env.service.js';
import { KeysService } from './keys/keys.service.js';
import { FunctionsService } from './functions/functions.service.js';
import { Builder } from './deployments/builder.js';
import { DeploymentsService } from './deployments/deployments.service.js';
import { CallAuth } from './invocations/call-auth.js';
import { InvocationService } from './invocations/invocation.service.js';
import { CallRecorder } from './executions/call-recorder.js';
import { ExecutionsService } from './executions/executions.service.js';
import { StatsService } from './stats/stats.service.js';
import { Metrics } from './metrics.js';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { functionUrlHandler, isFunctionUrl } from './invocations/function-url.js';
import type { Config } from './config.js';
import type { Logger } from '../../common/logger.js';
import { connectDb, type Db } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';
import { loadKeyMaterial } from './secrets/key-files.js';
import { createSealer } from './secrets/crypto.js';
import { createPasswordHasher } from './auth/passwords.js';
import { createTokenIssuer } from './auth/tokens.js';
import { DenylistCache } from './auth/denylist-cache.js';
import { Sessions } from './auth/sessions.js';
import { AuthService } from './auth/auth.service.js';
import { UsersService } from './users/users.service.js';
import { UserCache } from './users/user-cache.js';
import { Purger } from './maintenance/purge.js';
import { RollupFolder } from './stats/rollup-folder.js';
import { AsyncQueue } from './async-calls/async-queue.js';
import { AsyncDispatcher } from './async-calls/dispatcher.js';
import { Scheduler } from './async-calls/scheduler.js';
import { Deliverer } from './async-calls/deliverer.js';
import { AddressGuard } from './async-calls/destinations.js';
import { DestinationSecrets } from './async-calls/destination-secrets.js';
import { AliasesService } from './aliases/aliases.service.js';
import { FloorKeeper } from './scheduling/floor-keeper.js';
import { ScalingService } from './scheduling/scaling.service.js';
import { CanariesService } from './canaries/canaries.service.js';
import { TeamsService } from './teams/teams.service.js';
import { AuditService } from './audit/audit.service.js';
import { TokensService } from './tokens/tokens.service.js';
import { QuotaKeeper } from './teams/quotas.js';
import { SchedulesService } from './async-calls/schedules.service.js';
import { DeadLettersService } from './async-calls/dead-letters.service.js';
import { Idempotency } from './invocations/idempotency.js';
import { Leases } from './maintenance/lease.js';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Fleet } from './fleet/fleet.service.js';
import { buildApp, type App } from './http/app.js';
import { StorageCheck } from './http/storage-check.js';
import { VERSION } from '../../common/version.js';
import { AlertEvaluator } from './alerts/evaluator.js';
import { AlertNotifier } from './alerts/notifier.js';
import { AlertsService } from './alerts/alerts.service.js';
import { SecurityEvents } from './alerts/security-events.js';
import type { SecurityEvent } from './auth/auth.service.js';

export interface ControlPlane {
  app: App;
  db: Db;
  auth: AuthService;
  /** Listens; resolves with the URL it serves on. */
  start(): Promise<string>;
  /** Stops accepting, waits for in-flight work, closes the database. Idempotent. */
  stop(): Promise<void>;
}

export async function createControlPlane(config: Config, log: Logger): Promise<ControlPlane> {
  const keys = loadKeyMaterial(config);
  const db = connectDb(config);
  const applied = await migrateToLatest(db.kysely);
  if (applied.length) log.info({ applied }, 'migrations applied');

  const sealer = createSealer(keys.encryptionKey, keys.previousEncryptionKeys);
  const denylist = new DenylistCache(db.kysely, log);
  const issuer = createTokenIssuer(keys.jwtSecret);
  const sessions = new Sessions(issuer, denylist);
  const hasher = createPasswordHasher();
  const userCache = new UserCache(db.kysely);
  const metrics = new Metrics(db.kysely);
  // Security events count on /metrics and are kept for the security alert rules (which look at once).
  const securityEvents = new SecurityEvents(db.kysely, log, () => evaluator.wake());
  const securityEvent = (event: SecurityEvent, subject: string) => {
    metrics.securityEvent(event);
    securityEvents.record(event, subject);
  };
  const auth = new AuthService({ db: db.kysely, hasher, issuer, sessions, denylist, userCache, registration: config.registration, sealer, onSecurityEvent: securityEvent });
  const users = new UsersService({ db: db.kysely, hasher, sessions, userCache });
  const tokens = new TokensService(db.kysely, userCache);
  // This replica's name in the leases table: background work runs on one replica at a time.
  const leases = new Leases(db.kysely, `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`);
  const purger = new Purger(db.kysely, log, config.purgeEvery, config.executionRetention, leases, () => metrics.backgroundRun('purge'), undefined, undefined, db.recordDays, config.auditRetention);
  const folder = new RollupFolder(db.kysely, log, leases);
  const fleet = new Fleet(db.kysely, sealer, keys.joinToken, log, {
    agentCa: config.agentCa ? readPemFile(config.agentCa, 'CPUB_AGENT_CA') : undefined,
    heartbeatMs: config.heartbeat,
    downAfterMs: config.nodeTtl,
    leases,
    onBadJoin: (who) => securityEvent('bad_join_token', who),
  });
  // With several replicas (a shared database) artifacts are shared through the database.
  const artifacts = new ArtifactStore(config.dataDir, { maxCompressedBytes: config.artifactMaxBytes, maxUnpackedBytes: config.artifactMaxBytes * 5, maxFiles: 10_000 }, db.shared ? db.kysely : undefined, {
    idleMs: config.uploadIdleTimeout,
    totalMs: config.uploadTimeout,
  });
  // A function's settings, env or versions changed: what is cached about it goes.
  const changed = (functionId: string) => {
    deployments.forget(functionId);
    env.forget(functionId);
    functions.forget(functionId);
    dispatcher.forget(functionId);
    aliases.forget(functionId);
    floors.wake();
  };
  const guard = new AddressGuard(config.destinationAllow);
  const functions: FunctionsService = new FunctionsService({ db: db.kysely, publicUrl: config.publicUrl, destinations: { guard, sealer }, onChanged: changed, onDelete: (id) => deployments.beforeDelete(id), quotas: () => quotas });
  const stats = new StatsService(db.kysely, functions);
  const quotas = new QuotaKeeper({ db: db.kysely, stats, warmOf: (fv) => fleet.warmOf(fv) });
  const env = new EnvService(db.kysely, sealer, changed, functions);
  const envOf = (id: string) => env.forCall(id);
  const apiKeys = new KeysService(db.kysely, sealer, functions);
  const builder = new Builder({ db: db.kysely, fleet, artifacts, log, onActivated: changed, holdsActivation: (id, v) => canaries.holds(id, v), onHeld: (id, v) => canaries.begin(id, v), onBuild: (ms, ok) => metrics.build(ms, ok), agentWaitMs: config.buildAgentWait, leases, envOf, functionById: (id) => functions.byId(id) });
  const deployments: DeploymentsService = new DeploymentsService({ db: db.kysely, quotas: () => quotas, functions, builder, artifacts, fleet, log, onChanged: changed, canaries: { check: (fn, input) => canaries.check(fn, input), forDeploy: (fn, v, input, user) => canaries.forDeploy(fn, v, input, user) } });
  const recorder = new CallRecorder(db, log, { onCall: (fn, status, ms, cold) => metrics.call(fn.id, fn.name, status, ms, cold), sampleRate: config.executionSampling ?? null });
  const queue = new AsyncQueue(db.kysely);
  const idempotency = new Idempotency(db.kysely);
  const aliases = new AliasesService(db.kysely, functions);
  const invocations = new InvocationService({ callAuth: new CallAuth(auth, functions, apiKeys, tokens), deployments, fleet, recorder, log, envOf: (id) => env.cachedForCall(id) ?? env.forCall(id), queue, idempotency, aliases, quotas });
  // One replica at a time keeps the warm floors (the `warm-floor` lease).
  const floors = new FloorKeeper({ db: db.kysely, fleet, deployments, liveVersions: (fn) => aliases.liveVersions(fn), envOf, log, leases });
  // One replica at a time judges canaries (the `canaries` lease).
  const canaries: CanariesService = new CanariesService({ db: db.kysely, functions, log, leases, warmUp: (fn, v, n) => floors.warmUp(fn, v, n), warmCount: (id, v) => fleet.warmOf(`${id}@${v}`), onChanged: changed });
  // Every replica runs queued calls (claims in the database keep them apart).
  // One replica at a time delivers outcomes to destinations (the `destinations` lease).
  const deliverer = new Deliverer(db.kysely, sealer, guard, log, leases, { onDelivered: (d, result) => metrics.delivery(d.function_id, result) });
  const dispatcher = new AsyncDispatcher(db.kysely, invocations, log, { replica: leases.holder, claimMs: config.asyncClaim, onSettled: (fn, result) => metrics.asyncAttempt(fn.id, fn.name, result), onDelivery: () => deliverer.wake() });
  queue.onQueued((functionId) => dispatcher.wake(functionId));
  // One replica at a time fires schedules (the `schedules` lease); each tick is an async call.
  const scheduler = new Scheduler(db.kysely, queue, log, leases, { onTick: (s, result) => metrics.scheduleTick(s.function_id, result) });
  const executions = new ExecutionsService(db.kysely, functions);
  // One replica at a time evaluates the alert rules (the `alerts` lease) and sends what they find (`alert-deliveries`).
  const publicUrl = config.publicUrl ?? `http://${config.host}:${config.port}`;
  const mail = config.smtpUrl ? { url: config.smtpUrl, from: config.smtpFrom } : undefined;
  const notifier = new AlertNotifier(db.kysely, sealer, guard, log, leases, { mail, onDelivered: (type, result) => metrics.alertDelivery(type, result) });
  const evaluator: AlertEvaluator = new AlertEvaluator(db.kysely, log, leases, { everyMs: config.alertEvery, baseUrl: publicUrl, onDeliveries: () => notifier.wake(), onTransition: (rule, to) => metrics.alertTransition(rule.kind, to) });
  const alerts = new AlertsService({ db: db.kysely, functions, sealer, guard, notifier: () => notifier, smtp: !!mail, baseUrl: publicUrl });
  const app = buildApp({
    log,
    db,
    auth,
    users,
    fleet,
    metrics: { registry: metrics.registry, token: config.metricsToken },
    features: { functions, deployments, invocations, executions, env, keys: apiKeys, liveLogs: fleet.logs, stats, deadLetters: new DeadLettersService(db.kysely, functions, queue), schedules: new SchedulesService(db.kysely, functions, () => scheduler.wake()), destinationSecrets: new DestinationSecrets(db.kysely, functions, sealer), teams: new TeamsService(db.kysely), audit: new AuditService(db.kysely), tokens, quotas, aliases, scaling: new ScalingService({ db: db.kysely, functions, calls: invocations, liveVersions: (fn) => aliases.liveVersions(fn), floors: floors.states }), canaries, alerts },
    http: { bodyLimit: config.bodyLimit, corsOrigins: config.corsOrigins, trustProxy: config.trustProxy, version: VERSION },
    registration: config.registration,
    traceUrl: config.traceUrl,
    sealer,
    storage: new StorageCheck(config.dataDir, db),
  });

  let server: Server | undefined;
  let stopping: Promise<void> | undefined;
  const tls = config.tlsCert && config.tlsKey ? { cert: readPemFile(config.tlsCert, 'CPUB_TLS_CERT'), key: readPemFile(config.tlsKey, 'CPUB_TLS_KEY') } : undefined;

  return {
    app,
    db,
    auth,
    async start() {
      await denylist.start();
      await fleet.start();
      await builder.start();
      purger.start();
      folder.start();
      dispatcher.start();
      scheduler.start();
      deliverer.start();
      floors.start();
      canaries.startJudging();
      evaluator.start();
      notifier.start();
      // Function URLs go to their own handler (the hot path); everything else to the Hono app.
      const api = getRequestListener(app.fetch, { hostname: config.host });
      const fnUrl = functionUrlHandler({ invocations, log });
      const listener = (req: IncomingMessage, res: ServerResponse) => (isFunctionUrl(req.url) ? fnUrl(req, res) : api(req, res));
      const s = tls ? createHttpsServer(tls, listener) : createHttpServer(listener);
      s.listen(config.port, config.host);
      server = s;
      await new Promise<void>((resolve, reject) => {
        s.once('listening', resolve);
        s.once('error', reject);
      });
      const { port } = s.address() as AddressInfo;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      return `${tls ? 'https' : 'http'}://${host}:${port}`;
    },
    stop() {
      stopping ??= (async () => {
        if (server) {
          const s = server;
          const h = s as { closeIdleConnections?: () => void; closeAllConnections?: () => void };
          await new Promise<void>((resolve) => {
            s.close(() => resolve());
            h.closeIdleConnections?.();
            // In-flight requests get a grace period, then their connections are cut.
            setTimeout(() => h.closeAllConnections?.(), 5000).unref();
          });
        }
        // Builds left unfinished are resumed at the next start (their artifacts are on disk).
        builder.stop();
        await Promise.race([builder.settle(), new Promise((r) => setTimeout(r, 5000).unref())]);
        // Queued calls running here get the grace too; one still running after it is taken back by a replica
        // once its claim runs out, and runs again.
        await scheduler.stop();
        await floors.stop();
        await canaries.stop();
        await dispatcher.stop(5000);
        // Calls still running past the grace end as agent_lost when the links close; their rows are written
        // before the database closes.
        fleet.stop();
        await recorder.settle(5000);
        await deliverer.stop();
        await securityEvents.stop();
        await evaluator.stop();
        await notifier.stop();
        await purger.stop();
        await folder.stop();
        await denylist.stop();
        await db.close();
      })();
      return stopping;
    },
  };
}
