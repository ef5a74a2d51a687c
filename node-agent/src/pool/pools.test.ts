// The warm pools on the fake runtime: reuse, the per-container and per-function limits, a full node, idle
// reaping, recycling on new settings, failed starts, deaths and deadlines, stems, and cleanup by label.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRuntime, type FakeImage } from '../runtime/fake-runtime.js';
import type { FakeContext } from '../runtime/fake-shim.js';
import { LABELS } from '../images/function-image.js';
import { Pools, DEFAULT_SHAPE, type PoolsOptions } from './pools.js';
import type { CallRequest, FunctionSpec } from './types.js';

const s = suite('pools (fake runtime)');
const RUNTIME_IMAGE = 'localhost/containerpub/runtime-node:test';
let dir: string;
let fake: FakeRuntime;
let pools: Pools[];
let exits: { id: string; oomKilled: boolean }[];

const image = (fn: string) => `localhost/containerpub/fn-${fn}:000000000000000000000001`;

/** A function `fn` whose image runs `handler`; the spec's defaults: 128 MB, 0.5 CPU, concurrency 1, 1 instance. */
function deploy(fn: string, handler: FakeImage['handler'], over: Partial<FunctionSpec> = {}, img: Omit<FakeImage, 'handler'> = {}): FunctionSpec {
  fake.addImage(image(fn), { handler, ...img });
  return { functionId: fn, name: fn, version: 1, image: image(fn), memoryMb: 128, cpus: 0.5, timeoutMs: 5000, concurrency: 1, maxInstances: 1, network: false, env: {}, ...over };
}

async function newPools(over: Partial<PoolsOptions> = {}): Promise<Pools> {
  const p = new Pools(fake, {
    dataDir: dir,
    nodeId: 'node-1',
    epoch: 'epoch-1',
    logCapBytes: 64 * 1024,
    isolation: { seccompProfile: '/var/lib/cpub/seccomp.json', ownUids: true },
    idleTimeoutMs: 60_000,
    maxContainers: 10,
    onExit: (_spec, id, state) => exits.push({ id, oomKilled: state.oomKilled }),
    ...over,
  });
  pools.push(p);
  await p.start();
  return p;
}

const request = (over: Partial<CallRequest> = {}): CallRequest => ({
  invocationId: `inv-${Math.random().toString(36).slice(2)}`,
  deadlineMs: Date.now() + 5000,
  method: 'GET',
  path: '/',
  query: '',
  headers: [],
  body: Buffer.alloc(0),
  ...over,
});

/** Calls that block until released, counting how many run at once (per container too). */
function gated() {
  const waiting: (() => void)[] = [];
  const running = new Map<string, number>();
  const stats = { now: 0, most: 0, mostPerContainer: 0 };
  const handler = async (_req: Request, ctx: FakeContext) => {
    stats.most = Math.max(stats.most, ++stats.now);
    running.set(ctx.containerId, (running.get(ctx.containerId) ?? 0) + 1);
    stats.mostPerContainer = Math.max(stats.mostPerContainer, running.get(ctx.containerId)!);
    await new Promise<void>((r) => waiting.push(r));
    stats.now--;
    running.set(ctx.containerId, running.get(ctx.containerId)! - 1);
    return new Response(ctx.containerId);
  };
  return { handler, stats, waiting, release: () => waiting.splice(0).forEach((r) => r()) };
}

async function until(what: string, check: () => boolean, ms = 2000): Promise<void> {
  for (const end = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 5))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
}

const containersOf = (fn: string) => fake.all().filter((c) => c.spec.labels[LABELS.function] === fn);

s.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpub-pools-'));
  fake = new FakeRuntime();
  pools = [];
  exits = [];
});

s.after.each(async () => {
  for (const p of pools) await p.stop();
  for (const c of fake.all()) await fake.remove(c.id);
  rmSync(dir, { recursive: true, force: true });
});

