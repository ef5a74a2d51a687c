// Stems on real Podman: started containers of the runtime image with no function in them, kept per limit
// shape, into which a cold call loads its function's bundle instead of creating and starting a container.
import { suite } from 'uvu';
import { createServer } from 'node:http';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import type { ContainerRuntime } from '../node-agent/src/runtime/container-runtime.js';
import { buildFunctionImage, bundleFor, removeBundles, LABELS } from '../node-agent/src/images/function-image.js';
import { ensurePythonImage } from '../node-agent/src/images/python-image.js';
import { makeArtifact } from './helpers/agent.js';
import { Pools } from '../node-agent/src/pool/pools.js';
import type { CallRequest, FunctionSpec } from '../node-agent/src/pool/types.js';
import { loud, until } from './helpers/hooks.js';
import { podmanFixture, stopPoolsAndFixture, type PodmanFixture } from './helpers/podman-fixture.js';

const s = suite('stems: prewarmed containers on Podman');
let fx: PodmanFixture;
let dir: string;
let runtime: ContainerRuntime;
let runtimeImage: string;
let pools: Pools;
const nodeId = randomUUID();

const deploy = (handler: string, over: Partial<FunctionSpec> = {}) => fx.deploy(handler, { name: 'stemmed', version: 3, ...over });

const call = (spec: FunctionSpec, over: Partial<CallRequest> = {}) =>
  pools.invoke(spec, { invocationId: randomUUID(), deadlineMs: Date.now() + 15_000, method: 'GET', path: '/', query: '', headers: [], body: Buffer.alloc(0), ...over });

/** Stems ready in the pools (a claimed stem keeps its label, so Podman's listing cannot tell). */
const stemIds = () => pools.stemIds();

s.before(
  loud(async () => {
    fx = await podmanFixture('cpub-stems-');
    ({ dir, runtime, runtimeImage } = fx);
    pools = new Pools(runtime, {
      isolation: fx.isolation,
      dataDir: dir,
      nodeId,
      epoch: randomUUID(),
      logCapBytes: 64 * 1024,
      idleTimeoutMs: 60_000,
      maxContainers: 20,
      stemsPerShape: 1,
      runtimeImage,
      bundleFor: (image) => bundleFor(dir, image),
    });
    await pools.start();
  }),
);

s.after(loud(() => stopPoolsAndFixture(pools, fx)));

s('a stem of the default shape is started with the pools, and a cold call loads its function into it', async () => {
  await until('a stem', async () => stemIds().length === 1);
  const before = stemIds()[0]!;
  const spec = await deploy(
    `async (request, ctx) => {
      console.log('in a stem', ctx.invocationId);
      return Response.json({ env: ctx.env.GREETING, proc: process.env.GREETING, fn: ctx.function, cpub: Object.keys(ctx.env).filter((k) => k.startsWith('CPUB_')) });
    }`,
    { env: { GREETING: 'hi there' } },
  );
  const id = randomUUID();
  const r = await call(spec, { invocationId: id });
  assert.is(r.outcome, 'ok', r.error);
  assert.ok(r.timings.coldStart && r.timings.prewarmed, JSON.stringify(r.timings));
  assert.is(r.timings.createMs, 0);
  assert.is(r.timings.startMs, 0);
  assert.equal(JSON.parse(r.body.toString()), { env: 'hi there', proc: 'hi there', fn: { name: 'stemmed', version: 3 }, cpub: [] });
  assert.ok(r.logs.some((l) => l.message === `in a stem ${id}`), JSON.stringify(r.logs));
  const warm = await call(spec);
  assert.not.ok(warm.timings.coldStart, 'the claimed stem is now the function’s warm container');
  // The claimed container is no longer a stem: a new one takes its place.
  await until('a new stem', async () => stemIds().length === 1 && stemIds()[0] !== before);
  const [claimed] = await runtime.list({ [LABELS.node]: nodeId, [LABELS.stem]: 'true' }).then((l) => l.filter((c) => c.id === before));
  assert.ok(claimed, 'the claimed container runs on');
});

