// Prometheus metrics (prom-client): calls by function and status, their durations, cold starts, build
// durations, nodes by status and per-node usage (read from the nodes table at each scrape), and the background
// jobs this replica ran. Served at GET /metrics to admins or to a scraper holding CPUB_METRICS_TOKEN.
import { nodesRepo } from './fleet/nodes.repo.js';
import { asyncCallsRepo } from './async-calls/async-calls.repo.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Kysely } from 'kysely';
import type { Database, NodeRow } from './db/schema.js';
import { SECURITY_EVENTS, type SecurityEvent } from './auth/auth.service.js';
import { droppedSpans } from '../../common/tracing.js';

export { SECURITY_EVENTS };

export class Metrics {
  readonly registry = new Registry();
  private readonly calls = new Counter({ name: 'cpub_invocations_total', help: 'Function calls by function and outcome', labelNames: ['function_id', 'function', 'status'] as const, registers: [this.registry] });
  private readonly duration = new Histogram({
    name: 'cpub_invocation_duration_seconds',
    help: 'Function call duration, from the control plane receiving it to the answer',
    labelNames: ['function_id', 'function'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly deliveries = new Counter({
    name: 'cpub_destination_deliveries_total',
    help: 'Attempts to deliver async calls’ outcomes to destinations: delivered, retry (to be tried again), failed (after the last attempt)',
    labelNames: ['function_id', 'result'] as const,
    registers: [this.registry],
  });

  private readonly ticks = new Counter({
    name: 'cpub_schedule_ticks_total',
    help: 'Schedule ticks taken: fired (an async call queued), skipped (overlap skip: the previous call still queued or running; or missed while no control plane ran)',
    labelNames: ['function_id', 'result'] as const,
    registers: [this.registry],
  });
  private readonly cold = new Counter({ name: 'cpub_cold_starts_total', help: 'Calls that started a container (or loaded a stem)', labelNames: ['function_id', 'function'] as const, registers: [this.registry] });
  private readonly builds = new Histogram({
    name: 'cpub_build_duration_seconds',
    help: 'Function image builds on agents, by result',
    labelNames: ['result'] as const,
    buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });

  private readonly attempts = new Counter({
    name: 'cpub_async_attempts_total',
    help: 'Attempts of async calls by what came of them: succeeded, retry (queued again after a backoff), failed (a dead letter)',
    labelNames: ['function_id', 'function', 'result'] as const,
    registers: [this.registry],
  });

  private readonly alertTransitions = new Counter({
    name: 'cpub_alert_transitions_total',
    help: 'Alerts that fired or resolved, by rule kind (counted by the replica evaluating the rules)',
    labelNames: ['kind', 'state'] as const,
    registers: [this.registry],
  });
  private readonly alertDeliveries = new Counter({
    name: 'cpub_alert_deliveries_total',
    help: 'Alert delivery attempts by channel type and result (delivered, retry, failed: after its last attempt)',
    labelNames: ['type', 'result'] as const,
    registers: [this.registry],
  });
  private readonly security = new Counter({
    name: 'cpub_security_events_total',
    help: 'Security events on this replica: refresh_reuse (a spent refresh token replayed: its session revoked), login_throttled, disabled_account_token (a disabled account’s access token presented), bad_join_token (an agent join refused)',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  private readonly background = new Counter({ name: 'cpub_background_runs_total', help: 'Background jobs this replica ran (one replica at a time holds each job)', labelNames: ['job'] as const, registers: [this.registry] });

  constructor(db: Kysely<Database>) {
    collectDefaultMetrics({ register: this.registry, prefix: 'cpub_server_' });
    // Every event's series from the start at 0, so that increase() sees the first one.
    for (const event of SECURITY_EVENTS) this.security.inc({ event }, 0);
    new Gauge({
      name: 'cpub_nodes',
      help: 'Agents by status',
      labelNames: ['status'] as const,
      registers: [this.registry],
      async collect() {
        const rows = await nodesRepo.countByStatus(db);
        this.reset();
        for (const s of ['up', 'suspect', 'down', 'draining', 'drained']) this.set({ status: s }, 0);
        for (const r of rows) this.set({ status: r.status }, Number(r.n));
      },
    });
    // The queue of async calls, from the database at each scrape (every replica's calls).
    let depth: Promise<Awaited<ReturnType<typeof asyncCallsRepo.depth>>> | undefined;
    const queueRows = () => (depth ??= asyncCallsRepo.depth(db).finally(() => setTimeout(() => (depth = undefined), 100).unref()));
    new Gauge({
      name: 'cpub_async_calls',
      help: 'Async calls by function and state: queued, running, failed (dead letters not replayed)',
      labelNames: ['function_id', 'function', 'state'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const r of await queueRows()) this.set({ function_id: r.function_id, function: r.name, state: r.state }, r.n);
      },
    });
    new Gauge({
      name: 'cpub_async_oldest_queued_seconds',
      help: 'Age of the oldest queued async call, by function',
      labelNames: ['function_id', 'function'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const r of await queueRows()) if (r.state === 'queued') this.set({ function_id: r.function_id, function: r.name }, Math.max(0, (Date.now() - r.oldest) / 1000));
      },
    });
    new Counter({
      name: 'cpub_trace_spans_dropped_total',
      help: 'Spans not exported because the tracing worker fell too far behind (tracing on: OTEL_EXPORTER_OTLP_ENDPOINT)',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(droppedSpans());
      },
    });
    // Per-node usage, from the nodes table at each scrape (what the last heartbeat said).
    const perNode = (name: string, help: string, value: (n: NodeRow) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['node', 'name'] as const,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const n of await nodesRepo.notDown(db)) this.set({ node: n.id, name: n.name }, value(n));
        },
      });
    perNode('cpub_node_containers', 'Containers on a node (warm and starting)', (n) => n.containers);
    perNode('cpub_node_in_flight', 'Calls running on a node', (n) => n.in_flight);
    perNode('cpub_node_memory_used_bytes', 'Memory the containers on a node use', (n) => Number(n.memory_used_bytes));
    perNode('cpub_node_memory_reserved_bytes', 'Memory limits of the containers on a node', (n) => Number(n.memory_reserved_bytes));
    perNode('cpub_node_memory_capacity_bytes', 'Memory a node offers to functions', (n) => Number(n.memory_bytes));
  }

  asyncAttempt(functionId: string, name: string, result: 'succeeded' | 'retry' | 'failed'): void {
    this.attempts.inc({ function_id: functionId, function: name, result });
  }

  delivery(functionId: string, result: 'delivered' | 'retry' | 'failed'): void {
    this.deliveries.inc({ function_id: functionId, result });
  }

  scheduleTick(functionId: string, result: 'fired' | 'skipped' | 'missed'): void {
    this.ticks.inc({ function_id: functionId, result });
  }

  securityEvent(event: SecurityEvent): void {
    this.security.inc({ event });
  }

  alertTransition(kind: string, state: 'firing' | 'resolved'): void {
    this.alertTransitions.inc({ kind, state });
  }

  alertDelivery(type: string, result: 'delivered' | 'retry' | 'failed'): void {
    this.alertDeliveries.inc({ type, result });
  }

  backgroundRun(job: string): void {
    this.background.inc({ job });
  }

  /** Each function's series, bound once: labelling on every call (hashing the label values) costs more than counting. */
  private readonly series = new Map<string, { name: string; duration: Histogram.Internal<'function_id' | 'function'>; cold: Counter.Internal; calls: Map<string, Counter.Internal> }>();

  call(functionId: string, name: string, status: string, durationMs: number, coldStart: boolean): void {
    let s = this.series.get(functionId);
    if (!s || s.name !== name) {
      const fn = { function_id: functionId, function: name };
      s = { name, duration: this.duration.labels(fn), cold: this.cold.labels(fn), calls: new Map() };
      this.series.set(functionId, s);
    }
    let calls = s.calls.get(status);
    if (!calls) s.calls.set(status, (calls = this.calls.labels({ function_id: functionId, function: name, status })));
    calls.inc();
    s.duration.observe(durationMs / 1000);
    if (coldStart) s.cold.inc();
  }

  build(durationMs: number, ok: boolean): void {
    this.builds.observe({ result: ok ? 'ready' : 'failed' }, durationMs / 1000);
  }
}