s('a warm container is reused: one cold start, then warm calls on the same container', async () => {
  const p = await newPools();
  const spec = deploy('f1', (_req, ctx) => new Response(ctx.containerId));
  const cold = await p.invoke(spec, request());
  const warm = await p.invoke(spec, request());
  assert.is(cold.outcome, 'ok', cold.error);
  assert.ok(cold.timings.coldStart);
  assert.not.ok(warm.timings.coldStart);
  assert.is(warm.body.toString(), cold.body.toString(), 'the same container answered');
  assert.is(fake.created.length, 1);
  assert.equal(p.warmCounts(), [{ functionId: 'f1', version: 1, idle: 1, busy: 0, floor: 0, keepAliveMs: 60_000, prewarmMs: 0, learned: false }]);
  assert.is(p.reservedBytes(), 128 * 2 ** 20);
});

s('a container takes up to `concurrency` calls at once; more wait for a free slot, not a new container', async () => {
  const p = await newPools();
  const g = gated();
  const spec = deploy('f1', g.handler, { concurrency: 2, maxInstances: 1 });
  const calls = [1, 2, 3].map(() => p.invoke(spec, request()));
  await until('two calls running', () => g.stats.now === 2);
  await new Promise((r) => setTimeout(r, 30));
  assert.is(g.stats.now, 2, 'the third call waits');
  assert.is(p.callsInFlight, 3);
  assert.equal(p.warmCounts(), [{ functionId: 'f1', version: 1, idle: 0, busy: 1, floor: 0, keepAliveMs: 60_000, prewarmMs: 0, learned: false }]);
  g.release();
  await until('the third call running', () => g.stats.now === 1);
  g.release();
  const rs = await Promise.all(calls);
  assert.ok(rs.every((r) => r.outcome === 'ok'), JSON.stringify(rs.map((r) => r.error)));
  assert.is(g.stats.mostPerContainer, 2);
  assert.is(fake.created.length, 1, 'one container served all three');
  assert.ok(rs[2]!.timings.queuedMs >= 20, `the third call queued ${rs[2]!.timings.queuedMs} ms`);
  await p.idle();
  assert.is(p.callsInFlight, 0);
});

s('a function gets at most `maxInstances` containers; a call past them waits for a slot', async () => {
  const p = await newPools();
  const g = gated();
  const spec = deploy('f1', g.handler, { concurrency: 1, maxInstances: 2 });
  const calls = [1, 2, 3].map(() => p.invoke(spec, request()));
  await until('two calls running', () => g.stats.now === 2);
  await new Promise((r) => setTimeout(r, 30));
  assert.is(g.stats.now, 2);
  assert.is(containersOf('f1').length, 2);
  assert.is(g.stats.mostPerContainer, 1);
  g.release();
  await until('the third call running', () => g.stats.now === 1);
  g.release();
  const rs = await Promise.all(calls);
  assert.ok(rs.every((r) => r.outcome === 'ok'));
  assert.is(fake.created.length, 2);
  assert.is(rs.filter((r) => r.timings.coldStart).length, 2);
});

s('a call that finds no free slot by its deadline is rejected, and the function is not run for it', async () => {
  const p = await newPools();
  const g = gated();
  const spec = deploy('f1', g.handler);
  const held = p.invoke(spec, request());
  await until('the first call running', () => g.stats.now === 1);
  const r = await p.invoke(spec, request({ deadlineMs: Date.now() + 60 }));
  assert.equal([r.outcome, r.status], ['rejected', 503]);
  assert.match(r.error, 'no container free for this function before the deadline');
  g.release();
  assert.is((await held).outcome, 'ok');
  assert.is(fake.created.length, 1);
});

s('a full node declines after decline_after_ms without starting anything; without it the call waits, and the idle container is evicted', async () => {
  const p = await newPools({ maxContainers: 1 });
  const g = gated();
  const holder = deploy('holder', g.handler);
  const other = deploy('other', () => 'other');
  const held = p.invoke(holder, request());
  await until('the holder running', () => g.stats.now === 1);
  const t0 = Date.now();
  const declined = await p.invoke(other, request({ declineAfterMs: 50 }));
  assert.equal([declined.outcome, declined.status], ['rejected', 503]);
  assert.match(declined.error, 'this node is full');
  assert.ok(Date.now() - t0 < 1000, `declined after ${Date.now() - t0} ms`);
  assert.not.ok(declined.timings.coldStart);
  assert.is(containersOf('other').length, 0, 'nothing was started for it');
  const waited = p.invoke(other, request());
  await new Promise((r) => setTimeout(r, 50));
  g.release();
  assert.is((await held).outcome, 'ok');
  const r = await waited;
  assert.is(r.outcome, 'ok', r.error);
  assert.is(r.body.toString(), '"other"');
  assert.is(containersOf('holder').length, 0, 'the holder’s idle container made room');
  assert.is(p.totalContainers, 1);
});

