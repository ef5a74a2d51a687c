// Tracing's two threads: spans ended on the main thread reach an OTLP/HTTP receiver (JSON) through the SDK in the
// worker, with the ids, parents, times, attributes and status they were given there; the sampler from
// OTEL_TRACES_SAMPLER decides on the main thread (the traceparent flags the next hop gets, and what is exported);
// a sampler name that is not the specification's is refused at start.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { getPriority } from 'node:os';
import type { AddressInfo } from 'node:net';
import { EXPORT_NICE, SpanKind, contextFrom, droppedSpans, endCall, phase, startSpan, startTracing, tracingOn, traceparentOf, pastSpan } from './tracing.js';

interface Got {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  start: number;
  end: number;
  status: number;
  traceState: string;
  attributes: Record<string, unknown>;
}

/** A protobuf message's fields: each number's values, as their bytes (a length-delimited field's payload). */
function fields(buf: Buffer): Map<number, Buffer[]> {
  const out = new Map<number, Buffer[]>();
  let i = 0;
  const varint = () => {
    let v = 0;
    for (let scale = 1; ; scale *= 128) {
      const b = buf[i++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const wire = key % 8;
    let start = i;
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const length = varint();
      start = i;
      i += length;
    } else throw new Error(`protobuf wire type ${wire}`);
    const number = Math.floor(key / 8);
    const values = out.get(number);
    if (values) values.push(buf.subarray(start, i));
    else out.set(number, [buf.subarray(start, i)]);
  }
  return out;
}

/** The spans of an OTLP protobuf export request (ExportTraceServiceRequest): their service, ids and names. */
function fromProtobuf(body: Buffer): Got[] {
  const spans: Got[] = [];
  for (const rs of fields(body).get(1) ?? []) {
    const resourceSpans = fields(rs);
    const attributes = fields(resourceSpans.get(1)![0]!).get(1) ?? [];
    const serviceName = attributes.map((kv) => fields(kv)).find((kv) => kv.get(1)![0]!.toString() === 'service.name');
    const service = serviceName ? fields(serviceName.get(2)![0]!).get(1)![0]!.toString() : '';
    for (const ss of resourceSpans.get(2) ?? []) {
      for (const sp of fields(ss).get(2) ?? []) {
        const f = fields(sp);
        const hex = (n: number) => f.get(n)?.[0]?.toString('hex') ?? '';
        spans.push({ service, traceId: hex(1), spanId: hex(2), parentSpanId: hex(4), name: f.get(5)![0]!.toString(), kind: 0, start: 0, end: 0, status: 0, traceState: '', attributes: {} });
      }
    }
  }
  return spans;
}

async function receiver() {
  const got: Got[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (p: Buffer) => parts.push(p));
    req.on('end', () => {
      if (/protobuf/.test(req.headers['content-type'] ?? '')) {
        got.push(...fromProtobuf(Buffer.concat(parts)));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' });
        return res.end();
      }
      const body = JSON.parse(Buffer.concat(parts).toString('utf8'));
      for (const rs of body.resourceSpans) {
        const service = rs.resource.attributes.find((a: { key: string }) => a.key === 'service.name')?.value.stringValue;
        for (const ss of rs.scopeSpans) {
          for (const sp of ss.spans) {
            got.push({
              service,
              traceId: sp.traceId,
              spanId: sp.spanId,
              parentSpanId: sp.parentSpanId ?? '',
              name: sp.name,
              kind: sp.kind,
              start: Number(BigInt(sp.startTimeUnixNano) / 1000n) / 1000,
              end: Number(BigInt(sp.endTimeUnixNano) / 1000n) / 1000,
              status: sp.status?.code ?? 0,
              traceState: sp.traceState ?? '',
              attributes: Object.fromEntries((sp.attributes ?? []).map((a: { key: string; value: Record<string, unknown> }) => [a.key, Object.values(a.value)[0]])),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '50' };
  return { got, env, close: () => server.close() };
}

const CALLER = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';

test('spans ended here are exported by the worker with their ids, parents, times, attributes and status', async () => {
  const r = await receiver();
  try {
    const tracing = await startTracing('tracing-test', { ...r.env });
    assert.ok(tracing.on && tracingOn());
    const root = startSpan('call', contextFrom({ traceparent: `00-${CALLER}-${CALLER_SPAN}-01`, tracestate: 'vendor=1' }), { 'cpub.trigger': 'http' }, SpanKind.SERVER);
    assert.is(root.traceId, CALLER);
    const auth = phase(root, 'auth');
    auth.end();
    const skipped = phase(root, 'admission', undefined, 60_000);
    skipped.end(); // well within its minimum: no span
    const dispatch = startSpan('agent dispatch', root, { 'cpub.node_id': 'n1' }, SpanKind.CLIENT);
    const hop = traceparentOf(dispatch);
    assert.match(hop, new RegExp(`^00-${CALLER}-[\\da-f]{16}-01$`));
    pastSpan('run', dispatch, 1_765_000_000_000.25, 1_765_000_000_003.5);
    dispatch.end('the agent said no');
    endCall(root, undefined, { 'cpub.execution_id': 'e1', 'http.response.status_code': 200, 'cpub.cold_start': false, 'cpub.none': undefined });
    await tracing.stop();
    assert.not.ok(tracingOn());
    const byName = Object.fromEntries(r.got.map((s) => [s.name, s]));
    assert.equal(Object.keys(byName).sort(), ['agent dispatch', 'auth', 'call', 'run']);
    for (const s of r.got) {
      assert.is(s.traceId, CALLER, s.name);
      assert.is(s.service, 'tracing-test');
      assert.is(s.traceState, 'vendor=1', `${s.name} carries the caller's tracestate`);
    }
    assert.is(byName.call!.parentSpanId, CALLER_SPAN);
    assert.is(byName.call!.spanId, root.spanId);
    assert.is(byName.call!.kind, 2); // SERVER, in OTLP's numbering
    // Each type as it was given; an attribute without a value is left out (as the SDK's own span leaves it out).
    assert.equal(byName.call!.attributes, { 'cpub.trigger': 'http', 'cpub.execution_id': 'e1', 'http.response.status_code': 200, 'cpub.cold_start': false });
    assert.is(byName.auth!.parentSpanId, root.spanId);
    assert.is(byName['agent dispatch']!.spanId, hop.split('-')[2]);
    assert.is(byName['agent dispatch']!.status, 2); // ERROR
    assert.is(byName.call!.status, 0);
    assert.is(byName.run!.parentSpanId, dispatch.spanId);
    assert.is(byName.run!.start, 1_765_000_000_000.25);
    assert.is(byName.run!.end, 1_765_000_000_003.5);
    assert.ok(byName.call!.start <= byName.auth!.start && byName.auth!.end <= byName.call!.end);
  } finally {
    r.close();
  }
});

test('the sampler decides on this thread: a trace not sampled is not exported, and the next hop is told so', async () => {
  const r = await receiver();
  try {
    const tracing = await startTracing('tracing-test', { ...r.env, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' });
    const root = startSpan('call', undefined, undefined, SpanKind.SERVER);
    const dispatch = startSpan('agent dispatch', root, undefined, SpanKind.CLIENT);
    assert.match(traceparentOf(dispatch), /-00$/);
    // Not sampled, nothing is recorded here: the next hop is given the trace with its first span's id.
    assert.is(traceparentOf(dispatch), `00-${root.traceId}-${root.spanId}-00`);
    phase(root, 'auth').end();
    pastSpan('run', root, Date.now() - 1, Date.now());
    dispatch.end();
    // A caller's sampled trace is followed (parent-based) whatever the ratio.
    const followed = startSpan('call', contextFrom({ traceparent: `00-${CALLER}-${CALLER_SPAN}-01` }), undefined, SpanKind.SERVER);
    assert.match(traceparentOf(followed), /-01$/);
    followed.end();
    root.end();
    await tracing.stop();
    assert.equal(r.got.map((s) => [s.name, s.traceId]), [['call', CALLER]]);
  } finally {
    r.close();
  }
});

test('a caller’s trace is sampled as the caller sampled it under a parent-based sampler, and as the ratio says under traceidratio', async () => {
  const r = await receiver();
  try {
    const decided = async (sampler: string, arg: string, flags: string) => {
      const tracing = await startTracing('tracing-test', { ...r.env, OTEL_TRACES_SAMPLER: sampler, OTEL_TRACES_SAMPLER_ARG: arg });
      try {
        return traceparentOf(startSpan('call', contextFrom({ traceparent: `00-${CALLER}-${CALLER_SPAN}-${flags}` }), undefined, SpanKind.SERVER)).slice(-2);
      } finally {
        await tracing.stop();
      }
    };
    assert.is(await decided('parentbased_always_on', '', '00'), '00', 'a caller’s trace it did not sample is not sampled here');
    assert.is(await decided('parentbased_always_off', '', '01'), '01', 'a caller’s sampled trace is sampled here');
    assert.is(await decided('traceidratio', '0', '01'), '00', 'traceidratio ignores the caller');
    assert.is(await decided('always_on', '', '00'), '01', 'always_on ignores the caller');
  } finally {
    r.close();
  }
});

test('ids made here are random, of the W3C lengths in lower-case hex, never all zeros, never given twice', async () => {
  const r = await receiver();
  try {
    const tracing = await startTracing('tracing-test', r.env);
    try {
      const roots = Array.from({ length: 2000 }, () => startSpan('call', undefined));
      const children = roots.map((root) => startSpan('auth', root));
      assert.ok(roots.every((s) => /^[0-9a-f]{32}$/.test(s.traceId) && !/^0+$/.test(s.traceId)), 'trace ids');
      assert.ok([...roots, ...children].every((s) => /^[0-9a-f]{16}$/.test(s.spanId) && !/^0+$/.test(s.spanId)), 'span ids');
      assert.is(new Set(roots.map((s) => s.traceId)).size, roots.length, 'a trace id a trace');
      assert.is(new Set([...roots, ...children].map((s) => s.spanId)).size, roots.length * 2, 'a span id a span');
      assert.ok(children.every((c, i) => c.traceId === roots[i]!.traceId), 'a child keeps its trace');
    } finally {
      await tracing.stop();
    }
  } finally {
    r.close();
  }
});

test('spans are dropped and counted, never queued without bound, when the worker is too far behind', async () => {
  const r = await receiver();
  try {
    // No batch may be outstanding: every batch is as if the worker were 16 behind.
    const tracing = await startTracing('tracing-test', { ...r.env }, 0);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const before = droppedSpans();
    for (let i = 0; i < 3; i++) {
      startSpan('call', undefined, undefined, SpanKind.SERVER).end();
      await new Promise((resolve) => setTimeout(resolve, 120)); // each its own batch
    }
    await tracing.stop();
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    assert.is(droppedSpans() - before, 3);
    assert.is(r.got.length, 0);
    // Said once, then counted.
    assert.equal(warnings.filter((w) => w.includes('spans are being dropped')).length, 1, JSON.stringify(warnings));
  } finally {
    r.close();
  }
});

test('over the default protocol (OTLP protobuf) each span arrives with the ids it was given, ids shared by many spans too', async () => {
  const r = await receiver();
  try {
    const { OTEL_EXPORTER_OTLP_PROTOCOL: _json, ...env } = r.env; // the receiver's JSON left out: the default protocol
    const tracing = await startTracing('tracing-test', env);
    const made: { traceId: string; spanId: string; parentSpanId: string; name: string }[] = [];
    // More ids than the worker keeps converted at once, each trace's and parent's given to several spans.
    for (let i = 0; i < 3000; i++) {
      const root = startSpan('call', i % 2 ? contextFrom({ traceparent: `00-${CALLER}-${CALLER_SPAN}-01` }) : undefined, undefined, SpanKind.SERVER);
      made.push({ traceId: root.traceId, spanId: root.spanId, parentSpanId: i % 2 ? CALLER_SPAN : '', name: 'call' });
      for (const name of ['auth', 'record']) {
        const child = startSpan(name, root);
        child.end();
        made.push({ traceId: root.traceId, spanId: child.spanId, parentSpanId: root.spanId, name });
      }
      root.end();
      // Several batches, none more than the SDK queues (2,048 spans by default: it drops what does not fit).
      if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await tracing.stop();
    assert.is(r.got.length, made.length);
    assert.ok(r.got.every((s) => s.service === 'tracing-test'));
    const key = (s: { traceId: string; spanId: string; parentSpanId: string; name: string }) => `${s.traceId} ${s.spanId} ${s.parentSpanId} ${s.name}`;
    assert.equal(r.got.map(key).sort(), made.map(key).sort());
  } finally {
    r.close();
  }
});

/** The nice value of each of this process's threads (Linux: /proc/self/task/<tid>/stat, its 19th field). */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

test('the SDK’s worker runs below the calls’ priority: its thread’s nice value is the process’s plus EXPORT_NICE', async () => {
  const r = await receiver();
  try {
    const own = getPriority();
    const below = Math.min(19, own + EXPORT_NICE);
    assert.ok(below > own, `this test needs a process that can be niced (it runs at ${own})`);
    assert.is(threadNices().filter((n) => n === below).length, 0, 'no thread below the process before tracing starts');
    const tracing = await startTracing('tracing-test', r.env);
    try {
      assert.is(threadNices().filter((n) => n === below).length, 1, `one thread at nice ${below}: ${threadNices().join(', ')}`);
      assert.is(getPriority(), own, 'the process itself keeps its priority');
      // And the thread still exports.
      startSpan('call', undefined, undefined, SpanKind.SERVER).end();
    } finally {
      await tracing.stop();
    }
    assert.equal(r.got.map((s) => s.name), ['call']);
  } finally {
    r.close();
  }
});

test('a sampler the specification does not name, or a ratio out of range, is refused at start', async () => {
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' };
  for (const [extra, expected] of [
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceid_ratio' }, /OTEL_TRACES_SAMPLER must be one of .*"parentbased_traceid_ratio"/],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '10' }, /OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1 \(got "10"\)/],
  ] as const) {
    try {
      await startTracing('tracing-test', { ...env, ...extra });
      assert.unreachable('started');
    } catch (err) {
      assert.match((err as Error).message, expected);
    }
    assert.not.ok(tracingOn());
  }
});

test.run();
