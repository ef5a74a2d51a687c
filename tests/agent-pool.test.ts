// Function containers on real Podman (rootful, runc): builds, cold and warm calls, isolation, limits,
// deadlines, crashes and log caps — through the agent's pools, no gRPC yet.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRuntime } from '../node-agent/src/runtime/container-runtime.js';
import { LABELS } from '../node-agent/src/images/function-image.js';
import { Pools } from '../node-agent/src/pool/pools.js';
import type { CallRequest, FunctionSpec } from '../node-agent/src/pool/types.js';
import { loud } from './helpers/hooks.js';
import { podmanFixture, stopPoolsAndFixture, type PodmanFixture } from './helpers/podman-fixture.js';

const s = suite('agent pools on Podman');
let fx: PodmanFixture;
let dir: string;
let runtime: ContainerRuntime;
let pools: Pools;
const epoch = randomUUID();
const nodeId = randomUUID();
const live: { id: string; message: string }[] = [];

const deploy = (handler: string, over: Partial<FunctionSpec> = {}) => fx.deploy(handler, over);

const call = (spec: FunctionSpec, over: Partial<CallRequest> = {}) =>
  pools.invoke(spec, { invocationId: randomUUID(), deadlineMs: Date.now() + 15_000, method: 'GET', path: '/', query: '', headers: [], body: Buffer.alloc(0), ...over });

s.before(
  loud(async () => {
    fx = await podmanFixture('cpub-pool-');
    ({ dir, runtime } = fx);
    pools = new Pools(runtime, { isolation: fx.isolation, dataDir: dir, nodeId, epoch, logCapBytes: 64 * 1024, idleTimeoutMs: 60_000, maxContainers: 20, onCallLine: (_spec, id, line) => live.push({ id, message: line.message }) });
    await pools.start();
  }),
);

s.after(loud(() => stopPoolsAndFixture(pools, fx)));

s('cold then warm call: the function’s status, headers, body and log line come back', async () => {
  const spec = await deploy(`{
    async fetch(request, ctx) {
      console.log('hello from', ctx.invocationId, request.method, new URL(request.url).pathname);
      ctx.log.warn('structured');
      return new Response('made: ' + (await request.text()), { status: 201, headers: { 'x-hello': 'world' } });
    }
  }`);
  const id = randomUUID();
  const cold = await call(spec, { invocationId: id, method: 'POST', path: '/things', body: Buffer.from('a widget') });
  assert.is(cold.outcome, 'ok', cold.error);
  assert.is(cold.status, 201);
  assert.is(cold.body.toString(), 'made: a widget');
  assert.ok(cold.headers.some(([k, v]) => k === 'x-hello' && v === 'world'));
  assert.ok(cold.timings.coldStart);
  assert.ok(cold.timings.createMs > 0 && cold.timings.startMs > 0);
  assert.ok(cold.logs.some((l) => l.message === `hello from ${id} POST /things`), JSON.stringify(cold.logs));
  assert.ok(cold.logs.some((l) => l.stream === 'ctx' && l.level === 'warn' && l.message === 'structured'));
  const warm = await call(spec);
  assert.is(warm.outcome, 'ok');
  assert.not.ok(warm.timings.coldStart, 'the second call reuses the warm container');
  assert.is(warm.logs.length, 2, 'each call gets only its own lines');
  // Calls went over the shim's multiplexed socket, which sits beside its HTTP one in the container's folder.
  const folders = readdirSync(join(dir, 'run')).map((f) => readdirSync(join(dir, 'run', f)));
  assert.ok(folders.some((files) => files.includes('mux.sock') && files.includes('fn.sock')), JSON.stringify(folders));
});

s('live log lines carry only real invocation ids: the function cannot open its own line to the agent', async () => {
  const spec = await deploy(`async () => {
    const net = await import('node:net');
    const spoof = JSON.stringify({ i: 'made-up-id', t: Date.now(), s: 'stdout', l: 'info', m: 'spoofed' }) + '\\n';
    const closed = await new Promise((resolve) => {
      const s = net.createConnection(process.env.CPUB_LOG_SOCKET, () => s.write(spoof));
      s.on('close', () => resolve('closed'));
      s.on('error', () => {});
      setTimeout(() => resolve('open'), 2000);
    });
    console.log('genuine', closed);
    return new Response('ok');
  }`);
  const id = randomUUID();
  const r = await call(spec, { invocationId: id });
  assert.is(r.outcome, 'ok', r.error);
  assert.ok(r.logs.some((l) => l.message === 'genuine closed'), JSON.stringify(r.logs));
  await new Promise((res) => setTimeout(res, 300));
  assert.ok(live.some((l) => l.id === id && l.message === 'genuine closed'), 'the real line is live');
  assert.not.ok(live.some((l) => l.message === 'spoofed' || l.id === 'made-up-id'), JSON.stringify(live.filter((l) => l.id !== id)));
  assert.not.ok((await call(spec)).timings.coldStart, 'the container lives on');
});

