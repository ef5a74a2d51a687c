// The shim's two call sockets, on the host (no container): the HTTP contract and the multiplexed one the agent
// uses (frames.ts, mux-client.ts) give the same answers; many calls share a connection without waiting on each
// other; an answer past the limit, a deadline, garbage on the socket and the shim's death each fail only what
// they should.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MuxClient, answerHead } from '../node-agent/src/pool/mux-client.js';
import { FrameReader, encodeFrame } from '../node-agent/src/shim/frames.js';
import { loud } from './helpers/hooks.js';

const s = suite('shim call sockets');
const SHIM = fileURLToPath(new URL('../node-agent/src/shim/shim.js', import.meta.url));
let dir: string;
let shim: ChildProcess;
let mux: MuxClient;

const FUNCTION = `export default async (req, ctx) => {
  const u = new URL(req.url);
  if (u.pathname === '/throw') throw new Error('boom');
  if (u.pathname === '/big') return new Response(new Uint8Array(2 * 1024 * 1024));
  if (u.pathname === '/slow') { await new Promise((r) => setTimeout(r, 400)); return new Response('slow'); }
  if (u.pathname === '/empty') return new Response(null, { status: 204 });
  console.log('hello', ctx.invocationId);
  return new Response(JSON.stringify({ method: req.method, path: u.pathname, q: u.search, body: await req.text(), a: req.headers.get('x-a'), id: ctx.invocationId }), { status: 201, headers: { 'x-b': '1', 'cpub-forged': 'x' } });
};`;

