// The worker thread behind tracing.ts: the OpenTelemetry SDK for Node (NodeSDK, configured by the OTEL_* variables
// it was given), fed the records of the spans the process's main thread ended. Each record becomes a span of the SDK
// with the record's own ids (a preset id generator), times, parent, attributes and status; the SDK's batch processor
// and OTLP exporter do the rest. Sampling was decided on the main thread (only sampled spans come here), so every
// span made here is sampled.
import { parentPort, workerData } from 'node:worker_threads';
import { ROOT_CONTEXT, SpanStatusCode, createTraceState, trace } from '@opentelemetry/api';
import type { FromWorker, SpanRecord, ToWorker } from './tracing.js';
import { VERSION } from './version.js';

const port = parentPort!;
const send = (m: FromWorker) => port.postMessage(m);

/** Hands the SDK's tracer the ids of the span it is making. */
class PresetIds {
  traceId = '';
  spanId = '';
  generateTraceId(): string {
    return this.traceId;
  }
  generateSpanId(): string {
    return this.spanId;
  }
}

try {
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { AlwaysOnSampler } = await import('@opentelemetry/sdk-trace-base');
  const ids = new PresetIds();
  const { service } = workerData as { service: string | undefined };
  // No context manager: every span is given its parent.
  const sdk = new NodeSDK({ ...(service ? { serviceName: service } : {}), instrumentations: [], contextManager: null as never, sampler: new AlwaysOnSampler(), idGenerator: ids });
  sdk.start();
  const tracer = trace.getTracer('containerpub', VERSION);
  const make = ([name, kind, traceId, spanId, parentId, remote, traceState, start, end, attributes, error]: SpanRecord) => {
    ids.traceId = traceId;
    ids.spanId = spanId;
    const parent = parentId ? trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: parentId, traceFlags: 1, isRemote: remote, ...(traceState ? { traceState: createTraceState(traceState) } : {}) }) : ROOT_CONTEXT;
    const span = tracer.startSpan(name, { kind, startTime: start, ...(attributes ? { attributes } : {}) }, parent);
    if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    span.end(end);
  };
  port.on('message', (m: ToWorker) => {
    if (m.t === 'spans') {
      for (const r of m.spans) make(r);
      send({ t: 'ack' });
    } else {
      void sdk.shutdown().catch(() => {}).finally(() => send({ t: 'stopped' }));
    }
  });
  send({ t: 'ready' });
} catch (err) {
  send({ t: 'failed', message: err instanceof Error ? err.message : String(err) });
}