s('returning a plain value sends JSON; a thrown error is a 500 with the stack in the log', async () => {
  const json = await deploy(`async () => ({ ok: true })`);
  const r = await call(json);
  assert.is(r.status, 200);
  assert.equal(JSON.parse(r.body.toString()), { ok: true });
  const thrower = await deploy(`async () => { throw new Error('kaboom') }`);
  const e = await call(thrower);
  assert.is(e.outcome, 'error');
  assert.is(e.status, 500);
  assert.ok(e.logs.some((l) => l.message.includes('kaboom') && l.message.includes('at ')), 'stack logged');
});

s('inside a function container: no capabilities, no-new-privileges, non-root, read-only root, /tmp capped, only lo', async () => {
  const spec = await deploy(`async () => {
    const fs = await import('node:fs');
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const field = (k) => status.match(new RegExp(k + ':\\\\s*(\\\\S+)'))[1];
    let rootWrite = 'ok';
    try { fs.writeFileSync('/x', 'y'); } catch (e) { rootWrite = e.code; }
    let tmpWrite = 'ok';
    try { for (let i = 0; i < 100; i++) fs.appendFileSync('/tmp/big', Buffer.alloc(1 << 20)); } catch (e) { tmpWrite = e.code; }
    const ifaces = fs.readFileSync('/proc/net/dev', 'utf8').split('\\n').slice(2).map((l) => l.split(':')[0].trim()).filter(Boolean);
    // The socket folder is shared with the agent: swapping the socket for a symlink (to the Podman API, say)
    // or filling the folder must be impossible once the function is running.
    let sockSwap = 'ok';
    try { fs.unlinkSync('/run/cpub/fn.sock'); fs.symlinkSync('../../podman/podman.sock', '/run/cpub/fn.sock'); } catch (e) { sockSwap = e.code; }
    let runWrite = 'ok';
    try { fs.writeFileSync('/run/cpub/junk', 'x'); } catch (e) { runWrite = e.code; }
    return { capEff: field('CapEff'), noNewPrivs: field('NoNewPrivs'), uid: process.getuid(), rootWrite, tmpWrite, ifaces, sockSwap, runWrite };
  }`);
  const r = await call(spec);
  assert.is(r.outcome, 'ok', r.error + JSON.stringify(r.logs));
  const p = JSON.parse(r.body.toString());
  assert.is(p.capEff, '0000000000000000');
  assert.is(p.noNewPrivs, '1');
  assert.is.not(p.uid, 0);
  assert.is(p.rootWrite, 'EROFS');
  assert.is(p.tmpWrite, 'ENOSPC', '/tmp is a small tmpfs');
  assert.equal(p.ifaces, ['lo']);
  assert.is(p.sockSwap, 'EACCES', 'the socket cannot be swapped');
  assert.is(p.runWrite, 'EACCES', 'the socket folder cannot be written');
  assert.is((await call(spec)).outcome, 'ok', 'the next call still reaches the function');
});

s('a container that dies while idle is noticed: the next call gets a new container, not a crash', async () => {
  const spec = await deploy(`async () => { setTimeout(() => process.exit(5), 100); return 'bye'; }`);
  assert.is((await call(spec)).outcome, 'ok');
  await new Promise((r) => setTimeout(r, 800));
  const next = await call(spec);
  assert.is(next.outcome, 'ok', next.error);
  assert.ok(next.timings.coldStart, 'a fresh container');
});

s('spare slots of a container are used while it starts: concurrency 4 runs four calls at once', async () => {
  const spec = await deploy(`async () => { await new Promise((r) => setTimeout(r, 1000)); return 'done'; }`, { concurrency: 4, maxInstances: 1 });
  const t0 = Date.now();
  const rs = await Promise.all(Array.from({ length: 4 }, () => call(spec)));
  assert.ok(rs.every((r) => r.outcome === 'ok'));
  const cold = rs.find((r) => r.timings.coldStart)!;
  assert.ok(Date.now() - t0 < cold.timings.createMs + cold.timings.startMs + cold.timings.readyMs + 1900, `took ${Date.now() - t0} ms`);
});

s('a shim that never answers does not hold a cold start past its deadline', async () => {
  const spec = await deploy(`(() => { setTimeout(() => { for (;;); }, 0); return async () => 'never'; })()`);
  const t0 = Date.now();
  const r = await call(spec, { deadlineMs: Date.now() + 3000 });
  assert.ok(['timeout', 'crashed'].includes(r.outcome), r.outcome);
  assert.ok(Date.now() - t0 < 6000, `answered after ${Date.now() - t0} ms`);
});

