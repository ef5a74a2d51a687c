// Tracing with OpenTelemetry, for the control plane and the agent. On when OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set and OTEL_SDK_DISABLED is not: the OpenTelemetry SDK for Node (NodeSDK)
// then exports spans over OTLP, configured by the standard OTEL_* variables — the protocol
// (OTEL_EXPORTER_OTLP_PROTOCOL, http/protobuf by default), headers, timeout, the sampler (OTEL_TRACES_SAMPLER,
// OTEL_TRACES_SAMPLER_ARG), the batch (OTEL_BSP_*), the resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES). Only
// traces: metrics stay with Prometheus and logs with pino unless OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER ask.
//
// The SDK runs in a worker thread of its own (tracing.worker.ts), below the calls' priority (EXPORT_NICE). A call's
// thread only takes what a span is — its ids, times, attributes — when the span ends (≈ 1.8 µs; a trace not sampled
// takes nothing), and hands the worker those records in batches; the worker
// hands each to the SDK's batch processor as a finished span of the SDK with those very ids and times, and the SDK
// exports them (≈ 6.5 µs a span there, mostly the OTLP encoding; a traced warm call has 7 spans). Done on the call's
// thread, every traced call paid all of it. The sampling decision is taken here, at a trace's first span in this
// process (the sampler the SDK would build from OTEL_TRACES_SAMPLER: it decides the `traceparent` flags sent on), and
// its children follow it; only sampled spans are handed over. Ids are drawn from a pool of crypto random bytes.
// Parent-based sampling of a caller's trace reads the caller's flag without building the SDK's context for it (that
// and the SDK's id generator were ≈ 10 of the ≈ 20 µs tracing cost the agent's call thread a call, in a profile).
//
// Off, nothing is made on the call path: every caller tests `tracingOn()` before it starts a span, and the SDK is
// never loaded.
import { Worker } from 'node:worker_threads';
import { randomFillSync } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, SamplingDecision, trace, type AttributeValue, type Attributes, type Sampler } from '@opentelemetry/api';

/**
 * What the worker is sent for a batch of spans: one flat list of values (a single object to copy between threads,
 * not one for each span), each span's in turn: name, kind, traceId, spanId, parentSpanId ('' for none), parent is
 * remote, tracestate ('' for none), start and end (epoch ms), error ('' for none), then its attributes as a count
 * and that many key, value pairs.
 */
export type SpanRecords = (string | number | boolean | AttributeValue)[];
export type ToWorker = { t: 'spans'; n: number; records: SpanRecords } | { t: 'stop' };
export type FromWorker = { t: 'ready' } | { t: 'ack' } | { t: 'stopped' } | { t: 'failed'; message: string };

/** Spans handed over at most this many at a time, and at the latest this long after the first of a batch ended. */
const BATCH = 512;
const BATCH_MS = 100;
/**
 * How far below the process's calls the export runs: the worker thread's nice value is the process's plus this
 * (Linux keeps a nice value per thread). On a busy host the SDK's encoding and sending then yield a core to the
 * threads that serve calls and catch up when they rest; a host too busy even for that drops spans (counted) rather
 * than slow its calls. `npm run bench -- tracing`, 2026-12-07: a traced call alone ×1.072 of an untraced one at p50
 * (the median of seven runs, one at nice 19), against ×1.102 (five runs, alternated) with the worker at the calls'
 * priority.
 */
export const EXPORT_NICE = 10;
/** Batches the worker has not taken yet beyond which spans are dropped (as the SDK's own queue drops when full). */
const MAX_IN_FLIGHT = 16;
let droppedTotal = 0;

/**
 * How a trace's first span here is sampled. Parent-based (the default, `parentbased_*`): a caller's trace as the
 * caller sampled it (its `traceparent`'s flag: what the SDK's ParentBasedSampler decides for a remote parent with its
 * default delegates), else as `root` decides; otherwise `root` decides every trace.
 */
interface Sampling {
  parentBased: boolean;
  root: Sampler;
}

/**
 * Random bytes for ids, drawn 4 KiB at a time (crypto's: the SDK's generator draws each id from Math.random), and
 * the same bytes in hex, made once a draw: an id is a slice of that string (V8 shares a slice's characters), not a
 * conversion of its own.
 */