s('--max-memory counts the memory limits of every container: a call that would pass it declines', async () => {
  const p = await newPools({ maxMemoryBytes: 300 * 2 ** 20 });
  const g = gated();
  const big = deploy('big', g.handler, { memoryMb: 256 });
  const small = deploy('small', () => 'small', { memoryMb: 32 });
  const other = deploy('other', () => 'other', { memoryMb: 64 });
  const held = p.invoke(big, request());
  await until('the big call running', () => g.stats.now === 1);
  assert.is((await p.invoke(small, request())).outcome, 'ok', '256 + 32 MB fit');
  assert.is(p.reservedBytes(), 288 * 2 ** 20);
  const r = await p.invoke(other, request({ declineAfterMs: 30 }));
  assert.is(r.outcome, 'rejected', 'the small idle one is evicted, but 256 + 64 MB still do not fit');
  g.release();
  await held;
});

s('idle containers are reaped after the idle timeout; the next call starts a new one', async () => {
  const p = await newPools({ idleTimeoutMs: 40 });
  const spec = deploy('f1', () => 'ok');
  const first = await p.invoke(spec, request());
  const id = containersOf('f1')[0]!.id;
  await until('the idle container is removed', () => containersOf('f1').length === 0, 1500);
  assert.ok(fake.ops.includes(`remove ${id}`));
  assert.equal(p.warmCounts(), [{ functionId: 'f1', version: 1, idle: 0, busy: 0, floor: 0, keepAliveMs: 40, prewarmMs: 0, learned: false }]);
  const next = await p.invoke(spec, request());
  assert.ok(first.timings.coldStart && next.timings.coldStart, 'a fresh container');
});

s('a warm floor starts its containers, keeps them past the idle timeout, serves calls warm, and lapses when not renewed', async () => {
  const p = await newPools({ idleTimeoutMs: 40 });
  const spec = deploy('f1', () => 'ok', { maxInstances: 3 });
  assert.equal(p.warm(spec, 2, 3000), { ready: 0, shortfall: '' }, 'Warm answers at once; the containers start behind it');
  assert.equal(await p.warmed('f1', 1), { ready: 2, shortfall: '' });
  assert.is(containersOf('f1').length, 2);
  assert.equal(p.warmCounts(), [{ functionId: 'f1', version: 1, idle: 2, busy: 0, floor: 2, keepAliveMs: 40, prewarmMs: 0, learned: false }]);
  await new Promise((res) => setTimeout(res, 700)); // idle timeouts and reaper passes (every 250 ms)
  assert.is(containersOf('f1').length, 2, 'the floor keeps its containers idle');
  const call = await p.invoke(spec, request());
  assert.is(call.timings.coldStart, false, 'a call after the idle timeout is warm');
  // A renewal that asks for no more starts nothing; without renewals the floor lapses and the reaper takes them.
  p.warm(spec, 2, 150);
  await p.warmed('f1', 1);
  assert.is(containersOf('f1').length, 2);
  await until('the lapsed floor’s containers are reaped', () => containersOf('f1').length === 0, 2000);
});