s('a claimed stem is fenced in like any function container; its bundle cannot be changed from inside', async () => {
  await until('a stem', async () => stemIds().length === 1);
  const spec = await deploy(`async () => {
    const fs = await import('node:fs');
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const tryWrite = (p) => { try { fs.writeFileSync(p, 'x'); return 'wrote'; } catch (e) { return e.code; } };
    return Response.json({
      uid: process.getuid(),
      capEff: /CapEff:\\s+(\\w+)/.exec(status)[1],
      noNewPrivs: /NoNewPrivs:\\s+(\\d)/.exec(status)[1],
      bundle: tryWrite('/run/cpub/app/index.mjs'),
      folder: tryWrite('/run/cpub/app/new.mjs'),
      root: tryWrite('/etc/x'),
    });
  }`);
  const r = await call(spec);
  assert.ok(r.timings.prewarmed);
  assert.equal(JSON.parse(r.body.toString()), { uid: 10001, capEff: '0000000000000000', noNewPrivs: '1', bundle: 'EACCES', folder: 'EACCES', root: 'EROFS' });
});

s('a bundle that fails to load in a stem ends the call crashed with its error, and the stem is gone', async () => {
  await until('a stem', async () => stemIds().length === 1);
  const stem = stemIds()[0]!;
  const spec = await deploy(`(() => { throw new Error('broken at load'); })()`);
  const r = await call(spec);
  assert.is(r.outcome, 'crashed');
  assert.ok(r.timings.coldStart);
  assert.match(r.error, /broken at load/);
  assert.ok(r.logs.some((l) => l.message.includes('broken at load')), JSON.stringify(r.logs));
  await until('the failed stem removed', async () => !(await runtime.list({ [LABELS.node]: nodeId })).some((c) => c.id === stem));
});

s('a function asking for egress never takes a stem (stems have no network), and its network works', async () => {
  await until('a stem of the default shape', async () => stemIds().length >= 1);
  // A server on the host, reached from the container through its default gateway (Podman's bridge).
  const host = createServer((_req, res) => res.end('from the host'));
  await new Promise<void>((r) => host.listen(0, '0.0.0.0', r));
  const port = (host.address() as { port: number }).port;
  try {
    const spec = await deploy(
      `async () => {
        const route = (await import('node:fs')).readFileSync('/proc/net/route', 'utf8').split(String.fromCharCode(10)).map((l) => l.split(String.fromCharCode(9))).find((f) => f[1] === '00000000');
        const gw = Buffer.from(route[2], 'hex').reverse().join('.');
        const r = await fetch('http://' + gw + ':${port}/', { signal: AbortSignal.timeout(5000) });
        return new Response(await r.text());
      }`,
      { network: true, version: 7 },
    );
    const stemsBefore = stemIds();
    const r = await call(spec);
    assert.is(r.outcome, 'ok', `${r.error} ${r.logs.map((l) => l.message).join('\n')}`);
    assert.is(r.body.toString(), 'from the host');
    assert.ok(r.timings.coldStart && !r.timings.prewarmed, 'a container of its own, not a stem');
    assert.equal(stemIds().filter((id) => stemsBefore.includes(id)), stemsBefore, 'the stems are all still there');
  } finally {
    host.close();
  }
});

s('a function of another shape starts from scratch once, then finds stems of its shape', async () => {
  const big = await deploy(`async () => new Response('big')`, { memoryMb: 192 });
  const first = await call(big);
  assert.is(first.outcome, 'ok', first.error);
  assert.ok(first.timings.coldStart && !first.timings.prewarmed && first.timings.startMs > 0);
  await until('stems for both shapes', async () => stemIds().length === 2);
  // The limit the stem was made with is the function's.
  const other = await deploy(`async () => new Response((await import('node:fs')).readFileSync('/sys/fs/cgroup/memory/memory.limit_in_bytes', 'utf8').trim())`, { memoryMb: 192 });
  const r = await call(other);
  assert.is(r.outcome, 'ok', r.error);
  assert.ok(r.timings.prewarmed);
  assert.is(Number(r.body.toString()), 192 * 2 ** 20);
});

s('removing a function removes its claimed stem and its kept bundle', async () => {
  await until('a stem', async () => stemIds().length >= 1);
  const spec = await deploy(`async () => new Response('bye')`);
  const r = await call(spec);
  assert.ok(r.timings.prewarmed);
  assert.ok(bundleFor(dir, spec.image));
  assert.is(await pools.removeFunction(spec.functionId), 1);
  removeBundles(dir, spec.functionId);
  assert.is(bundleFor(dir, spec.image), undefined);
  const warm = pools.warmCounts().filter((w) => w.functionId === spec.functionId && (w.idle || w.busy));
  assert.equal(warm, []);
});

