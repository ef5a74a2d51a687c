// The worker thread behind tracing.ts: the OpenTelemetry SDK for Node (NodeSDK, configured by the OTEL_* variables
// it was given), fed the records of the spans the process's main thread ended. Each record is handed to the span
// processor NodeSDK built as a finished span of the SDK (its `ReadableSpan`: the record's own ids, times, parent,
// attributes and status, with the SDK's resource and scope); the SDK's batch processor and OTLP exporter do the
// rest. Sampling was decided on the main thread (only sampled spans come here), so every span made here is sampled.
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { ROOT_CONTEXT, SpanStatusCode, TraceFlags, createTraceState, trace, type AttributeValue, type Attributes, type SpanContext, type SpanKind, type TraceState } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { FromWorker, SpanRecords, ToWorker } from './tracing.js';
import { VERSION } from './version.js';

const port = parentPort!;
const send = (m: FromWorker) => port.postMessage(m);

/**
 * Lowers this thread's priority by `by` (tracing.ts's EXPORT_NICE); where it cannot (not Linux), leaves it. Only this
 * thread: libuv's pool threads, which the whole process shares, were started by the main thread's module loading
 * before this worker (a thread inherits its creator's nice value), so they keep the calls' priority — one thread at
 * the lowered value in a fresh process that starts tracing first thing, by /proc.
 */
function lowerPriority(by: number): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.min(19, getPriority(tid) + by));
  } catch {
    // No per-thread priority here: the export runs at the calls' own.
  }
}

const { service, nice } = workerData as { service: string | undefined; nice: number };
try {
  lowerPriority(nice);
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { AlwaysOnSampler } = await import('@opentelemetry/sdk-trace-base');
  // No context manager: every span is given its parent.
  const sdk = new NodeSDK({ ...(service ? { serviceName: service } : {}), instrumentations: [], contextManager: null as never, sampler: new AlwaysOnSampler() });
  sdk.start();
  const tracer = trace.getTracer('containerpub', VERSION);
  const { millisToHrTime, hrTimeDuration } = await import('@opentelemetry/core');
  // One span made by the SDK and never ended (so never exported) tells what the SDK gives each of its spans: the
  // resource, the instrumentation scope, and the span processor NodeSDK built from the OTEL_* variables (the batch
  // processor and its exporter). Each record is then handed to that processor as a finished span of the SDK's own
  // `ReadableSpan` shape — what the SDK's span would have handed it — without building the SDK's span first: that
  // cost a third of the worker's time (its sampler, limits, attribute checks and clocks, all settled on the main
  // thread). The processor is a private field of the SDK's span: the SDK's version is pinned (package-lock.json),
  // and one that moved it stops tracing at start, saying so, rather than losing spans.
  const probe = tracer.startSpan('probe', {}, ROOT_CONTEXT) as unknown as ReadableSpan & { isRecording(): boolean; _spanProcessor?: { onEnd?: (s: ReadableSpan) => void } };
  const processor = probe._spanProcessor;
  if (probe.isRecording() && typeof processor?.onEnd !== 'function') throw new Error("this version of @opentelemetry/sdk-trace does not keep a span's processor where ContainerPub looks for it (its span's _spanProcessor)");
  const { resource, instrumentationScope } = probe;
  const states = new Map<string, TraceState>();
  const stateOf = (s: string) => {
    let t = states.get(s);
    if (!t) {
      if (states.size > 1000) states.clear();
      states.set(s, (t = createTraceState(s)));
    }
    return t;
  };
  /** The spans of a batch (tracing.ts's SpanRecords), each handed to the processor as the SDK's finished span. */
  const toProcessor = (n: number, r: SpanRecords) => {
    let i = 0;
    for (let k = 0; k < n; k++) {
      const name = r[i++] as string;
      const kind = r[i++] as SpanKind;
      const traceId = r[i++] as string;
      const spanId = r[i++] as string;
      const parentId = r[i++] as string;
      const remote = r[i++] as boolean;
      const traceState = r[i++] as string;
      const start = r[i++] as number;
      const end = r[i++] as number;
      const error = r[i++] as string;
      const attributes: Attributes = {};
      for (let m = r[i++] as number; m > 0; m--) {
        const key = r[i++] as string;
        attributes[key] = r[i++] as AttributeValue;
      }
      const state = traceState ? stateOf(traceState) : undefined;
      const context: SpanContext = { traceId, spanId, traceFlags: TraceFlags.SAMPLED, ...(state ? { traceState: state } : {}) };
      const startTime = millisToHrTime(start);
      const endTime = end >= start ? millisToHrTime(end) : startTime;
      processor!.onEnd!({
        name,
        kind,
        spanContext: () => context,
        parentSpanContext: parentId ? { traceId, spanId: parentId, traceFlags: TraceFlags.SAMPLED, isRemote: remote, ...(state ? { traceState: state } : {}) } : undefined,
        startTime,
        endTime,
        duration: hrTimeDuration(startTime, endTime),
        status: error ? { code: SpanStatusCode.ERROR, message: error } : { code: SpanStatusCode.UNSET },
        attributes,
        links: [],
        events: [],
        ended: true,
        resource,
        instrumentationScope,
        droppedAttributesCount: 0,
        droppedEventsCount: 0,
        droppedLinksCount: 0,
      });
    }
  };
  // OTEL_TRACES_EXPORTER=none: NodeSDK made no processor, and its tracer's spans record nothing.
  const make = probe.isRecording() ? toProcessor : () => {};
  port.on('message', (m: ToWorker) => {
    if (m.t === 'spans') {
      make(m.n, m.records);
      send({ t: 'ack' });
    } else {
      void sdk.shutdown().catch(() => {}).finally(() => send({ t: 'stopped' }));
    }
  });
  send({ t: 'ready' });
} catch (err) {
  send({ t: 'failed', message: err instanceof Error ? err.message : String(err) });
}
