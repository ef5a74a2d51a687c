// Streamed answers, end to end: a real cpub-server and cpub-agent (processes of their own, Podman). A function whose
// Response has a streamed body reaches its caller as it is produced — through the function URL, chunked, Server-Sent
// Events arriving before the function has finished — with backpressure from the caller's socket back to the
// function's stream (a caller that stops reading stops the function pulling; one that leaves cancels it), the
// deadline over the whole stream, an idle timeout between chunks, a size limit per function, and a failed stream cut
// (never ended cleanly). Every call keeps its record and log. Callers that take answers whole (the JSON invoke route,
// an Idempotency-Key) get the whole body; `cpub invoke` prints a stream as it arrives. Large request bodies stream
// into the function as it reads them (a function that stops reading stops its caller's upload), up to the
// function's requestLimitMb.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { get, request as httpRequest, type IncomingMessage } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { startServer, startAgentProcess, cleanEnv, repoRoot, type RunningServer } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud, until } from './helpers/hooks.js';
import { fnArtifact } from './helpers/agent.js';

const require = createRequire(import.meta.url);
const s = suite('streaming: answers a function streams reach the caller as they are made, with backpressure');
const JOIN = 'join-token-for-streaming-012345678';

let server: RunningServer;
let agent: RunningServer;
let agentDir: string;
let api: Client;
let token: string;
let handle: string;

/** Three Server-Sent Events, 400 ms apart. */
const SSE = `() => {
  const enc = new TextEncoder();
  let i = 0;
  return new Response(new ReadableStream({
    async pull(c) {
      if (i) await new Promise((r) => setTimeout(r, 400));
      if (i === 3) return c.close();
      c.enqueue(enc.encode('data: event ' + i++ + '\\n\\n'));
    },
  }), { headers: { 'content-type': 'text/event-stream' } });
}`;

/** As much as is asked for, 64 KiB at a time; says how much it made when cancelled. */
const FLOOD = `(req, ctx) => {
  let pulled = 0;
  const chunk = new Uint8Array(65536).fill(120);
  return new Response(new ReadableStream({
    pull(c) { pulled += chunk.length; c.enqueue(chunk); },
    cancel() { ctx.log.info('pulled ' + pulled); },
  }));
}`;

/** `n` chunks of 64 KiB, then the end. */
const SIZED = `(req) => {
  const n = Number(new URL(req.url).searchParams.get('chunks') ?? 1);
  let i = 0;
  return new Response(new ReadableStream({
    pull(c) { if (i++ === n) return c.close(); c.enqueue(new Uint8Array(65536).fill(97)); },
  }));
}`;

/** One chunk, then silence for 10 s. */
const STALL = `() => {
  let i = 0;
  return new Response(new ReadableStream({
    async pull(c) { if (i++) await new Promise((r) => setTimeout(r, 10000)); c.enqueue(new TextEncoder().encode('tick\\n')); },
  }));
}`;

/** A chunk every 200 ms, forever. */
const FOREVER = `() => new Response(new ReadableStream({
  async pull(c) { await new Promise((r) => setTimeout(r, 200)); c.enqueue(new TextEncoder().encode('tick\\n')); },
}))`;

/** One chunk, then its stream fails. */
const BROKEN = `() => {
  let i = 0;
  return new Response(new ReadableStream({
    pull(c) { if (i++) throw new Error('the source went away'); c.enqueue(new TextEncoder().encode('first\\n')); },
  }));
}`;

/** Reads its body as a stream: its size and SHA-256, or the error its read failed with. */
const COUNT = `async (req) => {
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256');
  let bytes = 0;
  try {
    for await (const c of req.body) { bytes += c.length; h.update(c); }
  } catch (e) {
    return Response.json({ bytes, error: e.message });
  }
  return Response.json({ bytes, sha: h.digest('hex') });
}`;

/** Reads one chunk of its body, then nothing for 2 s, and answers. */
const SLOW_READER = `async (req) => {
  const first = await req.body.getReader().read();
  await new Promise((r) => setTimeout(r, 2000));
  return Response.json({ first: first.value?.length ?? 0 });
}`;