s('memory past the limit → oom, and the agent goes on with a new container', async () => {
  const spec = await deploy(`async (req) => {
    if (new URL(req.url).pathname === '/hog') { const keep = []; for (;;) keep.push(Buffer.alloc(16 << 20, 1)); }
    return 'fine';
  }`, { memoryMb: 64 });
  const r = await call(spec, { path: '/hog' });
  assert.is(r.outcome, 'oom', `${r.outcome}: ${r.error}`);
  const after = await call(spec);
  assert.is(after.outcome, 'ok');
  assert.ok(after.timings.coldStart, 'a fresh container replaced the killed one');
});

s('a fork loop hits the pids limit', async () => {
  const spec = await deploy(`async () => {
    const { spawn } = await import('node:child_process');
    const kids = []; let error = '';
    try { for (let i = 0; i < 400; i++) { const k = spawn('/usr/local/bin/node', ['-e', 'setTimeout(() => {}, 20000)']); kids.push(k); await new Promise((r, j) => { k.once('spawn', r); k.once('error', j); }); } }
    catch (e) { error = e.code || e.message; }
    for (const k of kids) k.kill('SIGKILL');
    return { started: kids.length, error };
  }`, { memoryMb: 512 });
  const r = await call(spec, { deadlineMs: Date.now() + 60_000 });
  assert.is(r.outcome, 'ok', r.error);
  const p = JSON.parse(r.body.toString());
  assert.ok(p.error, `all ${p.started} children started`);
  assert.ok(p.started < 128, `${p.started} started`);
});

s('a call past its deadline → timeout, and its container is gone', async () => {
  const spec = await deploy(`async () => { await new Promise((r) => setTimeout(r, 10000)); return 'late'; }`);
  const r = await call(spec, { deadlineMs: Date.now() + 3000 });
  assert.is(r.outcome, 'timeout');
  const left = await runtime.list({ [LABELS.function]: spec.functionId });
  assert.is(left.length, 0, 'container removed');
});

s('answers of every shape come back whole, over frames and over the HTTP contract: a streamed body, bytes, 204, HEAD; a function cannot set cpub-* headers', async () => {
  const spec = await deploy(`async (req) => {
    const p = new URL(req.url).pathname;
    if (p === '/stream') return new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('part one, ')); c.enqueue(new TextEncoder().encode('part two')); c.close(); } }));
    if (p === '/bytes') return new Response(new Uint8Array([0, 1, 2, 255]), { headers: { 'cpub-function-error': '1', 'cpub-logs': 'forged', 'x-kept': 'yes' } });
    if (p === '/empty') return new Response(null, { status: 204 });
    if (p === '/chatty') { for (let i = 0; i < 40; i++) console.log(i + ' ' + 'y'.repeat(1024)); return new Response('said a lot'); }
    console.log('head or get');
    return new Response('body of get', { headers: { 'content-type': 'text/plain' } });
  }`);
  // The same calls through a second pool that speaks only the HTTP contract (as to a runtime without frames).
  const httpPools = new Pools(runtime, { isolation: fx.isolation, dataDir: join(dir, 'http-only'), nodeId, epoch, logCapBytes: 64 * 1024, idleTimeoutMs: 60_000, maxContainers: 4, callProtocol: 'http' });
  await httpPools.start();
  try {
    for (const viaHttp of [false, true]) await everyShape(spec, viaHttp ? httpPools : pools);
    const folders = readdirSync(join(dir, 'http-only', 'run')).map((f) => readdirSync(join(dir, 'http-only', 'run', f)));
    assert.ok(folders.length > 0 && folders.every((files) => files.includes('fn.sock') && !files.includes('mux.sock')), JSON.stringify(folders));
  } finally {
    await httpPools.stop();
  }
});

