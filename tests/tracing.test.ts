// Tracing with OpenTelemetry, end to end: a real cpub-server and cpub-agent (processes of their own, Podman) export
// over OTLP/HTTP (JSON) to a receiver this test runs. One call made with a caller's `traceparent` is one trace: the
// control plane's spans (call, auth, placement, agent dispatch, record; admission only for a call that waited) under the caller's span, the
// agent's (agent invoke; run, and a cold start's phases) under the dispatch span, and the function's request and
// `ctx.trace` carrying the agent's span on. The execution record keeps the trace id, and the dashboard links it to
// the trace UI (CPUB_TRACE_URL); a call without a traceparent starts a trace of its own; a queued call's attempts are
// in the trace of the request that queued it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startServer, startAgentProcess, cleanEnv, serverBin, type RunningServer } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud, until } from './helpers/hooks.js';
import { fnArtifact } from './helpers/agent.js';

const s = suite('tracing: one call, one trace across control plane, agent and function (OTLP)');
const JOIN = 'join-token-for-tracing-0123456789';

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
  /** ms */
  durationMs: number;
}

let receiver: Server;
const spans: ReceivedSpan[] = [];
let server: RunningServer;
let agent: RunningServer;
let agentDir: string;
let api: Client;
let token: string;
let handle: string;

/** An OTLP/HTTP receiver (JSON encoding): every span posted to /v1/traces, with its resource's service.name. */
function startReceiver(): Promise<string> {
  receiver = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (p: Buffer) => parts.push(p));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: { traceId: string; spanId: string; parentSpanId?: string; name: string; startTimeUnixNano: string; endTimeUnixNano: string; attributes?: { key: string; value: Record<string, unknown> }[] }[] }[] }[] };
        for (const rs of body.resourceSpans) {
          const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const ss of rs.scopeSpans) {
            for (const sp of ss.spans) {
              const attributes = Object.fromEntries((sp.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]]));
              const durationMs = Number(BigInt(sp.endTimeUnixNano) - BigInt(sp.startTimeUnixNano)) / 1e6;
              spans.push({ service, traceId: sp.traceId, spanId: sp.spanId, parentSpanId: sp.parentSpanId ?? '', name: sp.name, attributes, durationMs });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  return new Promise((resolve) => receiver.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}`)));
}

s.before(
  loud(async () => {
    const otlp = await startReceiver();
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: otlp, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100' };
    server = await startServer({ CPUB_JOIN_TOKEN: JOIN, CPUB_TRACE_URL: 'https://traces.example/trace/{traceId}', ...otel });
    api = client(server.url);
    await api.post('/api/auth/register', { email: 'trace@example.com', password: 'trace-password-1' });
    token = (await api.post('/api/auth/login', { email: 'trace@example.com', password: 'trace-password-1' })).body.accessToken;
    handle = (await api.get('/api/users/me', token)).body.handle;
    agentDir = mkdtempSync(join(tmpdir(), 'cpub-tracing-'));
    agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: agentDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN, ...otel });
    await until('the node up', async () => (await api.get<{ nodes: { status: string }[] }>('/api/nodes', token)).body.nodes[0]?.status === 'up', 30_000);
    const created = await api.post('/api/functions', { name: 'traced', auth: 'public' }, token);
    assert.is(created.status, 201, JSON.stringify(created.body));
    const art = await fnArtifact(`(req, ctx) => Response.json({ header: req.headers.get('traceparent'), trace: ctx.trace })`);
    const res = await fetch(`${server.url}/api/functions/traced/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
    assert.is(res.status, 201, await res.text());
    // One call first: a team's first call waits for its quotas to be read (an admission span, on a loaded machine),
    // which the call below must not.
    assert.is((await fetch(`${server.url}/fn/${handle}/traced`)).status, 200);
  }),
);

s.after(
  loud(async () => {
    await agent?.stop();
    await server?.stop();
    if (agentDir) rmSync(agentDir, { recursive: true, force: true });
    receiver?.close();
  }),
);

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