async function deploy(name: string, handler: string, settings: Record<string, unknown> = {}): Promise<void> {
  const created = await api.post('/api/functions', { name, auth: 'public', ...settings }, token);
  assert.is(created.status, 201, JSON.stringify(created.body));
  const art = await fnArtifact(handler);
  const res = await fetch(`${server.url}/api/functions/${name}/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
  assert.is(res.status, 201, await res.text());
}

s.before(
  loud(async () => {
    server = await startServer({ CPUB_JOIN_TOKEN: JOIN });
    api = client(server.url);
    await api.post('/api/auth/register', { email: 'stream@example.com', password: 'stream-password-1' });
    token = (await api.post('/api/auth/login', { email: 'stream@example.com', password: 'stream-password-1' })).body.accessToken;
    handle = (await api.get('/api/users/me', token)).body.handle;
    agentDir = mkdtempSync(join(tmpdir(), 'cpub-streaming-'));
    agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: agentDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN, CPUB_AGENT_STREAM_IDLE: '1s' });
    await until('the node up', async () => (await api.get<{ nodes: { status: string }[] }>('/api/nodes', token)).body.nodes[0]?.status === 'up', 30_000);
    await deploy('sse', SSE);
    await deploy('flood', FLOOD, { timeoutMs: 60_000, responseLimitMb: 10_240 });
    await deploy('sized', SIZED, { responseLimitMb: 1, timeoutMs: 20_000 });
    await deploy('stall', STALL, { timeoutMs: 20_000 });
    await deploy('forever', FOREVER, { timeoutMs: 2000 });
    await deploy('broken', BROKEN);
    await deploy('count', COUNT, { requestLimitMb: 64 });
    await deploy('small-count', COUNT, { requestLimitMb: 2 });
    await deploy('slow-reader', SLOW_READER);
    await deploy('whole-big', `(req) => new Response(new Uint8Array(Number(new URL(req.url).searchParams.get('mb')) * 1048576).fill(122))`);
  }),
);

s.after(
  loud(async () => {
    await agent?.stop();
    await server?.stop();
    if (agentDir) rmSync(agentDir, { recursive: true, force: true });
  }),
);

interface Heard {
  res: IncomingMessage;
  chunks: { at: number; text: string }[];
  /** The body ended cleanly (the terminating chunk came); false: the connection was cut. */
  complete: boolean;
  endedAt: number;
}

/** A raw HTTP GET that notes when each chunk arrives and whether the body ended cleanly or was cut. */
function listen(path: string): Promise<Heard> {
  return new Promise((resolve, reject) => {
    get(`${server.url}${path}`, (res) => {
      const chunks: { at: number; text: string }[] = [];
      res.on('data', (d: Buffer) => chunks.push({ at: performance.now(), text: d.toString('utf8') }));
      res.on('end', () => resolve({ res, chunks, complete: res.complete, endedAt: performance.now() }));
      res.on('error', () => resolve({ res, chunks, complete: false, endedAt: performance.now() }));
      res.on('aborted', () => {});
    }).on('error', reject);
  });
}

async function record(id: string): Promise<{ status: string; error: string | null; httpStatus: number; coldStart: boolean; logs?: { message: string }[] }> {
  let got: { status: number; body: { execution?: { status: string; error: string | null; httpStatus: number; coldStart: boolean; logs?: { message: string }[] } } } | undefined;
  await until(`execution ${id} recorded`, async () => {
    got = await api.get(`/api/executions/${id}`, token);
    return got.status === 200 && got.body.execution !== undefined;
  }, 15_000, 100);
  return got!.body.execution!;
}

s('Server-Sent Events: each event arrives as the function makes it, chunked, before the function finishes', async () => {
  const t0 = performance.now();
  const heard = await listen(`/fn/${handle}/sse`);
  assert.is(heard.res.statusCode, 200);
  assert.is(heard.res.headers['content-type'], 'text/event-stream');
  assert.is(heard.res.headers['transfer-encoding'], 'chunked', 'no Content-Length: the length is not known when the answer begins');
  assert.ok(heard.complete, 'the stream ended cleanly');
  const body = heard.chunks.map((c) => c.text).join('');
  assert.is(body, 'data: event 0\n\ndata: event 1\n\ndata: event 2\n\n');
  const first = heard.chunks.find((c) => c.text.includes('event 0'))!;
  // The function waits 400 ms before each of its later events: the first must be here ≥ 700 ms before the end.
  assert.ok(heard.endedAt - first.at >= 700, `the first event came ${Math.round(first.at - t0)} ms in, the end ${Math.round(heard.endedAt - t0)} ms in`);
  const rec = await record(String(heard.res.headers['cpub-execution-id']));
  assert.is(rec.status, 'success');
  assert.is(rec.httpStatus, 200);
});

s('a streamed answer’s Server-Timing says where its time went until its head, a cold start’s phases included', async () => {
  // Two at once on a function that takes one call per container: one of them starts a container (a cold start).
  const both = await Promise.all([listen(`/fn/${handle}/sse`), listen(`/fn/${handle}/sse`)]);
  const timings = both.map((h) => String(h.res.headers['server-timing']));
  for (const t of timings) assert.match(t, /^placement;dur=\d+(, cold;desc="(stem|container)", create;dur=\d+, start;dur=\d+, ready;dur=\d+)?, run;dur=\d+, agent;desc="round trip to the agent";dur=[\d.]+, record;desc="execution row";dur=0, total;dur=\d+$/);
  const cold = both.filter((h) => String(h.res.headers['server-timing']).includes('cold;desc='));
  assert.is(cold.length, 1, timings.join(' | '));
  const rec = await record(String(cold[0]!.res.headers['cpub-execution-id']));
  assert.is(rec.coldStart, true, 'its record says so too');
});

s('backpressure: a caller that stops reading stops the function; leaving cancels its stream, and the call is recorded', async () => {
  const { id, received } = await new Promise<{ id: string; received: number }>((resolve, reject) => {
    const req = httpRequest(`${server.url}/fn/${handle}/flood`, (res) => {
      let received = 0;
      res.once('data', (d: Buffer) => {
        received += d.length;
        // Stop reading for 2 s: unchecked, the function would make gigabytes in that time.
        res.pause();
        setTimeout(() => {
          req.destroy();
          resolve({ id: String(res.headers['cpub-execution-id']), received });
        }, 2000);
      });
    });
    req.on('error', () => {});
    req.on('close', () => {});
    req.end();
    setTimeout(() => reject(new Error('no first chunk in 20 s')), 20_000);
  });
  assert.ok(received > 0);
  const rec = await record(id);
  assert.is(rec.status, 'success', 'the function did nothing wrong: its caller left');
  const line = rec.logs?.find((l) => l.message.startsWith('pulled '));
  assert.ok(line, `the function's stream was cancelled (its cancel() logged): ${JSON.stringify(rec.logs)}`);
  const pulled = Number(line!.message.slice('pulled '.length));
  // The windows (1 MiB per hop) and the sockets' buffers between: tens of megabytes at most, never more.
  assert.ok(pulled < 48 * 2 ** 20, `the function made ${pulled} bytes while nobody read`);
});