const idPool = Buffer.alloc(4096);
let idHex = '';
let idAt = idPool.length;

/** A random id of `bytes` bytes, in hex, never all zeros (an invalid id). */
function randomId(bytes: 8 | 16): string {
  for (;;) {
    if (idAt + bytes > idPool.length) {
      randomFillSync(idPool);
      idHex = idPool.toString('hex');
      idAt = 0;
    }
    const at = idAt;
    idAt += bytes;
    for (let i = at; i < at + bytes; i++) if (idPool[i] !== 0) return idHex.slice(2 * at, 2 * (at + bytes));
  }
}

interface Active {
  worker: Worker;
  sampling: Sampling;
  parseTraceParent: (value: string) => { traceId: string; spanId: string; traceFlags: number } | null;
  /** The spans ended since the last flush: how many, and their records. */
  n: number;
  batch: SpanRecords;
  timer: NodeJS.Timeout | undefined;
  inFlight: number;
  maxInFlight: number;
}
let active: Active | undefined;

/** True once startTracing found an OTLP endpoint: spans are made and exported. */
export const tracingOn = (): boolean => active !== undefined;

/** The samplers OTEL_TRACES_SAMPLER names (the specification's values; the SDK builds the same ones). */
async function samplingFrom(env: NodeJS.ProcessEnv): Promise<Sampling> {
  const { AlwaysOnSampler, AlwaysOffSampler, TraceIdRatioBasedSampler } = await import('@opentelemetry/sdk-trace-base');
  const name = (env.OTEL_TRACES_SAMPLER ?? '').trim() || 'parentbased_always_on';
  const ratio = () => {
    const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
    const n = arg ? Number(arg) : 1;
    if (!(n >= 0 && n <= 1)) throw new Error(`invalid configuration: OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1 (got "${arg}")`);
    return new TraceIdRatioBasedSampler(n);
  };
  switch (name) {
    case 'always_on': return { parentBased: false, root: new AlwaysOnSampler() };
    case 'always_off': return { parentBased: false, root: new AlwaysOffSampler() };
    case 'traceidratio': return { parentBased: false, root: ratio() };
    case 'parentbased_always_on': return { parentBased: true, root: new AlwaysOnSampler() };
    case 'parentbased_always_off': return { parentBased: true, root: new AlwaysOffSampler() };
    case 'parentbased_traceidratio': return { parentBased: true, root: ratio() };
    default: throw new Error(`invalid configuration: OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio (got "${name}")`);
  }
}

/**
 * Starts the SDK's worker when the environment asks for it (see above); `service` is the service.name unless
 * OTEL_SERVICE_NAME gives one. Returns what the process must await before it exits, so the last spans are sent.
 * The SDK is loaded only then (in the worker): a process without tracing never loads it.
 */
export async function startTracing(service: string, env: NodeJS.ProcessEnv = process.env, maxInFlight = MAX_IN_FLIGHT): Promise<{ on: boolean; stop: () => Promise<void> }> {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const disabled = /^(true|1)$/i.test(env.OTEL_SDK_DISABLED ?? '');
  if (!endpoint || disabled || active) return { on: active !== undefined, stop: async () => {} };
  // A typo here would only lose every span in silence (the SDK logs nothing by default): refuse to start instead.
  if (!/^https?:\/\/[^/\s]+/.test(endpoint)) throw new Error(`invalid configuration: OTEL_EXPORTER_OTLP_${env.OTEL_EXPORTER_OTLP_ENDPOINT ? '' : 'TRACES_'}ENDPOINT must be an http(s) URL such as http://127.0.0.1:4318 (got "${endpoint}")`);
  const sampling = await samplingFrom(env);
  const { parseTraceParent } = await import('@opentelemetry/core');
  const workerEnv = { ...env, OTEL_METRICS_EXPORTER: env.OTEL_METRICS_EXPORTER ?? 'none', OTEL_LOGS_EXPORTER: env.OTEL_LOGS_EXPORTER ?? 'none' };
  const worker = new Worker(new URL('./tracing.worker.js', import.meta.url), { env: workerEnv, workerData: { service: env.OTEL_SERVICE_NAME ? undefined : service, nice: EXPORT_NICE } });
  const a: Active = { worker, sampling, parseTraceParent, n: 0, batch: [], timer: undefined, inFlight: 0, maxInFlight };
  let stopped: (() => void) | undefined;
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (m: FromWorker) => {
      if (m.t === 'ready') resolve();
      else if (m.t === 'ack') a.inFlight--;
      else if (m.t === 'stopped') stopped?.();
      else reject(new Error(`tracing: the OpenTelemetry SDK did not start: ${m.message}`));
    });
    worker.on('error', reject); // after the start, 'exit' follows and says it
    worker.once('exit', (code) => {
      // Stopped by anything but stop(): calls go on untraced, and the process says so once.
      if (active === a) {
        active = undefined;
        process.emitWarning(`tracing stopped: the OpenTelemetry SDK's worker thread exited (code ${code}); calls are no longer traced`);
      }
      stopped?.();
      reject(new Error('tracing: the OpenTelemetry SDK worker stopped'));
    });
  });
  worker.unref();
  active = a;
  return {
    on: true,
    stop: async () => {
      if (active !== a) return;
      flush(a);
      active = undefined;
      // The SDK's shutdown sends what it still holds; bounded, so a dead collector never holds the exit up.
      await new Promise<void>((resolve) => {
        stopped = resolve;
        a.worker.postMessage({ t: 'stop' } satisfies ToWorker);
        setTimeout(resolve, 10_000).unref();
      });
      await a.worker.terminate();
    },
  };
}