s('a call with a traceparent: one trace from the caller through the control plane and the agent into the function', async () => {
  const res = await fetch(`${server.url}/fn/${handle}/traced`, { headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-01` } });
  assert.is(res.status, 200);
  const got = (await res.json()) as { header: string; trace: { traceparent: string; traceId: string; spanId: string; sampled: boolean } | null };
  const executionId = res.headers.get('cpub-execution-id')!;
  assert.ok(got.trace, 'ctx.trace is set');
  assert.is(got.trace!.traceId, TRACE, 'the function is in the caller’s trace');
  assert.is(got.trace!.traceparent, got.header, 'ctx.trace is the request’s traceparent');
  assert.is(got.trace!.sampled, true);
  assert.is.not(got.trace!.spanId, CALLER_SPAN, 'the function’s parent is the agent’s span, not the caller’s');

  await until('the spans of both processes exported', async () => spans.some((x) => x.traceId === TRACE && x.service === 'cpub-agent' && x.name === 'run') && spans.some((x) => x.traceId === TRACE && x.name === 'call'), 15_000, 100);
  const mine = spans.filter((x) => x.traceId === TRACE);
  const one = (name: string) => {
    const found = mine.filter((x) => x.name === name);
    assert.is(found.length, 1, `one ${name} span: ${JSON.stringify(mine.map((x) => x.name))}`);
    return found[0]!;
  };
  const call = one('call');
  assert.is(call.service, 'cpub-server');
  assert.is(call.parentSpanId, CALLER_SPAN, 'the call’s span is the child of the caller’s');
  assert.is(call.attributes['cpub.execution_id'], executionId);
  for (const name of ['auth', 'placement', 'agent dispatch', 'record']) {
    assert.is(one(name).parentSpanId, call.spanId, `${name} is a child of the call`);
    assert.is(one(name).service, 'cpub-server');
  }
  assert.not.ok(mine.some((x) => x.name === 'admission'), 'no admission span for a call that did not wait');
  const invoke = one('agent invoke');
  assert.is(invoke.service, 'cpub-agent');
  assert.is(invoke.parentSpanId, one('agent dispatch').spanId, 'the agent’s span is the child of the dispatch');
  assert.is(invoke.spanId, got.trace!.spanId, 'the function’s traceparent names the agent’s span');
  assert.is(one('run').parentSpanId, invoke.spanId);

  const exec = await api.get<{ execution: { traceId: string | null } }>(`/api/executions/${executionId}`, token);
  assert.is(exec.status, 200, JSON.stringify(exec.body));
  assert.is(exec.body.execution.traceId, TRACE, 'the record keeps the trace id');

  // The dashboard's execution page links to the trace UI (CPUB_TRACE_URL).
  const form = await fetch(`${server.url}/ui/login`);
  const csrfCookie = (form.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const login = await fetch(`${server.url}/ui/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie }, body: new URLSearchParams({ email: 'trace@example.com', password: 'trace-password-1', _csrf: csrf }) });
  const cookie = [csrfCookie, ...(login.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0])].join('; ');
  const page = await (await fetch(`${server.url}/ui/executions/${executionId}`, { headers: { cookie } })).text();
  assert.match(page, `id="execution-trace" href="https://traces.example/trace/${TRACE}"`);
});

s('a call without a traceparent starts its own trace, which the record, the spans and the function share', async () => {
  const res = await fetch(`${server.url}/fn/${handle}/traced`);
  const got = (await res.json()) as { trace: { traceId: string } | null };
  const traceId = got.trace?.traceId;
  assert.ok(traceId && /^[\da-f]{32}$/.test(traceId) && traceId !== TRACE, String(traceId));
  await until('its call span exported', async () => spans.some((x) => x.traceId === traceId && x.name === 'call' && x.parentSpanId === ''), 15_000, 100);
  const exec = await api.get<{ execution: { traceId: string | null } }>(`/api/executions/${res.headers.get('cpub-execution-id')}`, token);
  assert.is(exec.body.execution.traceId, traceId);
});