s('a learned keep-alive: calls after a regular gap release the container after each call and find one prewarmed before the next; a fixed timeout shorter than the gap starts each cold', async () => {
  // Minutes replayed as 100 ms bins: calls every 350 ms fall in the bin of 300–400 ms.
  const GAP = 350;
  const run = async (mode: 'learned' | 'fixed') => {
    const p = await newPools({ idleTimeoutMs: 100, keepAlive: { mode, minMs: 0, maxMs: 60_000, binMs: 100 } });
    const spec = deploy(`ka-${mode}`, () => 'ok');
    const cold: boolean[] = [];
    let released = 0;
    for (let i = 0; i < 20; i++) {
      cold.push((await p.invoke(spec, request())).timings.coldStart);
      const next = Date.now() + GAP;
      let seenEmpty = false;
      while (Date.now() < next) {
        if (containersOf(`ka-${mode}`).length === 0) seenEmpty = true;
        await new Promise((r) => setTimeout(r, 10));
      }
      if (seenEmpty) released++;
    }
    return { p, cold, released };
  };
  const learnt = await run('learned');
  const w = learnt.p.warmCounts()[0]!;
  assert.ok(w.learned, 'the pattern is learned');
  assert.is(w.prewarmMs, 270, 'started again at 90 % of the gap’s bin');
  // Once learned (MIN_SAMPLES gaps, and a call's worth of slack), every call is warm, and the container still goes between calls.
  assert.equal(learnt.cold.slice(14), Array(6).fill(false), `cold starts: ${learnt.cold.map(Number).join('')}`);
  assert.ok(learnt.released >= 16, `released between calls ${learnt.released} times`);
  const fixed = await run('fixed');
  assert.ok(fixed.cold.slice(14).every(Boolean), `fixed 100 ms timeout: cold starts ${fixed.cold.map(Number).join('')}`);
});

s('a warm floor is held within maxInstances and the node’s room, says why it fell short, and is never evicted for another function', async () => {
  const p = await newPools({ maxContainers: 3 });
  const spec = deploy('f1', () => 'ok', { maxInstances: 2 });
  p.warm(spec, 3, 60_000);
  await p.warmed('f1', 1);
  assert.equal(p.warm(spec, 3, 60_000), { ready: 2, shortfall: 'max instances is 2' });
  const other = deploy('f2', () => 'ok', { maxInstances: 2 });
  await p.invoke(other, request());
  const wide = deploy('f3', () => 'ok');
  p.warm(wide, 1, 60_000);
  const r = await p.warmed('f3', 1);
  assert.is(r.ready, 0);
  assert.match(r.shortfall, /no room/);
  // A call of f3 needs room: the idle f2 container is evicted, never the floor's.
  const call = await p.invoke(wide, request({ deadlineMs: Date.now() + 1000 }));
  assert.is(call.outcome, 'ok');
  assert.is(containersOf('f1').length, 2);
  assert.is(containersOf('f2').length, 0);
  // A version that cannot start: one try, then none at the next renewals until the retry pause has passed.
  const broken = deploy('f4', () => 'ok', { maxInstances: 3 }, { loadError: 'SyntaxError: broken' });
  await p.removeFunction('f3');
  p.warm(broken, 1, 60_000);
  const failed = await p.warmed('f4', 1);
  assert.match(failed.shortfall, /failed to start/);
  const creates = fake.ops.filter((o) => o.startsWith('create')).length;
  p.warm(broken, 1, 60_000);
  await p.warmed('f4', 1);
  assert.is(fake.ops.filter((o) => o.startsWith('create')).length, creates, 'no new start at the next renewal');
  // Ended (count 0): the floor's containers are ordinary idle ones again.
  assert.is(p.endFloor('f1', 1), 2);
  assert.equal(p.warmCounts().find((w) => w.functionId === 'f1')?.floor, 0);
});

s('new settings or env recycle the containers: idle ones go at once, busy ones after their call; new calls get the new env', async () => {
  const p = await newPools();
  const g = gated();
  const handler = async (req: Request, ctx: FakeContext) => (new URL(req.url).pathname === '/hold' ? g.handler(req, ctx) : new Response(`${ctx.env.COLOR}`));
  const v1 = deploy('f1', handler, { concurrency: 1, maxInstances: 2, env: { COLOR: 'red' } });
  assert.is((await p.invoke(v1, request())).body.toString(), 'red');
  const busy = p.invoke(v1, request({ path: '/hold' }));
  await until('the held call running', () => g.stats.now === 1);
  const oldId = containersOf('f1')[0]!.id;
  const v2 = { ...v1, env: { COLOR: 'blue' } };
  const r = await p.invoke(v2, request());
  assert.equal([r.body.toString(), r.timings.coldStart], ['blue', true], 'a new container with the new env');
  assert.ok(fake.container(oldId), 'the old container still runs its call');
  g.release();
  assert.is((await busy).outcome, 'ok', 'the call in flight finishes');
  assert.is(fake.container(oldId), undefined, 'then the old container goes');
  assert.is(containersOf('f1').length, 1);
  for (const [change, value] of [['memoryMb', 256], ['cpus', 1], ['network', true], ['concurrency', 3]] as const) {
    const before = fake.created.length;
    const r = await p.invoke({ ...v2, [change]: value }, request());
    assert.is(r.outcome, 'ok', r.error);
    assert.is(fake.created.length, before + 1, `a new container when ${change} changes`);
    // Dropped from the pool at once; removed from the engine off the call's path.
    await until(`the idle container made with the old ${change} removed`, () => containersOf('f1').length === 1, 1000);
  }
});