/** Hands the batch to the worker, or drops it when the worker is too far behind. */
function flush(a: Active): void {
  if (a.timer) clearTimeout(a.timer);
  a.timer = undefined;
  if (a.n === 0) return;
  const { n, batch: records } = a;
  a.n = 0;
  a.batch = [];
  if (a.inFlight >= a.maxInFlight) {
    // Said once a process (the agent has no /metrics of its own): then only counted.
    if (droppedTotal === 0) process.emitWarning(`tracing: the OpenTelemetry SDK's worker thread is ${a.maxInFlight} batches behind; spans are being dropped (counted in cpub_trace_spans_dropped_total)`);
    droppedTotal += n;
    return;
  }
  a.inFlight++;
  a.worker.postMessage({ t: 'spans', n, records } satisfies ToWorker);
}

/** A span of a call: what its record will say, and the ids the next hop is given. */
export class Span {
  private attrs: Attributes | undefined;
  private ended = false;
  constructor(
    readonly name: string,
    readonly kind: SpanKind,
    readonly traceId: string,
    readonly spanId: string,
    private readonly parent: { spanId: string; remote: boolean; traceState: string } | undefined,
    /** Sampled: its record is exported, and the next hop is told so. */
    readonly sampled: boolean,
    readonly start: number,
    attributes: Attributes | undefined,
  ) {
    this.attrs = attributes;
  }

  /** The caller's `tracestate`, which every span of the trace here carries (as the SDK's children inherit it). */
  get traceState(): string {
    return this.parent?.traceState ?? '';
  }

  spanContext(): { traceId: string; spanId: string; traceFlags: number } {
    return { traceId: this.traceId, spanId: this.spanId, traceFlags: this.sampled ? 1 : 0 };
  }

  setAttributes(attributes: Attributes): void {
    if (this.sampled) this.attrs = { ...this.attrs, ...attributes };
  }

  /** Ends the span as of `at` (epoch ms; now by default), an error when `error` is given: its record is handed over. */
  end(error?: string, at: number = nowMs()): void {
    if (this.ended) return;
    this.ended = true;
    const a = active;
    if (!this.sampled || !a) return;
    const p = this.parent;
    const b = a.batch;
    b.push(this.name, this.kind, this.traceId, this.spanId, p?.spanId ?? '', p?.remote ?? false, p?.traceState ?? '', this.start, at, error ?? '');
    const attrs = this.attrs;
    const at0 = b.length;
    b.push(0);
    if (attrs) for (const k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) b.push(k, attrs[k]!);
    b[at0] = (b.length - at0 - 1) / 2;
    if (++a.n >= BATCH) flush(a);
    else if (!a.timer) (a.timer = setTimeout(flush, BATCH_MS, a)).unref();
  }
}

