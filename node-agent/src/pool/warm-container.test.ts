// One function container on the fake runtime: what it asks the engine for, how it fences its folder, calls over
// frames and over HTTP, per-call logs, and every way a container ends (deadline, OOM kill, crash, failed start).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRuntime, type FakeImage } from '../runtime/fake-runtime.js';
import { LABELS } from '../images/function-image.js';
import { FUNCTION_UID } from '../images/runtime-image.js';
import { WarmContainer, StartError, type ContainerOptions } from './warm-container.js';
import type { CallLogLine, CallRequest, FunctionSpec } from './types.js';
import { longestStall } from '../../../tests/helpers/event-loop.js';

const s = suite('warm container (fake runtime)');
const IMAGE = 'localhost/containerpub/fn-f1:000000000000000000000001';
const RUNTIME_IMAGE = 'localhost/containerpub/runtime-node:test';
let dir: string;
let fake: FakeRuntime;
let exits: { id: string; exitCode: number; oomKilled: boolean }[];
let live: { id: string; line: CallLogLine }[];
let started: WarmContainer[];

const spec = (over: Partial<FunctionSpec> = {}): FunctionSpec => ({
  functionId: 'f1',
  name: 'hello',
  version: 3,
  image: IMAGE,
  memoryMb: 128,
  cpus: 0.5,
  timeoutMs: 5000,
  concurrency: 4,
  maxInstances: 1,
  network: false,
  env: {},
  ...over,
});

const options = (over: Partial<ContainerOptions> = {}): ContainerOptions => ({
  dataDir: dir,
  nodeId: 'node-1',
  epoch: 'epoch-1',
  logCapBytes: 64 * 1024,
  isolation: { seccompProfile: '/var/lib/cpub/seccomp.json', ownUids: true },
  onExit: (_spec, id, state) => exits.push({ id, ...state }),
  onCallLine: (_spec, id, line) => live.push({ id, line }),
  ...over,
});

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

async function start(image: FakeImage, sp = spec(), opts = options(), deadlineMs = Date.now() + 5000) {
  fake.addImage(sp.image, image);
  const r = await WarmContainer.start(fake, sp, opts, deadlineMs);
  started.push(r.container);
  return r.container;
}

async function until(what: string, check: () => boolean, ms = 2000): Promise<void> {
  for (const end = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 5))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
}

async function startError(p: Promise<unknown>): Promise<StartError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, StartError, 'the start failed with a StartError');
  return err as StartError;
}

s.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpub-warm-'));
  fake = new FakeRuntime();
  exits = [];
  live = [];
  started = [];
});

s.after.each(async () => {
  for (const c of started) await c.destroy();
  for (const c of fake.all()) await fake.remove(c.id);
  rmSync(dir, { recursive: true, force: true });
});

