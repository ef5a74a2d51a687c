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
  return propagation.extract(ROOT_CONTEXT, headers);
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

/** Ends a span, marked as an error when `error` is given. */
export function endSpan(span: Span, error?: string): void {
  if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
  span.end();
}

/** The `traceparent` header value that makes the next hop's spans children of `span`. */
export function traceparentOf(span: Span): string {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return carrier.traceparent ?? '';
}

export { SpanKind, type Span };