async function startShim(): Promise<void> {
  for (const f of ['fn.sock', 'mux.sock']) rmSync(join(dir, f), { force: true }); // a killed shim's are left
  shim = spawn(process.execPath, [SHIM], {
    env: { PATH: process.env.PATH, CPUB_SOCKET: join(dir, 'fn.sock'), CPUB_MUX_SOCKET: join(dir, 'mux.sock'), CPUB_BUNDLE: join(dir, 'fn.mjs'), CPUB_MAX_RESPONSE_BYTES: String(2 ** 20) },
    stdio: 'ignore',
  });
  for (const end = Date.now() + 10_000; !existsSync(join(dir, 'fn.sock')); ) {
    if (Date.now() > end) throw new Error('the shim did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  mux = new MuxClient(join(dir, 'mux.sock'), 8 * 2 ** 20);
}

type Head = { s: number; h: [string, string][]; l: string; e?: number; big?: number };
const viaMux = async (u: string, o: { m?: string; body?: string; h?: [string, string][]; timeoutMs?: number } = {}) => {
  const r = await mux.call({ m: o.m ?? 'GET', u, h: o.h ?? [], i: `inv-${u}`, d: Date.now() + 10_000 }, Buffer.from(o.body ?? ''), o.timeoutMs ?? 10_000);
  return { head: r.head as Head, body: r.body.toString() };
};
const viaHttp = (path: string, o: { method?: string; body?: string; headers?: Record<string, string> } = {}) =>
  new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request({ socketPath: join(dir, 'fn.sock'), path, method: o.method ?? 'GET', headers: { 'cpub-invocation-id': `inv-${path}`, 'cpub-deadline': String(Date.now() + 10_000), ...o.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
const logOf = (encoded: string | undefined) => (JSON.parse(Buffer.from(encoded ?? '', 'base64').toString()) as { lines: { m: string }[] }).lines.map((l) => l.m);

s.before(
  loud(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cpub-shim-'));
    writeFileSync(join(dir, 'fn.mjs'), FUNCTION);
    await startShim();
  }),
);

s.after(
  loud(async () => {
    mux?.close();
    shim?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }),
);

s('the same call over HTTP and over the multiplexed socket gives the same answer and log', async () => {
  const m = await viaMux('/things?q=1', { m: 'POST', body: 'payload', h: [['x-a', 'A'], ['cpub-deadline', '1']] });
  const h = await viaHttp('/things?q=1', { method: 'POST', body: 'payload', headers: { 'x-a': 'A' } });
  assert.is(m.head.s, 201);
  assert.is(h.status, 201);
  assert.equal(JSON.parse(m.body), JSON.parse(h.body));
  assert.equal(JSON.parse(m.body), { method: 'POST', path: '/things', q: '?q=1', body: 'payload', a: 'A', id: 'inv-/things?q=1' });
  assert.equal(m.head.h.filter(([k]) => k === 'x-b'), [['x-b', '1']]);
  assert.is(h.headers['x-b'], '1');
  assert.not.ok(m.head.h.some(([k]) => k.startsWith('cpub-')), 'a function cannot set cpub-* headers');
  assert.equal(logOf(m.head.l), ['hello inv-/things?q=1']);
  assert.equal(logOf(h.headers['cpub-logs'] as string), ['hello inv-/things?q=1']);
});

s('calls on one connection do not wait for each other: a fast one overtakes a slow one', async () => {
  const order: string[] = [];
  const slow = viaMux('/slow').then((r) => order.push(r.body));
  await new Promise((r) => setTimeout(r, 50));
  const fast = viaMux('/').then(() => order.push('fast'));
  await Promise.all([slow, fast]);
  assert.equal(order, ['fast', 'slow']);
  const many = await Promise.all(Array.from({ length: 50 }, (_, i) => viaMux(`/n${i}`)));
  assert.equal(many.map((r) => JSON.parse(r.body).path), Array.from({ length: 50 }, (_, i) => `/n${i}`), 'each answer reaches its own call');
});

s('a thrown error is flagged; 204 and HEAD answers carry no body', async () => {
  const t = await viaMux('/throw');
  assert.is(t.head.s, 500);
  assert.is(t.head.e, 1);
  assert.match(JSON.parse(t.body).message, 'boom');
  assert.ok(logOf(t.head.l).some((l) => l.includes('Error: boom')), 'the stack is in the call’s log');
  const empty = await viaMux('/empty');
  assert.equal([empty.head.s, empty.body], [204, '']);
  const head = await viaMux('/', { m: 'HEAD' });
  assert.equal([head.head.s, head.body], [201, '']);
});

s('an answer past the limit is refused by the shim, and the connection goes on', async () => {
  const big = await viaMux('/big');
  assert.is(big.head.big, 2 * 1024 * 1024);
  assert.is(big.body, '');
  assert.is((await viaMux('/')).head.s, 201);
});

s('a deadline fails only its own call; a late answer is dropped', async () => {
  const err = await viaMux('/slow', { timeoutMs: 50 }).catch((e: Error) => e);
  assert.instance(err, Error);
  assert.is((err as Error).name, 'TimeoutError');
  assert.is((await viaMux('/')).head.s, 201);
  await new Promise((r) => setTimeout(r, 450)); // the slow answer arrives, for a call no longer waiting
  assert.is((await viaMux('/')).head.s, 201);
});

s('garbage on the socket closes that connection only; frames split anywhere are read whole', async () => {
  const bad = createConnection(join(dir, 'mux.sock'));
  const closed = new Promise((r) => bad.on('close', r));
  bad.write(Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4]));
  await closed;
  assert.is((await viaMux('/')).head.s, 201);

  const frames: [number, unknown, string][] = [];
  const reader = new FrameReader(1024, (id, head, body) => frames.push([id, head, body.toString()]));
  const bytes = Buffer.concat([...encodeFrame(7, { a: 1 }, Buffer.from('xyz')), ...encodeFrame(8, { b: 2 })]);
  for (const b of bytes) reader.push(Buffer.from([b])); // one byte at a time
  assert.equal(frames, [
    [7, { a: 1 }, 'xyz'],
    [8, { b: 2 }, ''],
  ]);
  assert.throws(() => new FrameReader(16, () => {}).push(Buffer.concat(encodeFrame(1, { big: 'x'.repeat(64) }))), /out of bounds/);
});

s('a request header the Headers class refuses fails that call only (400), not the connection', async () => {
  const bad = await viaMux('/', { h: [['bad name', 'x']] });
  assert.is(bad.head.s, 400);
  assert.match(bad.body, 'invalid request header');
  assert.is((await viaMux('/')).head.s, 201, 'the connection goes on');
});

s('the agent checks an answer head as an HTTP parser would: anything malformed is an error, not passed on', () => {
  const keep = (k: string) => !k.startsWith('cpub-');
  assert.equal(answerHead({ s: 201, h: [['x-b', '1'], ['cpub-x', 'y']], l: 'e30=', e: 1 }, keep), { status: 201, headers: [['x-b', '1']], functionError: true, log: 'e30=' });
  assert.is(answerHead({ s: 502, h: [], big: 123 }, keep).big, 123);
  for (const bad of [null, {}, { s: '200', h: [] }, { s: 99, h: [] }, { s: 200 }, { s: 200, h: [['X-Upper', 'v']] }, { s: 200, h: [['x', 'a\r\nSet-Cookie: y']] }, { s: 200, h: [['x']] }, { s: 200, h: [[1, 'v']] }, { s: 200, h: [], l: 5 }, { big: 'x' }]) {
    assert.throws(() => answerHead(bad, keep), /malformed/, JSON.stringify(bad));
  }
});

s('the shim dying fails the calls in flight at once, not at their deadlines', async () => {
  const inFlight = viaMux('/slow').catch((e: Error) => e);
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  shim.kill('SIGKILL');
  const err = await inFlight;
  assert.instance(err, Error);
  assert.ok(Date.now() - t0 < 1000, 'failed at once');
  mux.close();
  await startShim();
  assert.is((await viaMux('/')).head.s, 201, 'a new shim serves again');
});

s.run();