s('a queued call (Prefer: respond-async) is traced too: its attempt in the trace of the request that queued it', async () => {
  const trace = 'a'.repeat(31) + '1';
  const res = await fetch(`${server.url}/fn/${handle}/traced`, { headers: { traceparent: `00-${trace}-${CALLER_SPAN}-01`, prefer: 'respond-async' } });
  assert.is(res.status, 202, await res.clone().text());
  const { executionId } = (await res.json()) as { executionId: string };
  await until('the attempt’s spans exported', async () => spans.some((x) => x.traceId === trace && x.name === 'run') && spans.some((x) => x.traceId === trace && x.name === 'queued call attempt'), 20_000, 100);
  const attempt = spans.find((x) => x.traceId === trace && x.name === 'queued call attempt')!;
  assert.is(attempt.parentSpanId, CALLER_SPAN);
  assert.is(attempt.attributes['cpub.call_id'], executionId);
  assert.ok(spans.some((x) => x.traceId === trace && x.name === 'agent dispatch' && x.parentSpanId === attempt.spanId));
});

s('a streamed answer: its first event reaches the caller at once, and the call’s span ends with the stream', async () => {
  const created = await api.post('/api/functions', { name: 'streamy', auth: 'public' }, token);
  assert.is(created.status, 201, JSON.stringify(created.body));
  const art = await fnArtifact(`() => {
    let i = 0;
    return new Response(new ReadableStream({
      async pull(c) {
        if (i) await new Promise((r) => setTimeout(r, 400));
        if (i++ === 2) return c.close();
        c.enqueue(new TextEncoder().encode('data: ' + i + '\\n\\n'));
      },
    }), { headers: { 'content-type': 'text/event-stream' } });
  }`);
  const dep = await fetch(`${server.url}/api/functions/streamy/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
  assert.is(dep.status, 201, await dep.text());
  const trace = 'b'.repeat(31) + '2';
  const started = performance.now();
  const res = await fetch(`${server.url}/fn/${handle}/streamy`, { headers: { traceparent: `00-${trace}-${CALLER_SPAN}-01` } });
  assert.is(res.status, 200);
  const reader = res.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  const firstAfter = performance.now() - started;
  assert.match(first, 'data: 1');
  let rest = '';
  for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
  assert.match(rest, 'data: 2');
  assert.ok(firstAfter < performance.now() - started - 300, `the first event came ${firstAfter} ms in, before the rest`);
  await until('the streamed call’s spans exported', async () => spans.some((x) => x.traceId === trace && x.name === 'call') && spans.some((x) => x.traceId === trace && x.name === 'agent invoke'), 15_000, 100);
  const call = spans.find((x) => x.traceId === trace && x.name === 'call')!;
  assert.is(call.parentSpanId, CALLER_SPAN);
  assert.is(call.attributes['cpub.execution_id'], res.headers.get('cpub-execution-id'));
  assert.is(Number(call.attributes['http.response.status_code']), 200);
  // Ended with the stream (two 400 ms gaps), not when its head went.
  assert.ok(call.durationMs >= 750, `the call's span lasted ${call.durationMs} ms`);
  assert.ok(spans.some((x) => x.traceId === trace && x.name === 'agent dispatch' && x.parentSpanId === call.spanId));
});

s('an OTLP endpoint that is not an http(s) URL stops the server at start, saying so (no spans lost in silence)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-tracing-bad-'));
  const r = spawnSync(process.execPath, [serverBin, 'start'], { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL', env: cleanEnv({ CPUB_DATA_DIR: dir, CPUB_PORT: '0', OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' }) });
  rmSync(dir, { recursive: true, force: true });
  assert.is(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, 'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL');
});

s.run();
