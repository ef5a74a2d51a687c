// Tracing with OpenTelemetry, for the control plane and the agent. On when OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set and OTEL_SDK_DISABLED is not: the OpenTelemetry SDK for Node (NodeSDK)
// then exports spans over OTLP, configured by the standard OTEL_* variables — the protocol
// (OTEL_EXPORTER_OTLP_PROTOCOL, http/protobuf by default), headers, timeout, the sampler (OTEL_TRACES_SAMPLER), the
// batch (OTEL_BSP_*), the resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES). Only traces: metrics stay with
// Prometheus and logs with pino unless OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER ask for more.
//
// Off, nothing is made on the call path: every caller tests `tracingOn()` before it starts a span.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { NodeSDK } from '@opentelemetry/sdk-node';
import { VERSION } from './version.js';

let sdk: NodeSDK | undefined;

/** True once startTracing found an OTLP endpoint: spans are made and exported. */
export const tracingOn = (): boolean => sdk !== undefined;

/**
 * Starts the SDK when the environment asks for it (see above); `service` is the service.name unless
 * OTEL_SERVICE_NAME gives one. Returns what the process must await before it exits, so the last spans are sent.
 * The SDK is loaded only then: a process without tracing never loads it.
 */
export async function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): Promise<{ on: boolean; stop: () => Promise<void> }> {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const disabled = /^(true|1)$/i.test(env.OTEL_SDK_DISABLED ?? '');
  if (!endpoint || disabled || sdk) return { on: sdk !== undefined, stop: async () => {} };
  // A typo here would only lose every span in silence (the SDK logs nothing by default): refuse to start instead.
  if (!/^https?:\/\/[^/\s]+/.test(endpoint)) throw new Error(`invalid configuration: OTEL_EXPORTER_OTLP_${env.OTEL_EXPORTER_OTLP_ENDPOINT ? '' : 'TRACES_'}ENDPOINT must be an http(s) URL such as http://127.0.0.1:4318 (got "${endpoint}")`);
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  // No context manager (null: the SDK registers none): every span is given its parent here, so nothing needs the
  // async-hooks one, which would tax every promise of the process.
  const started = new NodeSDK({ ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: service }), instrumentations: [], contextManager: null as never });
  started.start();
  sdk = started;
  return {
    on: true,
    stop: async () => {
      if (sdk !== started) return;
      sdk = undefined;
      cached = undefined;
      await started.shutdown().catch(() => {});
    },
  };
}

let cached: Tracer | undefined;
/** The tracer, once the SDK is registered (asked once: getTracer is not free). */
const tracer = (): Tracer => (cached ??= trace.getTracer('containerpub', VERSION));

/** The context a `traceparent` (and `tracestate`) from a caller or a hop carries; the root when there is none. */
export function contextFrom(headers: Record<string, string | string[] | undefined>): Context {
  return headers.traceparent === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, headers);
}

/** Now, epoch ms with the monotonic clock's fraction (spans made later are given their times). */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/**
 * Work on a call's spans that can wait until its answer is on its way: the spans of its phases, made from the
 * times taken as they happened, and the ending of the spans that had to exist during the call (to be parents on the
 * wire). Building and ending a span costs the SDK ≈ 10 µs; done on the call's path, a traced call's answer waited for
 * all of it.
 */
const deferred = new WeakMap<Span, (() => void)[]>();
const later = (root: Span, work: () => void) => {
  const list = deferred.get(root);
  if (list) list.push(work);
  else deferred.set(root, [work]);
};

/**
 * A phase of the call under `root`: timed now, its span made once the call is over (`endCall`) — unless it ended
 * well within `minMs` (a phase worth a span only when it took time, such as a wait).
 */
export function phase(root: Span, name: string, attributes?: Attributes, minMs = 0): { end: (error?: string) => void } {
  const start = nowMs();
  return {
    end: (error?: string) => {
      const end = nowMs();
      if (!error && end - start < minMs) return;
      later(root, () => endSpan(startSpan(name, root, attributes, SpanKind.INTERNAL, start), error, end));
    },
  };
}

/** Ends `span` (a live child of the call under `root`: a dispatch) as of now, once the call is over. */
export function endWithCall(root: Span, span: Span, error?: string): void {
  const end = nowMs();
  later(root, () => endSpan(span, error, end));
}

/** Ends the call's span as of now, and makes its phases' spans, after the answer has gone (setImmediate). */
export function endCall(root: Span, error?: string, attributes?: Attributes): void {
  const end = nowMs();
  const list = deferred.get(root);
  deferred.delete(root);
  setImmediate(() => {
    for (const work of list ?? []) work();
    if (attributes) root.setAttributes(attributes);
    endSpan(root, error, end);
  });
}

/** Starts a span, the child of `parent` (a span or a context). */
export function startSpan(name: string, parent: Span | Context | undefined, attributes?: Attributes, kind: SpanKind = SpanKind.INTERNAL, startTime?: number): Span {
  const ctx = parent === undefined ? ROOT_CONTEXT : 'spanContext' in parent ? trace.setSpan(ROOT_CONTEXT, parent) : parent;
  return tracer().startSpan(name, { kind, ...(attributes ? { attributes } : {}), ...(startTime !== undefined ? { startTime } : {}) }, ctx);
}

/** A span that is already over (a phase timed elsewhere, e.g. by the agent's pool): from `start` to `end`, epoch ms. */
export function pastSpan(name: string, parent: Span, start: number, end: number, attributes?: Attributes): void {
  startSpan(name, parent, attributes, SpanKind.INTERNAL, start).end(end);
}

/** Ends a span (as of `at`, epoch ms, when given), marked as an error when `error` is given. */
export function endSpan(span: Span, error?: string, at?: number): void {
  if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
  span.end(at);
}

/** The `traceparent` header value (W3C Trace Context, version 00) that makes the next hop's spans children of `span`. */
export function traceparentOf(span: Span): string {
  const c = span.spanContext();
  return `00-${c.traceId}-${c.spanId}-${c.traceFlags & 1 ? '01' : '00'}`;
}

export { SpanKind, type Span };