s('a start that fails ends the call without holding a slot: create refused, image gone, function that cannot load', async () => {
  const p = await newPools();
  const spec = deploy('f1', () => 'ok');
  fake.failNext('create');
  const refused = await p.invoke(spec, request());
  assert.equal([refused.outcome, refused.status], ['rejected', 503]);
  assert.match(refused.error, 'fake: create failed');
  const missing = await p.invoke({ ...spec, image: image('gone') }, request());
  assert.is(missing.outcome, 'rejected');
  assert.match(missing.error, 'no such image');
  const broken = deploy('broken', () => 'never', {}, { loadError: 'ReferenceError: x is not defined' });
  const crashed = await p.invoke(broken, request());
  assert.equal([crashed.outcome, crashed.status], ['crashed', 502]);
  assert.ok(crashed.logs.some((l) => l.message.includes('ReferenceError: x is not defined')), JSON.stringify(crashed.logs));
  assert.equal(fake.all(), [], 'nothing left running');
  const ok = await p.invoke(spec, request());
  assert.is(ok.outcome, 'ok', `the one instance is free again: ${ok.error}`);
});

s('a container that dies mid-call ends the call oom, is reported and replaced by the next call', async () => {
  const p = await newPools();
  const spec = deploy('f1', (req, ctx) => {
    if (new URL(req.url).pathname !== '/hog') return 'fine';
    setTimeout(() => fake.exit(ctx.containerId, { oomKilled: true }), 5);
    return new Promise(() => {});
  });
  const r = await p.invoke(spec, request({ path: '/hog' }));
  assert.equal([r.outcome, r.status], ['oom', 502], r.error);
  assert.equal(containersOf('f1'), [], 'the dead container is removed');
  assert.is(exits.length, 1);
  assert.ok(exits[0]!.oomKilled);
  const next = await p.invoke(spec, request());
  assert.is(next.outcome, 'ok', next.error);
  assert.ok(next.timings.coldStart, 'a fresh container');
});

s('a container that dies while idle frees its instance at once: the next call starts a new one, it does not wait for the reaper', async () => {
  const p = await newPools();
  const spec = deploy('f1', () => 'fine');
  const first = await p.invoke(spec, request());
  assert.is(first.outcome, 'ok', first.error);
  const [c] = containersOf('f1');
  fake.exit(c!.id, { exitCode: 1 });
  await until('the death is noticed', () => exits.length === 1);
  const t0 = Date.now();
  const next = await p.invoke(spec, request({ deadlineMs: Date.now() + 3000 }));
  assert.is(next.outcome, 'ok', next.error);
  assert.ok(next.timings.coldStart, 'a fresh container');
  assert.ok(Date.now() - t0 < 1000, `served in ${Date.now() - t0} ms, not at the deadline`);
});

s('a call waiting for the only instance gets a new container as soon as the busy one dies', async () => {
  const p = await newPools();
  const g = gated();
  const spec = deploy('f1', (req, ctx) => (new URL(req.url).pathname === '/die' ? (setTimeout(() => fake.exit(ctx.containerId, { exitCode: 3 }), 50), new Promise(() => {})) : g.handler(req, ctx)));
  const dying = p.invoke(spec, request({ path: '/die' }));
  await until('the first container', () => containersOf('f1').length === 1);
  const t0 = Date.now();
  const waiting = p.invoke(spec, request({ path: '/', deadlineMs: Date.now() + 3000 }));
  assert.is((await dying).outcome, 'crashed');
  await until('the waiting call runs', () => g.waiting.length === 1);
  g.release();
  const r = await waiting;
  assert.is(r.outcome, 'ok', r.error);
  assert.ok(Date.now() - t0 < 1500, `served in ${Date.now() - t0} ms`);
});