s('a full node makes room from idle containers of other functions (least recently used first), else rejects', async () => {
  const small = new Pools(runtime, { isolation: fx.isolation, dataDir: dir, nodeId, epoch: randomUUID(), logCapBytes: 64 * 1024, idleTimeoutMs: 60_000, maxContainers: 20, maxMemoryBytes: 256 * 2 ** 20 });
  await small.start();
  try {
    const run = (spec: FunctionSpec, deadlineMs = Date.now() + 15_000) => small.invoke(spec, { invocationId: randomUUID(), deadlineMs, method: 'GET', path: '/', query: '', headers: [], body: Buffer.alloc(0) });
    const slow = `async () => { await new Promise((r) => setTimeout(r, 4000)); return new Response('slow'); }`;
    const [a, b, c] = [await deploy(slow), await deploy(`${slow} // b`), await deploy(`async () => new Response('c')`)];
    assert.is((await run(a)).outcome, 'ok');
    assert.is((await run(b)).outcome, 'ok');
    // 2 × 128 MB idle: c's container needs a's room (a was used least recently).
    const rc = await run(c);
    assert.is(rc.outcome, 'ok', rc.error);
    const warm = (id: string) => small.warmCounts().find((w) => w.functionId === id);
    assert.is(warm(a.functionId)?.idle ?? 0, 0, 'a was evicted');
    assert.is(warm(b.functionId)?.idle, 1);
    // Both 128 MB slots busy (b, and a started again): a fourth function cannot fit before its deadline.
    const d = await deploy(`async () => new Response('d')`);
    const busy = [run(a), run(b)];
    await until('a and b both running', () => small.warmCounts().filter((w) => w.busy > 0).length === 2, 30_000, 50);
    const rejected = await run(d, Date.now() + 1000);
    assert.is(rejected.outcome, 'rejected');
    assert.is(rejected.status, 503);
    assert.match(rejected.error, /full/);
    for (const r of await Promise.all(busy)) assert.is(r.outcome, 'ok', r.error);
  } finally {
    await small.stop();
  }
});

s('stems per runtime: a Python function’s cold start loads it into a Python stem, kept per runtime and shape', async () => {
  const python = (await ensurePythonImage(runtime, dir)).tag;
  pools.setRuntimeImage('python', python);
  const build = async (name: string) => {
    const functionId = randomUUID();
    const art = await makeArtifact({ 'containerpub.json': JSON.stringify({ name, entry: 'handler.py', runtime: 'python' }), 'handler.py': 'import os\n\n\ndef handler(request, ctx):\n    return {"env": ctx.env.get("GREETING"), "name": ctx.function["name"], "pid1": os.getpid() == 1}\n' });
    const { image } = await buildFunctionImage(runtime, dir, { functionId, version: 1, digest: art.digest, artifactPath: art.path, runtimeImage, runtimeImageFor: async () => python, timeoutMs: 120_000 });
    assert.is(bundleFor(dir, image)?.runtime, 'python');
    return { functionId, name, version: 1, image, memoryMb: 128, cpus: 0.5, timeoutMs: 10_000, concurrency: 1, maxInstances: 1, network: false, env: { GREETING: 'hola' } } satisfies FunctionSpec;
  };
  const first = await build('py-first');
  const a = await call(first);
  assert.is(a.outcome, 'ok', a.error);
  assert.ok(a.timings.coldStart && !a.timings.prewarmed, 'no Python stem before a Python function was seen: a container of its own');
  // That cold start noted the shape for Python: a Python stem is started (the Node one stays Node's).
  await until('a Python stem', async () => stemIds().length >= 2, 30_000);
  const second = await build('py-second');
  const b = await call(second);
  assert.is(b.outcome, 'ok', b.error);
  assert.ok(b.timings.coldStart && b.timings.prewarmed, `loaded into a Python stem: ${JSON.stringify(b.timings)}`);
  assert.equal(JSON.parse(b.body.toString('utf8')), { env: 'hola', name: 'py-second', pid1: true });
});

s.run();
