// The Agent service over real gRPC on a unix socket, with pools on the fake runtime: image_missing, calls
// through the pools, drain and undrain (kept across a restart), Remove by label, and a Build's startup check.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import * as tar from 'tar';
import { createAgentClient, type AgentClient } from '../../../proto/loader.js';
import { fromGrpcError } from '../../../proto/errors.js';
import { createLogger } from '../../../common/logger.js';
import { FakeRuntime, engineError, type FakeImage } from '../runtime/fake-runtime.js';
import { LABELS, functionImageTag } from '../images/function-image.js';
import { Pools } from '../pool/pools.js';
import { AgentService, failedAt, type NodeFacts } from './agent-service.js';

const s = suite('agent service (fake runtime, gRPC on a unix socket)');
let dir: string;
let fake: FakeRuntime;
let served: { server: grpc.Server; client: AgentClient; pools: Pools }[];
const EPOCH = 'epoch-1';

const facts: NodeFacts = {
  nodeId: 'node-1',
  epoch: EPOCH,
  agentVersion: 'test',
  podmanVersion: 'fake',
  ociRuntime: 'fake',
  cgroupVersion: '2',
  rootless: false,
  limitsEnforced: true,
  limitNotes: [],
  runtimeImage: 'localhost/containerpub/runtime-node:test',
  capacity: { memoryBytes: 2 ** 32, cpus: 2, maxContainers: 10 },
  storageDir: '/',
};

/** An agent service (pools, gRPC server on `<dir>/agent-N.sock`) over the test's fake runtime, and a client. */
async function serve(): Promise<AgentClient> {
  const pools = new Pools(fake, { dataDir: dir, nodeId: facts.nodeId, epoch: EPOCH, logCapBytes: 64 * 1024, isolation: { seccompProfile: '/x/seccomp.json', ownUids: true }, idleTimeoutMs: 60_000, maxContainers: 10 });
  await pools.start();
  const log = createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }));
  const service = new AgentService({ facts, runtime: fake, pools, dataDir: dir, log });
  const server = new grpc.Server();
  service.addToServer(server);
  const address = `unix:${join(dir, `agent-${served.length}.sock`)}`;
  await new Promise<void>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  const client = createAgentClient(address, grpc.credentials.createInsecure());
  served.push({ server, client, pools });
  return client;
}

type Reply = { outcome: string; status: number; body: Buffer; headers: { name: string; value: string }[]; logs: { message: string }[]; error: string; timings: { coldStart: boolean } };

function invoke(client: AgentClient, fn: string, over: Record<string, unknown> = {}): Promise<Reply> {
  const msg = {
    invocationId: `inv-${Math.random().toString(36).slice(2)}`,
    functionId: fn,
    functionName: fn,
    version: 1,
    image: image(fn),
    deadlineMs: Date.now() + 5000,
    limits: { memoryMb: 128, cpus: 0.5, timeoutMs: 5000, concurrency: 1, maxInstances: 1, network: false },
    request: { method: 'GET', path: '/', query: '', headers: [], body: Buffer.alloc(0) },
    ...over,
  };
  return new Promise((resolve, reject) => client.Invoke(msg, { deadline: Date.now() + 5000 }, (e, r) => (e ? reject(e) : resolve(r as unknown as Reply))));
}

const unary = <T>(client: AgentClient, method: 'Drain' | 'Undrain' | 'Remove', req: object) =>
  new Promise<T>((resolve, reject) => (client[method] as unknown as (r: object, o: grpc.CallOptions, cb: (e: Error | null, r: T) => void) => void)(req, { deadline: Date.now() + 5000 }, (e, r) => (e ? reject(e) : resolve(r))));

async function refusal(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!err) assert.unreachable('the call succeeded');
  return fromGrpcError(err);
}

const image = (fn: string) => `localhost/containerpub/fn-${fn}:000000000000000000000001`;
const addFunction = (fn: string, handler: FakeImage['handler'], version = 1) =>
  fake.addImage(image(fn), { handler, labels: { [LABELS.managed]: 'true', [LABELS.function]: fn, [LABELS.version]: String(version) } });