s('the function’s size limit (responseLimitMb) cuts a stream past it, and the call fails', async () => {
  const within = await listen(`/fn/${handle}/sized?chunks=8`);
  assert.ok(within.complete, 'half a MiB is within the 1 MiB limit');
  assert.is(within.chunks.reduce((n, c) => n + c.text.length, 0), 8 * 65536);
  const over = await listen(`/fn/${handle}/sized?chunks=40`);
  assert.is(over.res.statusCode, 200, 'the answer had begun');
  assert.not.ok(over.complete, 'the body is cut, never ended cleanly');
  const rec = await record(String(over.res.headers['cpub-execution-id']));
  assert.is(rec.status, 'error');
  assert.match(rec.error ?? '', /passed its limit of 1048576 bytes/);
});

s('an idle stream (nothing sent for CPUB_AGENT_STREAM_IDLE while the caller reads) is cut as a timeout', async () => {
  const t0 = performance.now();
  const heard = await listen(`/fn/${handle}/stall`);
  assert.not.ok(heard.complete);
  assert.is(heard.chunks.map((c) => c.text).join(''), 'tick\n');
  assert.ok(heard.endedAt - t0 < 6000, `cut after ${Math.round(heard.endedAt - t0)} ms (idle timeout 1 s), not at the 10 s pause's end`);
  const rec = await record(String(heard.res.headers['cpub-execution-id']));
  assert.is(rec.status, 'timeout');
  assert.match(rec.error ?? '', /sent nothing of its streamed answer for 1000 ms/);
});