async function everyShape(spec: FunctionSpec, through: Pools): Promise<void> {
  const call = (s: FunctionSpec, over: Partial<CallRequest> = {}) =>
    through.invoke(s, { invocationId: randomUUID(), deadlineMs: Date.now() + 15_000, method: 'GET', path: '/', query: '', headers: [], body: Buffer.alloc(0), ...over });
  const stream = await call(spec, { path: '/stream' });
  assert.is(stream.body.toString(), 'part one, part two');
  const bytes = await call(spec, { path: '/bytes' });
  assert.is(bytes.outcome, 'ok', 'a cpub-function-error set by the function is not the shim’s');
  assert.equal([...bytes.body], [0, 1, 2, 255]);
  assert.ok(bytes.headers.some(([k, v]) => k === 'x-kept' && v === 'yes'));
  assert.not.ok(bytes.headers.some(([k]) => k.startsWith('cpub-')), JSON.stringify(bytes.headers));
  assert.equal(bytes.logs, []);
  const empty = await call(spec, { path: '/empty' });
  assert.is(empty.status, 204);
  assert.is(empty.body.length, 0);
  const head = await call(spec, { method: 'HEAD' });
  assert.is(head.status, 200);
  assert.is(head.body.length, 0);
  assert.ok(head.logs.some((l) => l.message === 'head or get'), JSON.stringify(head.logs));
  // 40 KiB of log is past what goes in a header: it comes back as a trailer, every line of it.
  const chatty = await call(spec, { path: '/chatty' });
  assert.is(chatty.body.toString(), 'said a lot');
  assert.is(chatty.logs.length, 40);
  assert.ok(chatty.logs.every((l, i) => l.message === `${i} ${'y'.repeat(1024)}`));
  assert.not.ok(chatty.logsTruncated);
}

s('process.exit(1) → crashed', async () => {
  const spec = await deploy(`async () => { process.exit(1); }`);
  const r = await call(spec);
  assert.is(r.outcome, 'crashed', r.error);
});

s('1 GiB written to stdout: the log is capped and the agent’s memory stays bounded', async () => {
  const spec = await deploy(`async () => { const mb = 'x'.repeat(1 << 20); for (let i = 0; i < 1024; i++) process.stdout.write(mb + '\\n'); console.log('after'); return 'done'; }`);
  const rss0 = process.memoryUsage().rss;
  const r = await call(spec, { deadlineMs: Date.now() + 60_000 });
  assert.is(r.outcome, 'ok', r.error);
  assert.ok(r.logsTruncated);
  const bytes = r.logs.reduce((a, l) => a + l.message.length, 0);
  assert.ok(bytes <= 64 * 1024, `${bytes} bytes of log kept`);
  assert.ok(process.memoryUsage().rss - rss0 < 200 * 2 ** 20, 'agent memory grew by less than 200 MB');
});

s('a full node declines after decline_after_ms (the function not run) instead of waiting; without it the call waits for room', async () => {
  const small = new Pools(runtime, { isolation: fx.isolation, dataDir: dir, nodeId: randomUUID(), epoch: randomUUID(), logCapBytes: 1024, idleTimeoutMs: 60_000, maxContainers: 1 });
  await small.start();
  try {
    const holder = await deploy(`async () => { await new Promise((r) => setTimeout(r, 2500)); return new Response('held'); }`);
    const other = await deploy(`() => new Response('other')`);
    const req = (over: Partial<CallRequest> = {}) => ({ invocationId: randomUUID(), deadlineMs: Date.now() + 15_000, method: 'GET', path: '/', query: '', headers: [], body: Buffer.alloc(0), ...over });
    const held = small.invoke(holder, req()); // the node's one container, busy for 2.5 s
    await new Promise((r) => setTimeout(r, 1000)); // (started)
    const t0 = Date.now();
    const declined = await small.invoke(other, req({ declineAfterMs: 300 }));
    const tookMs = Date.now() - t0;
    assert.is(declined.outcome, 'rejected');
    assert.match(declined.error ?? '', /this node is full/);
    assert.ok(tookMs < 1500, `declined after ${tookMs} ms`);
    assert.not.ok(declined.timings.coldStart, 'nothing was started for it');
    // Without decline_after_ms the call waits: once the holder is idle its container is evicted to make room.
    const waited = await small.invoke(other, req());
    assert.is(waited.outcome, 'ok', waited.error);
    assert.is(waited.body.toString(), 'other');
    assert.is((await held).body.toString(), 'held');
  } finally {
    await small.stop();
  }
});

s('containers this node left in an earlier epoch are removed at start; other nodes’ are not', async () => {
  const spec = await deploy(`async () => 'x'`);
  await call(spec);
  const stranger = new Pools(runtime, { isolation: fx.isolation, dataDir: dir, nodeId: randomUUID(), epoch: randomUUID(), logCapBytes: 1024, idleTimeoutMs: 60_000, maxContainers: 5 });
  assert.is(await stranger.start(), 0, 'another node on the same host leaves our containers alone');
  await stranger.stop();
  assert.is((await runtime.list({ [LABELS.function]: spec.functionId })).length, 1);
  const other = new Pools(runtime, { isolation: fx.isolation, dataDir: dir, nodeId, epoch: randomUUID(), logCapBytes: 1024, idleTimeoutMs: 60_000, maxContainers: 5 });
  const removed = await other.start();
  assert.ok(removed >= 1);
  assert.is((await runtime.list({ [LABELS.function]: spec.functionId })).length, 0);
  await other.stop();
});

s.run();