s('a cold start asks for the limits, isolation, labels, mount and env of the function; the function cannot override the shim’s variables', async () => {
  const c = await start({ handler: () => 'ok' }, spec({ env: { GREETING: 'hi', CPUB_SOCKET: '/tmp/evil.sock', CPUB_LOG_SOCKET: '/tmp/evil-log.sock' } }));
  assert.is(fake.created.length, 1);
  const asked = fake.created[0]!;
  assert.is(asked.image, IMAGE);
  assert.equal(
    { memoryBytes: asked.memoryBytes, cpus: asked.cpus, pidsLimit: asked.pidsLimit, network: asked.network, readOnlyRoot: asked.readOnlyRoot, tmpfsBytes: asked.tmpfsBytes, user: asked.user },
    { memoryBytes: 128 * 2 ** 20, cpus: 0.5, pidsLimit: 128, network: false, readOnlyRoot: true, tmpfsBytes: 64 * 2 ** 20, user: `${FUNCTION_UID}:${FUNCTION_UID}` },
  );
  assert.equal(asked.ulimits, { nofile: 1024, nproc: 4096 });
  assert.is(asked.seccompProfile, '/var/lib/cpub/seccomp.json');
  assert.is(asked.usernsSize, 65536, 'a user namespace of its own');
  assert.equal(asked.labels, { [LABELS.managed]: 'true', [LABELS.node]: 'node-1', [LABELS.epoch]: 'epoch-1', [LABELS.function]: 'f1', [LABELS.version]: '3' });
  const folder = join(dir, 'run', asked.name!);
  assert.equal(asked.mounts, [{ host: folder, container: '/run/cpub', readOnly: false }]);
  assert.is(asked.env!.GREETING, 'hi');
  assert.is(asked.env!.CPUB_SOCKET, '/run/cpub/fn.sock', 'the shim’s socket is not the function’s to choose');
  assert.is(asked.env!.CPUB_LOG_SOCKET, '/run/cpub/log.sock');
  assert.is(asked.env!.CPUB_MUX_SOCKET, '/run/cpub/mux.sock');
  assert.equal([asked.env!.CPUB_FUNCTION_NAME, asked.env!.CPUB_FUNCTION_VERSION], ['hello', '3']);
  // The folder is locked once the shim's sockets are there: rootful, it belongs to the container's own host group.
  const st = statSync(folder);
  if (process.getuid?.() === 0) {
    const { gid } = await fake.idMap(c.id);
    assert.is(st.gid, gid[0]!.host + FUNCTION_UID, 'the folder’s group is the container’s host gid');
    assert.is(st.mode & 0o777, 0o750);
  } else {
    assert.is(st.mode & 0o777, 0o755);
  }
  assert.equal(readdirSync(folder).sort(), ['fn.sock', 'log.sock', 'mux.sock']);
});

for (const protocol of ['frames', 'http'] as const) {
  s(`a call over ${protocol} reaches the function with its method, path, query, headers and body, not cpub-* headers; its answer comes back`, async () => {
    let seen: { method: string; url: string; headers: [string, string][]; body: string } | undefined;
    const c = await start(
      {
        handler: async (req) => {
          seen = { method: req.method, url: req.url, headers: [...req.headers].filter(([k]) => k === 'x-in' || k.startsWith('cpub-')), body: await req.text() };
          return new Response('made', { status: 201, headers: { 'x-out': 'yes' } });
        },
      },
      spec(),
      options({ callProtocol: protocol }),
    );
    const headers: [string, string][] = [['X-In', 'A'], ['Cpub-Deadline', '1'], ['cpub-invocation-id', 'forged'], ['cpub-forged', 'x']];
    const r = await c.call(request({ method: 'POST', path: 'things', query: '?a=1', headers, body: Buffer.from('payload') }));
    assert.is(r.outcome, 'ok', r.error);
    assert.equal([r.status, r.body.toString()], [201, 'made']);
    assert.ok(r.headers.some(([k, v]) => k === 'x-out' && v === 'yes'), JSON.stringify(r.headers));
    assert.equal(seen, { method: 'POST', url: 'http://function.local/things?a=1', headers: [['x-in', 'A']], body: 'payload' });
  });
}

s('over frames and over the HTTP contract the same call gives the same answer and log', async () => {
  const handler = async (req: Request, ctx: { log(m: string): void; invocationId: string }) => {
    ctx.log(`hello ${ctx.invocationId}`);
    return new Response(`echo ${await req.text()}`, { headers: { 'x-b': '1' } });
  };
  const viaFrames = await start({ handler });
  const viaHttp = await start({ handler }, spec(), options({ callProtocol: 'http' }));
  const folderOf = (c: WarmContainer) => readdirSync(join(c.socketPath, '..')).sort();
  assert.equal(folderOf(viaFrames), ['fn.sock', 'log.sock', 'mux.sock']);
  assert.equal(folderOf(viaHttp), ['fn.sock', 'log.sock'], 'no frame socket is asked for');
  assert.not.ok('CPUB_MUX_SOCKET' in fake.created[1]!.env!);
  const answers = [];
  for (const c of [viaFrames, viaHttp]) {
    const r = await c.call(request({ invocationId: 'same-id', method: 'POST', body: Buffer.from('x') }));
    assert.is(r.outcome, 'ok', r.error);
    answers.push({ status: r.status, body: r.body.toString(), headers: r.headers.filter(([k]) => k === 'x-b'), logs: r.logs.map((l) => `${l.stream}/${l.message}`) });
  }
  assert.equal(answers[0], { status: 200, body: 'echo x', headers: [['x-b', '1']], logs: ['ctx/hello same-id'] });
  assert.equal(answers[1], answers[0]);
});