/** The caller's span a `traceparent` (and `tracestate`) names, when it is valid. */
export interface RemoteParent {
  traceId: string;
  spanId: string;
  traceFlags: number;
  traceState: string;
}

/** The span a `traceparent` header (with its `tracestate`) from a caller or a hop names; none when it is absent or invalid. */
export function contextFrom(headers: Record<string, string | string[] | undefined>): RemoteParent | undefined {
  const a = active;
  const raw = headers.traceparent;
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!a || value === undefined) return undefined;
  const c = a.parseTraceParent(value.trim());
  if (!c || /^0+$/.test(c.traceId) || /^0+$/.test(c.spanId)) return undefined;
  const state = headers.tracestate;
  return { ...c, traceState: (Array.isArray(state) ? state.join(',') : state) ?? '' };
}

/** Now, epoch ms with the monotonic clock's fraction (spans made later are given their times). */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/**
 * Starts a span, the child of `parent` (a span of this process, or a caller's): it keeps the parent's sampling
 * decision; a trace's first span here is sampled as OTEL_TRACES_SAMPLER says.
 */
export function startSpan(name: string, parent: Span | RemoteParent | undefined, attributes?: Attributes, kind: SpanKind = SpanKind.INTERNAL, startTime: number = nowMs()): Span {
  const a = active;
  if (parent instanceof Span) {
    // A trace not sampled records nothing here: its spans only carry the trace on, with the id of its first span.
    const spanId = parent.sampled && a ? randomId(8) : parent.spanId;
    return new Span(name, kind, parent.traceId, spanId, { spanId: parent.spanId, remote: false, traceState: parent.traceState }, parent.sampled, startTime, attributes);
  }
  const spanId = a ? randomId(8) : '0000000000000000';
  const traceId = parent?.traceId ?? (a ? randomId(16) : '00000000000000000000000000000000');
  let sampled = false;
  if (a && parent && a.sampling.parentBased) sampled = (parent.traceFlags & 1) === 1;
  else if (a) {
    const ctx = parent ? trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: parent.spanId, traceFlags: parent.traceFlags, isRemote: true }) : ROOT_CONTEXT;
    sampled = a.sampling.root.shouldSample(ctx, traceId, name, kind, attributes ?? {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED;
  }
  return new Span(name, kind, traceId, spanId, parent && { spanId: parent.spanId, remote: true, traceState: parent.traceState }, sampled, startTime, attributes);
}

/** A phase of a trace not sampled: nothing to time. */
const UNRECORDED = { end: (_error?: string) => {} };

/**
 * A phase of the call under `root`: timed now, its span ended with it — unless it ended well within `minMs` (a
 * phase worth a span only when it took time, such as a wait).
 */
export function phase(root: Span, name: string, attributes?: Attributes, minMs = 0): { end: (error?: string) => void } {
  if (!root.sampled) return UNRECORDED;
  const start = nowMs();
  return {
    end: (error?: string) => {
      const end = nowMs();
      if (!error && end - start < minMs) return;
      startSpan(name, root, attributes, SpanKind.INTERNAL, start).end(error, end);
    },
  };
}

/** Ends the call's span as of now, with the attributes its end decided. */
export function endCall(root: Span, error?: string, attributes?: Attributes): void {
  if (attributes) root.setAttributes(attributes);
  root.end(error);
}

/** A span that is already over (a phase timed elsewhere, e.g. by the agent's pool): from `start` to `end`, epoch ms. */
export function pastSpan(name: string, parent: Span, start: number, end: number, attributes?: Attributes): void {
  if (parent.sampled) startSpan(name, parent, attributes, SpanKind.INTERNAL, start).end(undefined, end);
}

/** Ends a span (as of `at`, epoch ms, when given), marked as an error when `error` is given. */
export function endSpan(span: Span, error?: string, at?: number): void {
  span.end(error, at);
}

/** The `traceparent` header value (W3C Trace Context, version 00) that makes the next hop's spans children of `span`. */
export function traceparentOf(span: Span): string {
  return `00-${span.traceId}-${span.spanId}-${span.sampled ? '01' : '00'}`;
}

/** Spans dropped since the process started because the SDK's worker fell behind (`cpub_trace_spans_dropped_total`). */
export const droppedSpans = (): number => droppedTotal;

export { SpanKind };