s.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpub-svc-'));
  fake = new FakeRuntime();
  served = [];
});

s.after.each(async () => {
  for (const { server, client, pools } of served) {
    client.close();
    server.forceShutdown();
    await pools.stop();
  }
  rmSync(dir, { recursive: true, force: true });
});

s('Invoke of an image not built on this node fails not_found/image_missing, and nothing is started', async () => {
  const client = await serve();
  const e = await refusal(invoke(client, 'ghost'));
  assert.equal([e.kind, e.code], ['not_found', 'image_missing']);
  assert.match(e.detail, 'send Build first');
  assert.equal(fake.created, []);
});

s('Invoke runs the call on the pools and sends its answer back; a known image is not asked for again', async () => {
  addFunction('f1', async (req, ctx) => {
    ctx.log('hi');
    return new Response(`got ${await req.text()}`, { status: 202, headers: { 'x-a': '1' } });
  });
  const client = await serve();
  const r = await invoke(client, 'f1', { request: { method: 'POST', path: '/p', query: '', headers: [], body: Buffer.from('body') } });
  assert.equal([r.outcome, r.status, r.body.toString()], ['OUTCOME_OK', 202, 'got body']);
  assert.ok(r.headers.some((h) => h.name === 'x-a' && h.value === '1'));
  assert.equal(r.logs.map((l) => l.message), ['hi']);
  assert.ok(r.timings.coldStart);
  const again = await invoke(client, 'f1');
  assert.is(again.outcome, 'OUTCOME_OK');
  assert.not.ok(again.timings.coldStart);
  assert.is(fake.ops.filter((o) => o.startsWith('imageExists ')).length, 1, 'the second call trusts what the first learned');
});

s('a drained node declines calls (REJECTED, the function not run), stays drained through a restart, and takes calls again once undrained', async () => {
  let ran = 0;
  addFunction('f1', () => String(++ran));
  const client = await serve();
  const d = await unary<{ drained: boolean }>(client, 'Drain', { wait: true });
  assert.ok(d.drained);
  const r = await invoke(client, 'f1');
  assert.equal([r.outcome, r.status], ['OUTCOME_REJECTED', 503]);
  assert.match(r.error, 'draining');
  assert.ok(existsSync(join(dir, 'draining')));
  const restarted = await serve();
  assert.is((await invoke(restarted, 'f1')).outcome, 'OUTCOME_REJECTED', 'the restarted agent is still drained');
  assert.is(ran, 0);
  await unary(restarted, 'Undrain', {});
  assert.not.ok(existsSync(join(dir, 'draining')));
  assert.is((await invoke(restarted, 'f1')).outcome, 'OUTCOME_OK');
  assert.is(ran, 1);
});

s('Remove removes a version’s containers and images by label, not other functions’; its image must be built again', async () => {
  addFunction('f1', () => 'one');
  addFunction('f2', () => 'two');
  const client = await serve();
  await invoke(client, 'f1');
  await invoke(client, 'f2');
  const r = await unary<{ containersRemoved: number; imagesRemoved: number }>(client, 'Remove', { functionId: 'f1', version: 1 });
  assert.equal([r.containersRemoved, r.imagesRemoved], [1, 1]);
  assert.equal(
    fake.all().map((c) => c.spec.labels[LABELS.function]),
    ['f2'],
  );
  assert.not.ok(await fake.imageExists(image('f1')));
  assert.ok(await fake.imageExists(image('f2')));
  assert.is((await refusal(invoke(client, 'f1'))).code, 'image_missing', 'the image cache forgot it');
});