s('calls in flight at once each get only their own log lines; live lines reach onCallLine under their invocation', async () => {
  const c = await start({
    handler: async (req, ctx) => {
      const n = new URL(req.url).pathname.slice(1);
      ctx.log(`first ${n}`);
      await new Promise((r) => setTimeout(r, 20));
      ctx.log(`second ${n}`);
      return n;
    },
  });
  const rs = await Promise.all(['a', 'b', 'c'].map((n) => c.call(request({ invocationId: `inv-${n}`, path: `/${n}` }))));
  for (const [i, n] of ['a', 'b', 'c'].entries()) assert.equal(rs[i]!.logs.map((l) => l.message), [`first ${n}`, `second ${n}`]);
  await until('six live lines', () => live.length === 6);
  for (const n of ['a', 'b', 'c']) {
    assert.equal(live.filter((l) => l.id === `inv-${n}`).map((l) => l.line.message), [`first ${n}`, `second ${n}`]);
  }
});

s('a function that throws: outcome error, 500, and the stack in the call’s log', async () => {
  const c = await start({
    handler: () => {
      throw new Error('kaboom');
    },
  });
  const r = await c.call(request());
  assert.equal([r.outcome, r.status, r.error], ['error', 500, 'the function threw an error']);
  assert.ok(r.logs.some((l) => l.level === 'error' && l.message.includes('Error: kaboom')), JSON.stringify(r.logs));
  assert.not.ok(c.dead, 'a thrown error does not end the container');
});

s('a call past its deadline: timeout 504 at the deadline, and the container takes no more calls', async () => {
  const c = await start({ handler: () => new Promise(() => {}) });
  const t0 = Date.now();
  const r = await c.call(request({ deadlineMs: Date.now() + 80 }));
  const took = Date.now() - t0;
  assert.equal([r.outcome, r.status], ['timeout', 504]);
  assert.ok(took >= 70 && took < 1000, `answered after ${took} ms`);
  assert.ok(c.dead, 'marked dead, to be replaced');
  const late = await c.call(request({ deadlineMs: Date.now() - 1 }));
  assert.is(late.outcome, 'timeout', 'a call whose deadline passed before it started is not sent');
  assert.match(late.error, 'before the call started');
});