s('the deadline covers the whole stream: a stream that never ends is cut at the function’s timeout', async () => {
  const t0 = performance.now();
  const heard = await listen(`/fn/${handle}/forever`);
  assert.not.ok(heard.complete);
  assert.ok(heard.chunks.length >= 3, `ticks came before the deadline: ${heard.chunks.length}`);
  const took = heard.endedAt - t0;
  assert.ok(took >= 1800 && took < 6000, `cut after ${Math.round(took)} ms (timeout 2 s)`);
  const rec = await record(String(heard.res.headers['cpub-execution-id']));
  assert.is(rec.status, 'timeout');
});

s('a stream that fails midway is cut, recorded as an error, and its error is in the call’s log', async () => {
  const heard = await listen(`/fn/${handle}/broken`);
  assert.not.ok(heard.complete);
  assert.is(heard.chunks.map((c) => c.text).join(''), 'first\n');
  const rec = await record(String(heard.res.headers['cpub-execution-id']));
  assert.is(rec.status, 'error');
  assert.match(rec.error ?? '', /the source went away/);
  assert.ok(rec.logs?.some((l) => l.message.includes('the source went away')), JSON.stringify(rec.logs));
});

s('callers that take answers whole get the whole body: the JSON invoke route, and an Idempotency-Key', async () => {
  const whole = await api.post(`/api/functions/sse/invoke`, { method: 'GET' }, token);
  assert.is(whole.status, 200, JSON.stringify(whole.body));
  assert.is(whole.body.body, 'data: event 0\n\ndata: event 1\n\ndata: event 2\n\n');
  const keyed = await fetch(`${server.url}/fn/${handle}/sse`, { headers: { 'idempotency-key': 'stream-once-1' } });
  assert.is(keyed.headers.get('content-length'), String('data: event 0\n\n'.length * 3));
  assert.is(await keyed.text(), 'data: event 0\n\ndata: event 1\n\ndata: event 2\n\n');
  const again = await fetch(`${server.url}/fn/${handle}/sse`, { headers: { 'idempotency-key': 'stream-once-1' } });
  assert.is(again.headers.get('idempotent-replayed'), 'true');
  assert.is(await again.text(), 'data: event 0\n\ndata: event 1\n\ndata: event 2\n\n');
  // Taken whole, an answer is capped as whole answers are (16 MiB), whatever the function's stream limit.
  const big = await api.post(`/api/functions/flood/invoke`, { method: 'GET' }, token);
  assert.is(big.status, 502, JSON.stringify(big.body));
  assert.match(big.body.detail, /larger than 16 MiB/);
});

s('cpub invoke prints a stream as it arrives', async () => {
  const home = mkdtempSync(join(tmpdir(), 'cpub-streaming-cli-'));
  try {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'cpub.js'), 'invoke', 'sse'], { env: cleanEnv({ HOME: home, CPUB_SERVER: server.url, CPUB_TOKEN: token }) });
    const t0 = performance.now();
    let out = '';
    let firstAt = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (!firstAt && out.includes('event 0')) firstAt = performance.now();
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const endAt = performance.now();
    assert.is(code, 0, err);
    assert.is(out, 'data: event 0\n\ndata: event 1\n\ndata: event 2\n\n');
    assert.ok(firstAt > 0 && endAt - firstAt >= 700, `the first event printed ${Math.round(firstAt - t0)} ms in, the command ended ${Math.round(endAt - t0)} ms in`);
    // A cut stream is an error, naming the execution.
    const cut = spawn(process.execPath, [join(repoRoot, 'bin', 'cpub.js'), 'invoke', 'broken'], { env: cleanEnv({ HOME: home, CPUB_SERVER: server.url, CPUB_TOKEN: token }) });
    let cutErr = '';
    cut.stderr.on('data', (d: Buffer) => (cutErr += d.toString('utf8')));
    const cutCode = await new Promise<number | null>((resolve) => cut.on('close', resolve));
    assert.is.not(cutCode, 0);
    assert.match(cutErr, /cut off/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

/**
 * POSTs `total` bytes (64 KiB chunks of a repeating pattern, chunked: no length) as fast as the connection takes
 * them: the answer, its headers, and how many bytes the client had written (taken by its socket) when it came.
 */
function upload(path: string, total: number, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingMessage['headers']; body: string; written: number; sha: string }> {
  return new Promise((resolve, reject) => {
    const { createHash } = require('node:crypto') as typeof import('node:crypto');
    const hash = createHash('sha256');
    let written = 0;
    let answered = false;
    const req = httpRequest(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', ...headers } }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString('utf8'), written, sha: hash.digest('hex') }));
    });
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const chunk = Buffer.alloc(65536, 'abcdefgh');
    let sent = 0;
    const pump = () => {
      while (!answered && sent < total) {
        const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += piece.length;
        hash.update(piece);
        const more = req.write(piece, () => (written += piece.length));
        if (!more) return void req.once('drain', pump);
      }
      if (sent >= total) req.end();
    };
    pump();
  });
}