s('a call past its deadline ends timeout, and its container is removed once its calls are done', async () => {
  const p = await newPools();
  const spec = deploy('f1', () => new Promise(() => {}), { concurrency: 2 });
  const r = await p.invoke(spec, request({ deadlineMs: Date.now() + 60 }));
  assert.equal([r.outcome, r.status], ['timeout', 504]);
  assert.equal(containersOf('f1'), []);
  assert.equal(exits, [], 'a container the agent removed did not exit by itself');
});

s('start() removes what this node left in earlier epochs, not other nodes’; stop() removes all of this epoch’s, a race’s leftovers too', async () => {
  fake.addImage(image('x'), {});
  const make = (node: string, epoch: string) => fake.create({ image: image('x'), labels: { [LABELS.managed]: 'true', [LABELS.node]: node, [LABELS.epoch]: epoch }, network: false, readOnlyRoot: true, ulimits: { nofile: 1, nproc: 1 } });
  const stale = await make('node-1', 'epoch-0');
  const otherNode = await make('node-2', 'epoch-0');
  const p = await newPools();
  assert.is(fake.container(stale), undefined, 'an earlier epoch’s container is removed at start');
  assert.ok(fake.container(otherNode), 'another node’s is not');
  const spec = deploy('f1', () => 'ok', { maxInstances: 2 });
  await p.invoke(spec, request());
  const raced = await make('node-1', 'epoch-1'); // as if started while stopping
  assert.is(await p.stop(), 2);
  assert.equal(
    fake.all().map((c) => c.id),
    [otherNode],
  );
  assert.is(await p.stop(), 0, 'stop is idempotent');
  assert.ok(fake.ops.includes(`remove ${raced}`));
});

s('removeFunction removes one version’s containers, or all of them', async () => {
  const p = await newPools();
  const v1 = deploy('f1', () => 'ok');
  const v2 = { ...v1, version: 2 };
  await Promise.all([p.invoke(v1, request()), p.invoke(v2, request())]);
  assert.is(await p.removeFunction('f1', 2), 1);
  assert.equal(containersOf('f1').map((c) => c.spec.labels[LABELS.version]), ['1']);
  assert.is(await p.removeFunction('f1'), 1);
  assert.equal(containersOf('f1'), []);
});

s('stems: one of the default shape is ready at start; a cold call loads its bundle into it, and a new stem replaces it', async () => {
  fake.addImage(RUNTIME_IMAGE, {});
  const app = join(dir, 'bundle');
  mkdirSync(app);
  writeFileSync(join(app, 'index.mjs'), `export default (req, ctx) => new Response('from a stem: ' + ctx.env.COLOR);\n`);
  const p = await newPools({ stemsPerShape: 1, runtimeImage: RUNTIME_IMAGE, bundleFor: (img) => (img === image('f1') ? { appDir: app, entry: 'index.mjs' } : undefined) });
  await until('a stem', () => p.stemIds().length === 1);
  const stemId = p.stemIds()[0]!;
  const spec = deploy('f1', () => 'not from the image', { ...DEFAULT_SHAPE, env: { COLOR: 'green' } });
  const r = await p.invoke(spec, request());
  assert.is(r.outcome, 'ok', r.error);
  assert.is(r.body.toString(), 'from a stem: green');
  assert.ok(r.timings.coldStart && r.timings.prewarmed);
  assert.equal([r.timings.createMs, r.timings.startMs], [0, 0]);
  assert.not.ok(fake.created.some((c) => c.image === image('f1')), 'no container of the function image');
  await until('a new stem', () => p.stemIds().length === 1 && p.stemIds()[0] !== stemId);
  assert.is(p.reservedBytes(), 2 * 128 * 2 ** 20, 'the claimed stem and the new one');
  const egress = deploy('net', () => 'own container', { ...DEFAULT_SHAPE, network: true });
  const e = await p.invoke(egress, request());
  assert.equal([e.body.toString(), e.timings.prewarmed], ['"own container"', false], 'a function with egress never takes a stem');
});

s.run();