for (const [name, how, outcome, error] of [
  ['the kernel’s OOM killer (OOMKilled)', { oomKilled: true }, 'oom', 'killed for exceeding its 128 MB memory limit'],
  ['a SIGKILL nobody sent (137 without OOMKilled, Podman 4.3 with runc)', { exitCode: 137 }, 'oom', 'killed for exceeding its 128 MB memory limit'],
  ['the process exiting by itself', { exitCode: 3 }, 'crashed', "the function's process exited (code 3)"],
] as const) {
  s(`a container that dies mid-call by ${name} ends the call ${outcome}, and its exit is reported once`, async () => {
    const c = await start({
      handler: (_req, ctx) => {
        ctx.log('about to die');
        // Once its line has reached the agent (it arrives on another socket than the answer would).
        setTimeout(() => fake.exit(ctx.containerId, how), 20);
        return new Promise(() => {});
      },
    });
    const r = await c.call(request());
    assert.equal([r.outcome, r.status, r.error], [outcome, 502, error]);
    assert.ok(c.dead);
    assert.equal(
      r.logs.map((l) => l.message),
      ['about to die'],
      'the lines seen live are the record of a call that died',
    );
    await until('the exit report', () => exits.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(exits, [{ id: c.id, exitCode: fake.container(c.id)!.exitCode, oomKilled: outcome === 'oom' }]);
  });
}

s('a container that dies while idle is noticed (its log socket closes) and reported', async () => {
  const c = await start({ handler: () => 'ok' });
  assert.is((await c.call(request())).outcome, 'ok');
  fake.exit(c.id, { exitCode: 5 });
  await until('the container is marked dead', () => c.dead);
  await until('the exit report', () => exits.length === 1);
  assert.equal(exits, [{ id: c.id, exitCode: 5, oomKilled: false }]);
});

s('destroy removes the container and its folder; an exit the agent caused is not reported', async () => {
  const c = await start({ handler: () => 'ok' });
  const folder = join(c.socketPath, '..');
  await c.destroy();
  assert.is(fake.container(c.id), undefined, 'removed from the engine');
  assert.not.ok(existsSync(folder), 'its socket folder is gone');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(exits, [], 'the 137 of the removal does not read as an OOM kill');
});

s('a function that fails to load: StartError crashed with its output, and nothing left behind', async () => {
  const err = await startError(start({ loadError: "SyntaxError: Unexpected token '}'" }));
  assert.is(err.outcome, 'crashed');
  assert.match(err.message, 'exited while starting');
  assert.ok(err.log.some((l) => l.message.includes("SyntaxError: Unexpected token '}'")), JSON.stringify(err.log));
  assert.equal(fake.all(), [], 'the container is removed');
  assert.equal(readdirSync(join(dir, 'run')), [], 'and its folder');
});

s('a function that exits so fast the engine’s start fails: StartError crashed with its output, not the engine’s words', async () => {
  const err = await startError(start({ loadError: 'Error: no default export', exitsDuringStart: true }));
  assert.is(err.outcome, 'crashed');
  assert.match(err.message, 'exited while starting');
  assert.ok(err.log.some((l) => l.message.includes('no default export')), JSON.stringify(err.log));
  assert.equal(fake.all(), [], 'the container is removed');
});

s('a function that exits during the engine’s start without a word to the log socket: still the function’s exit (its exit code), not the engine’s error', async () => {
  const err = await startError(start({ loadError: 'Error: no default export', exitsDuringStart: true, noLogs: true }));
  assert.is(err.outcome, 'crashed');
  assert.match(err.message, 'exited while starting');
  assert.equal(fake.all(), [], 'the container is removed');
});

s('a shim that never answers ready: StartError timeout at the deadline, and the container is removed', async () => {
  const t0 = Date.now();
  const err = await startError(start({ handler: () => 'ok', neverReady: true }, spec(), options(), Date.now() + 200));
  assert.is(err.outcome, 'timeout');
  assert.ok(Date.now() - t0 < 1500, `gave up after ${Date.now() - t0} ms`);
  assert.equal(fake.all(), []);
});

s('a start the engine refuses removes the created container and its folder', async () => {
  fake.failNext('start');
  const err = await start({ handler: () => 'ok' }).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.match(err?.message ?? '', 'fake: start failed');
  assert.is(fake.created.length, 1);
  assert.equal(fake.all(), []);
  assert.equal(readdirSync(join(dir, 'run')), []);
});

s('a folder written to before the shim’s socket appears is refused: nothing can be swapped in beside the socket', async () => {
  const err = await startError(start({ handler: () => 'ok', onStart: (mounts) => writeFileSync(join(mounts[0]!.host, 'fn.sock.bak'), 'x') }));
  assert.is(err.outcome, 'crashed');
  assert.match(err.message, 'tampered with its socket folder');
  assert.equal(fake.all(), []);
});

s('a stem runs the runtime image with the shape’s limits and no function; claim loads the bundle with the function’s env', async () => {
  fake.addImage(RUNTIME_IMAGE, {});
  const shape = spec({ functionId: 'stem', name: '', version: 0, image: RUNTIME_IMAGE, env: {} });
  const { container: stem } = await WarmContainer.start(fake, shape, options(), Date.now() + 5000, RUNTIME_IMAGE);
  started.push(stem);
  assert.ok(stem.stem);
  const asked = fake.created[0]!;
  assert.equal(asked.labels, { [LABELS.managed]: 'true', [LABELS.node]: 'node-1', [LABELS.epoch]: 'epoch-1', [LABELS.stem]: 'true' });
  assert.is(asked.env!.CPUB_STEM, '1');
  assert.not.ok('CPUB_FUNCTION_NAME' in asked.env!, 'no function is known yet');
  assert.is((await stem.call(request())).status, 503, 'no function before the claim');

  const app = join(dir, 'bundle');
  mkdirSync(app);
  writeFileSync(join(app, 'index.mjs'), `export default { fetch: (req, ctx) => new Response('claimed ' + ctx.env.SECRET) };\n`);
  const ms = await stem.claim(spec({ env: { SECRET: 's3' } }), { appDir: app, entry: 'index.mjs' }, Date.now() + 5000);
  assert.ok(ms >= 0);
  assert.not.ok(stem.stem);
  assert.is(stem.spec.functionId, 'f1');
  const r = await stem.call(request());
  assert.equal([r.outcome, r.body.toString()], ['ok', 'claimed s3']);
  await until('the rename', () => fake.ops.some((o) => o.startsWith(`rename ${stem.id} cpub-f1-v3-`)));
});

s('a stem claiming a large bundle copies it without holding the event loop', async () => {
  fake.addImage(RUNTIME_IMAGE, {});
  const { container: stem } = await WarmContainer.start(fake, spec({ functionId: 'stem', image: RUNTIME_IMAGE }), options(), Date.now() + 5000, RUNTIME_IMAGE);
  started.push(stem);
  // 2,000 files of 8 KiB (a bundle may have 10,000 and 250 MB): copied at once, ≈ 1–2 s of the agent doing nothing else.
  const app = join(dir, 'large');
  const blob = Buffer.alloc(8192, 97);
  for (let d = 0; d < 20; d++) {
    mkdirSync(join(app, 'lib', `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(app, 'lib', `d${d}`, `f${f}.txt`), blob);
  }
  writeFileSync(join(app, 'index.mjs'), `export default { fetch: () => new Response('large') };\n`);
  const { longestMs } = await longestStall(() => stem.claim(spec(), { appDir: app, entry: 'index.mjs', small: false }, Date.now() + 10_000));
  assert.equal((await stem.call(request())).body.toString(), 'large');
  assert.ok(longestMs < 250, `the event loop was held for ${Math.round(longestMs)} ms`);
});

s('a stem whose bundle fails to load is destroyed and the claim fails crashed', async () => {
  fake.addImage(RUNTIME_IMAGE, {});
  const shape = spec({ functionId: 'stem', image: RUNTIME_IMAGE });
  const { container: stem } = await WarmContainer.start(fake, shape, options(), Date.now() + 5000, RUNTIME_IMAGE);
  started.push(stem);
  const app = join(dir, 'broken');
  mkdirSync(app);
  writeFileSync(join(app, 'index.mjs'), `throw new Error('broken at load');\n`);
  const err = await startError(stem.claim(spec(), { appDir: app, entry: 'index.mjs' }, Date.now() + 5000));
  assert.is(err.outcome, 'crashed');
  assert.match(err.message, 'broken at load');
  assert.equal(fake.all(), [], 'the stem is gone');
});

s.run();