/** Streams a function artifact whose index.mjs is `source` to Build, with a startup check; resolves with its log lines or rejects. */
async function build(client: AgentClient, fn: string, source: string): Promise<{ lines: string[]; image?: string }> {
  const src = join(dir, `src-${fn}`);
  mkdirSync(src);
  writeFileSync(join(src, 'containerpub.json'), JSON.stringify({ name: fn, entry: 'index.mjs' }));
  writeFileSync(join(src, 'index.mjs'), source);
  const file = join(dir, `${fn}.tar.gz`);
  await tar.c({ gzip: true, file, cwd: src, portable: true }, ['containerpub.json', 'index.mjs']);
  const bytes = readFileSync(file);
  const digest = createHash('sha256').update(bytes).digest('hex');
  const call = client.Build({ deadline: Date.now() + 10_000 });
  const lines: string[] = [];
  let image: string | undefined;
  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (e: { log?: { line: string } | null; result?: { image: string } | null }) => {
      if (e.log) lines.push(e.log.line);
      if (e.result) image = e.result.image;
    });
    call.on('end', resolve);
    call.on('error', reject);
  });
  const startupCheck = { functionName: fn, limits: { memoryMb: 128, cpus: 0.5, timeoutMs: 5000, concurrency: 1, maxInstances: 1, network: false }, env: [] };
  call.write({ header: { functionId: fn, version: 1, digest, sizeBytes: bytes.length, timeoutMs: 10_000, startupCheck } });
  call.write({ chunk: bytes });
  call.end();
  await done;
  return { lines, image };
}

s('a Build’s startup check starts the new version once and leaves it warm; one that fails to load fails startup_failed, saying where', async () => {
  const client = await serve();
  fake.builtImage = (tag) => (tag.includes('/fn-bad:') ? { loadError: `file:///app/index.mjs:4\nReferenceError: nope is not defined\n    at file:///app/index.mjs:4:1` } : { handler: () => 'built' });
  const good = await build(client, 'good', 'export default () => "built";\n');
  assert.ok(good.image?.startsWith(functionImageTag('good', '')), good.image);
  assert.ok(good.lines.some((l) => l.startsWith('startup check passed')), good.lines.join('\n'));
  assert.equal(
    fake.all().map((c) => c.spec.image),
    [good.image],
    'the container stays warm for the first call',
  );
  const r = await invoke(client, 'good', { image: good.image });
  assert.equal([r.outcome, r.timings.coldStart], ['OUTCOME_OK', false]);

  const e = await refusal(build(client, 'bad', 'nope;\nexport default () => 1;\n'));
  assert.equal([e.kind, e.code], ['invalid', 'startup_failed']);
  assert.match(e.detail, 'ReferenceError: nope is not defined');
  assert.match(e.detail, '(at index.mjs:4)');
});

s('a startup check whose start the engine fails once is tried once more; the engine failing twice fails the build with the engine’s words', async () => {
  const client = await serve();
  fake.builtImage = () => ({ handler: () => 'built' });
  fake.failNext('start', engineError(500, 'read /proc/2061/cgroup: no such process'));
  const once = await build(client, 'flaky', 'export default () => "built";\n');
  assert.ok(once.lines.some((l) => l.includes('trying once more')), once.lines.join('\n'));
  assert.ok(once.lines.some((l) => l.startsWith('startup check passed')), once.lines.join('\n'));
  fake.failNext('start', engineError(500, 'engine down'));
  fake.failNext('start', engineError(500, 'engine down'));
  const e = await refusal(build(client, 'broken', 'export default () => "built";\n'));
  assert.equal([e.kind, e.code], ['invalid', 'startup_failed']);
  assert.match(e.detail, 'engine down');
});

for (const [lines, where] of [
  [['    at file:///run/cpub/app/lib/util.mjs:12:5'], 'lib/util.mjs:12'],
  [['file:///app/index.mjs:3', 'SyntaxError: Unexpected token'], 'index.mjs:3'],
  [['Error: no default export'], undefined],
] as const) {
  s(`failedAt finds where a load failed: ${JSON.stringify(lines)} → ${where}`, () => {
    assert.is(failedAt([...lines]), where);
  });
}

s.run();