s('a large request body streams into the function as it reads it, whole and in order', async () => {
  const got = await upload(`/fn/${handle}/count`, 30 * 2 ** 20);
  assert.is(got.status, 200, got.body);
  const answer = JSON.parse(got.body) as { bytes: number; sha: string };
  assert.is(answer.bytes, 30 * 2 ** 20);
  assert.is(answer.sha, got.sha, 'the bytes the function read are the bytes sent');
  const rec = await record(String(got.headers['cpub-execution-id']));
  assert.is(rec.status, 'success');
  const listed = await api.get<{ executions: { id: string; request: { bytes: number } }[] }>(`/api/functions/count/executions?limit=5`, token);
  assert.is(listed.body.executions.find((e) => e.id === got.headers['cpub-execution-id'])?.request.bytes, 30 * 2 ** 20, 'the record has the body’s size');
});

s('a function that stops reading its body stops its caller’s upload (backpressure), and the connection ends with its answer', async () => {
  const got = await upload(`/fn/${handle}/slow-reader`, 100 * 2 ** 20);
  assert.is(got.status, 200, got.body);
  assert.is(got.headers.connection, 'close', 'the unread rest is not read: the connection closes');
  // The first bytes with the call (1 MiB), a window per hop (1 MiB each) and the sockets' buffers: never the 100 MiB.
  assert.ok(got.written < 32 * 2 ** 20, `the client got ${got.written} bytes out while the function read nothing`);
});

s('whole answers and bodies over gRPC’s default 4 MiB message pass, and the call stream carries on', async () => {
  const big = await fetch(`${server.url}/fn/${handle}/whole-big?mb=12`);
  assert.is(big.status, 200);
  assert.is(big.headers.get('content-length'), String(12 * 2 ** 20), 'a whole answer keeps its length');
  assert.is((await big.arrayBuffer()).byteLength, 12 * 2 ** 20);
  // A whole body of 5 MB in the JSON envelope: one message to the agent.
  const counted = await api.post(`/api/functions/count/invoke`, { method: 'POST', body: 'y'.repeat(5 * 10 ** 6) }, token);
  assert.is(counted.status, 200, JSON.stringify(counted.body).slice(0, 300));
  assert.is((JSON.parse(counted.body.body) as { bytes: number }).bytes, 5 * 10 ** 6);
  const after = await fetch(`${server.url}/fn/${handle}/whole-big?mb=1`);
  assert.is(after.status, 200);
});

s('a body over the function’s requestLimitMb: 413 when its length says so, else the function’s read fails', async () => {
  const declared = await fetch(`${server.url}/fn/${handle}/small-count`, { method: 'POST', body: new Uint8Array(3 * 2 ** 20) });
  assert.is(declared.status, 413);
  assert.match(((await declared.json()) as { detail: string }).detail, /over 2097152 bytes/);
  const chunked = await upload(`/fn/${handle}/small-count`, 3 * 2 ** 20);
  assert.is(chunked.status, 200, chunked.body);
  const answer = JSON.parse(chunked.body) as { bytes: number; error?: string };
  assert.match(answer.error ?? '', /over 2097152 bytes/);
  assert.ok(answer.bytes <= 2 * 2 ** 20, `the function read ${answer.bytes} bytes`);
});

s.run();
