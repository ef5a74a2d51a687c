// The agent as a real process behind real gRPC: authentication, Info, Build (streamed, idempotent by digest),
// cold and warm Invoke, Watch heartbeats and live logs, Remove, Drain, and kill -9 + restart (new epoch,
// old containers removed).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { createAgentClient, type AgentClient } from '../proto/loader.js';
import { sendCredential } from '../proto/auth.js';
import { fromGrpcError } from '../proto/errors.js';
import { startAgentProcess, agentBin, type RunningServer } from './helpers/server.js';
import { fnArtifact, buildOverGrpc, invokeMessage } from './helpers/agent.js';
import { loud } from './helpers/hooks.js';
import { rawTarGz } from './helpers/raw-tar.js';

const s = suite('agent over gRPC');
const CREDENTIAL = 'test-node-credential-0123456789';
let dataDir: string;
let agent: RunningServer;
let client: AgentClient;

const unary = <Res>(method: string, req: object, c: AgentClient = client, ms = 60_000) =>
  new Promise<Res>((resolve, reject) =>
    (client as unknown as Record<string, Function>)[method]!.call(c, req, { deadline: Date.now() + ms }, (e: grpc.ServiceError | null, r: Res) => (e ? reject(e) : resolve(r))),
  );

const build = (functionId: string, version: number, art: { path: string; digest: string }) => buildOverGrpc(client, functionId, version, art);

function connect(address: string, token = CREDENTIAL) {
  return createAgentClient(address, grpc.credentials.createInsecure(), { interceptors: [sendCredential(token)] });
}

s.before(
  loud(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cpub-agent-grpc-'));
    agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: dataDir, CPUB_AGENT_CREDENTIAL: CREDENTIAL, CPUB_AGENT_IDLE_TIMEOUT: '60s' });
    client = connect(agent.url);
  }),
);

s.after(
  loud(async () => {
    client?.close();
    await agent?.stop();
    assert.is(spawnSync('pgrep', ['-f', `unix://${dataDir}/podman/podman.sock`]).status, 1, 'no podman service left behind');
    rmSync(dataDir, { recursive: true, force: true });
  }),
);

let epoch = '';
const functionId = randomUUID();
let image = '';

s('Info answers with an epoch, and says whether limits are enforced', async () => {
  const info = await unary<{ epoch: string; limitsEnforced: boolean; runtimeImage: string; ociRuntime: string }>('Info', {});
  assert.match(info.epoch, /^[0-9a-f-]{36}$/);
  assert.is(info.limitsEnforced, process.getuid?.() === 0);
  assert.match(info.runtimeImage, 'runtime-node');
  epoch = info.epoch;
});

s('unauthenticated calls are refused, whatever the method, and do nothing', async () => {
  for (const token of [undefined, 'wrong-credential-wrong-credential']) {
    const c = token ? connect(agent.url, token) : createAgentClient(agent.url, grpc.credentials.createInsecure());
    try {
      for (const [method, req] of [['Info', {}], ['Drain', { wait: false }], ['Remove', { functionId: 'x', version: 0 }], ['Invoke', { functionId: 'x' }]] as const) {
        try {
          await unary(method, req, c);
          assert.unreachable(`${method} accepted`);
        } catch (err) {
          assert.is(fromGrpcError(err).kind, 'unauthenticated', method);
        }
      }
    } finally {
      c.close();
    }
  }
  const info = await unary<{ draining: boolean }>('Info', {});
  assert.is(info.draining, false, 'the refused Drain did nothing');
});

s('Build streams the artifact in and the log and result out; the same digest again answers at once', async () => {
  const art = await fnArtifact(`{ async fetch(req, ctx) { console.log('called', ctx.function.version); return new Response('hi ' + new URL(req.url).searchParams.get('who'), { status: 200, headers: { 'x-fn': 'yes' } }); } }`);
  const events = await build(functionId, 1, art);
  const result = events.find((e) => e.result)?.result;
  assert.ok(result, JSON.stringify(events));
  assert.is(result!.cached, false);
  assert.ok(events.some((e) => e.log?.line.includes('STEP')), 'build log lines streamed');
  assert.ok(events.every((e) => e.epoch === epoch), 'every message carries the epoch');
  image = result!.image;
  // One image a version: its steps committed once, no intermediate image per step (those would pile up in the store,
  // and a build's look for cached steps reads every image there).
  const stored = spawnSync('podman', ['images', '-a', '-q', '--filter', `label=containerpub.function=${functionId}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  assert.is(stored.length, 1, `the build left one image in the store, not ${stored.join(', ')}`);
  const again = await build(functionId, 1, art);
  assert.is(again.find((e) => e.result)?.result?.cached, true);
});

s('Build refuses a digest that does not match the bytes', async () => {
  const art = await fnArtifact(`async () => 1`);
  try {
    await build(randomUUID(), 1, { path: art.path, digest: 'f'.repeat(64) });
    assert.unreachable();
  } catch (err) {
    assert.equal([fromGrpcError(err).kind, fromGrpcError(err).code], ['invalid', 'digest_mismatch']);
  }
});

const invokeReq = (over: { functionId?: string; image?: string; [k: string]: unknown } = {}) => {
  const { functionId: fid = functionId, image: img = image, ...rest } = over;
  return invokeMessage(fid, img, { request: { query: 'who=ada' }, ...rest });
};

type Reply = { epoch: string; outcome: string; status: number; body: Buffer; headers: { name: string; value: string }[]; logs: { message: string }[]; timings: { coldStart: boolean; prewarmed: boolean; createMs: number; startMs: number; readyMs: number; runMs: number } };

s('Build of a hostile artifact (a .. path, a symlink) is refused with the entry named, and leaves nothing behind', async () => {
  const manifest = { name: 'containerpub.json', content: JSON.stringify({ entry: 'index.mjs' }) };
  const entry = { name: 'index.mjs', content: 'export default () => new Response("x")' };
  for (const [bad, name] of [
    [{ name: 'a/../../escape.mjs', content: 'x' }, 'a/../../escape.mjs'],
    [{ name: 'link', type: '2', linkname: '/etc/shadow' }, 'link'],
  ] as const) {
    const path = join(dataDir, 'hostile.tar.gz');
    const bytes = rawTarGz([manifest, entry, bad]);
    writeFileSync(path, bytes);
    const hostileId = randomUUID();
    try {
      await build(hostileId, 1, { path, digest: createHash('sha256').update(bytes).digest('hex') });
      assert.unreachable('the build must be refused');
    } catch (err) {
      const e = fromGrpcError(err);
      assert.is(e.kind, 'invalid');
      assert.match(e.code, /^artifact_/);
      assert.match(e.detail, name);
    }
    assert.equal(readdirSync(join(dataDir, 'build')), [], 'no build folder left');
    assert.not.ok(existsSync(join(dataDir, 'bundles', hostileId)), 'no bundle kept');
    assert.is(spawnSync('podman', ['images', '-q', '--filter', `label=containerpub.function=${hostileId}`], { encoding: 'utf8' }).stdout.trim(), '');
  }
});

s('Invoke: a cold call, then a warm one, with status, headers, body, logs and timings', async () => {
  const cold = await unary<Reply>('Invoke', invokeReq());
  assert.is(cold.outcome, 'OUTCOME_OK');
  assert.is(cold.epoch, epoch);
  assert.is(cold.status, 200);
  assert.is(cold.body.toString(), 'hi ada');
  assert.ok(cold.headers.some((h) => h.name === 'x-fn' && h.value === 'yes'));
  assert.ok(cold.logs.some((l) => l.message === 'called 1'));
  // The agent keeps a stem of the default shape: a cold call loads into it (no start) or, while it is being
  // replaced, starts a container.
  assert.ok(cold.timings.coldStart && (cold.timings.prewarmed ? cold.timings.startMs === 0 : cold.timings.startMs > 0), JSON.stringify(cold.timings));
  const warm = await unary<Reply>('Invoke', invokeReq());
  assert.is(warm.outcome, 'OUTCOME_OK');
  assert.not.ok(warm.timings.coldStart);
});

s('Invoke of an image this node has not built is not_found/image_missing', async () => {
  try {
    await unary('Invoke', invokeReq({ image: 'localhost/containerpub/fn-nope:0' }));
    assert.unreachable();
  } catch (err) {
    assert.equal([fromGrpcError(err).kind, fromGrpcError(err).code], ['not_found', 'image_missing']);
    assert.is(fromGrpcError(err).epoch, epoch, 'errors carry the epoch too');
  }
});

s('InvokeStream: many calls on one stream, replies matched by invocation id; a call that cannot run carries a problem', async () => {
  const call = client.InvokeStream();
  const replies = new Map<string, Reply & { invocationId: string; problem: { kind: string; code: string } | null }>();
  const finished = new Promise<void>((resolve, reject) => {
    call.on('data', (r: Reply & { invocationId: string; problem: { kind: string; code: string } | null }) => replies.set(r.invocationId, r));
    call.on('end', resolve);
    call.on('error', reject);
  });
  const ids = Array.from({ length: 12 }, () => randomUUID());
  for (const id of ids) call.write(invokeReq({ invocationId: id, limits: { memoryMb: 128, cpus: 0.5, timeoutMs: 10_000, concurrency: 4, maxInstances: 2, network: false } }));
  const missing = randomUUID();
  call.write(invokeReq({ invocationId: missing, image: 'localhost/containerpub/fn-nope:0' }));
  call.end();
  await finished;
  for (const id of ids) {
    assert.is(replies.get(id)?.outcome, 'OUTCOME_OK', id);
    assert.is(replies.get(id)?.body.toString(), 'hi ada');
  }
  assert.equal([replies.get(missing)?.problem?.kind, replies.get(missing)?.problem?.code], ['not_found', 'image_missing']);
});

s('Calls: the same calls in batches — replies of calls in flight together come batched, each matched by id; Info says the agent serves it', async () => {
  assert.is((await unary<{ callBatches: boolean }>('Info', {})).callBatches, true);
  const call = client.Calls();
  type R = Reply & { invocationId: string; problem: { kind: string; code: string } | null };
  const replies = new Map<string, R>();
  const batchSizes: number[] = [];
  const finished = new Promise<void>((resolve, reject) => {
    call.on('data', (b: { replies: R[] }) => {
      batchSizes.push(b.replies.length);
      for (const r of b.replies) replies.set(r.invocationId, r);
    });
    call.on('end', resolve);
    call.on('error', reject);
  });
  const ids = Array.from({ length: 24 }, () => randomUUID());
  const missing = randomUUID();
  // One batch of 24 calls and a call that cannot run, then a lone call in a batch of its own.
  call.write({ calls: [...ids.map((id) => invokeReq({ invocationId: id, limits: { memoryMb: 128, cpus: 0.5, timeoutMs: 10_000, concurrency: 8, maxInstances: 2, network: false } })), invokeReq({ invocationId: missing, image: 'localhost/containerpub/fn-nope:0' })] });
  const lone = randomUUID();
  call.write({ calls: [invokeReq({ invocationId: lone })] });
  call.end();
  await finished;
  for (const id of [...ids, lone]) {
    assert.is(replies.get(id)?.outcome, 'OUTCOME_OK', id);
    assert.is(replies.get(id)?.body.toString(), 'hi ada');
  }
  assert.equal([replies.get(missing)?.problem?.kind, replies.get(missing)?.problem?.code], ['not_found', 'image_missing']);
  assert.is(batchSizes.reduce((a, b) => a + b, 0), 26, 'each reply once');
  assert.ok(batchSizes.some((n) => n > 1), `replies of calls answered in the same turn share a message: ${batchSizes.join(',')}`);
});

s('Watch sends heartbeats with warm containers, and live log lines', async () => {
  const call = client.Watch({ heartbeatMs: 200 });
  const seen: {
    heartbeat?: { warm: { functionId: string; idle: number }[]; usage: { memoryBytes: number; containers: number } };
    log?: { line: { message: string } };
    sample?: { functionId: string; memoryBytes: number; cpuMs: number };
  }[] = [];
  call.on('data', (e) => seen.push(e));
  call.on('error', () => {});
  await unary('Invoke', invokeReq());
  await new Promise((r) => setTimeout(r, 600));
  call.cancel();
  assert.ok(seen.filter((e) => e.heartbeat).length >= 2, 'heartbeats');
  assert.ok(seen.some((e) => e.heartbeat?.warm.some((w) => w.functionId === functionId && w.idle >= 1)), 'warm container reported');
  assert.ok(seen.some((e) => e.log?.line.message === 'called 1'), 'live log line');
  const sample = seen.find((e) => e.sample?.functionId === functionId)?.sample;
  assert.ok(sample, 'resource samples for the warm container');
  assert.ok(sample!.memoryBytes > 1_000_000 && sample!.cpuMs > 0, JSON.stringify(sample));
  const usage = seen.filter((e) => e.heartbeat).at(-1)!.heartbeat!.usage;
  assert.ok(usage.containers >= 1 && usage.memoryBytes > 1_000_000, `heartbeat usage adds up the containers' memory: ${JSON.stringify(usage)}`);
});

s('Watch reports a container that exits', async () => {
  const crashId = randomUUID();
  const art = await fnArtifact(`async () => { process.exit(3); }`);
  const built = await build(crashId, 1, art);
  const call = client.Watch({ heartbeatMs: 1000 });
  const exits: { functionId: string; exitCode: number; oomKilled: boolean }[] = [];
  call.on('data', (e: { exit?: { functionId: string; exitCode: number; oomKilled: boolean } | null }) => e.exit && exits.push(e.exit));
  call.on('error', () => {});
  const r = await unary<Reply>('Invoke', invokeReq({ functionId: crashId, image: built.find((e) => e.result)!.result!.image }));
  assert.is(r.outcome, 'OUTCOME_CRASHED');
  for (let i = 0; i < 150 && !exits.some((x) => x.functionId === crashId); i++) await new Promise((res) => setTimeout(res, 100));
  call.cancel();
  const exit = exits.find((x) => x.functionId === crashId);
  assert.ok(exit, 'an exit event');
  assert.is(exit!.exitCode, 3);
  assert.is(exit!.oomKilled, false);
  await unary('Remove', { functionId: crashId, version: 0 });
});

s('kill -9 of the agent, then a restart: a new epoch, and the old containers are removed', async () => {
  // Every container of this agent's epoch: the function's warm one (perhaps a claimed stem) and the stems.
  const ofEpoch = (e: string) => spawnSync('podman', ['ps', '-a', '-q', '--filter', `label=containerpub.epoch=${e}`], { encoding: 'utf8' }).stdout.trim();
  const before = ofEpoch(epoch);
  assert.ok(before.length > 0, 'a warm container exists');
  agent.proc.kill('SIGKILL');
  await new Promise((r) => agent.proc.once('exit', r));
  client.close();
  agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: dataDir, CPUB_AGENT_CREDENTIAL: CREDENTIAL });
  client = connect(agent.url);
  const info = await unary<{ epoch: string }>('Info', {});
  assert.is.not(info.epoch, epoch);
  assert.is(ofEpoch(epoch), '', 'containers of the dead epoch were removed');
  const services = spawnSync('pgrep', ['-f', `system service --time=0 unix://${dataDir}/podman/podman.sock`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  assert.is(services.length, 1, 'the dead agent’s podman service was stopped, not left running beside the new one');
  epoch = info.epoch;
});

s('`cpub-agent status` shows the node, its limits and its warm containers', async () => {
  await unary<Reply>('Invoke', invokeReq());
  const r = spawnSync(process.execPath, [agentBin, 'status', '--listen', agent.url, '--data-dir', dataDir, '--json'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.is(r.status, 0, r.stderr);
  const status = JSON.parse(r.stdout);
  assert.is(status.info.epoch, epoch);
  assert.ok(status.heartbeat.warm.some((w: { functionId: string }) => w.functionId === functionId));
  const text = spawnSync(process.execPath, [agentBin, 'status', '--listen', agent.url, '--credential', CREDENTIAL], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.match(text.stdout, /limits\s+(enforced|NOT enforced)/);
  const bad = spawnSync(process.execPath, [agentBin, 'status', '--listen', agent.url, '--credential', 'x'.repeat(30)], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.is(bad.status, 1);
  assert.match(bad.stderr, 'bad_node_credential');
});

s('Remove drops the function’s containers and images; `cpub-agent drain` waits for calls in flight, refuses new ones, and lasts through a restart', async () => {
  const warm = await unary<Reply>('Invoke', invokeReq());
  assert.is(warm.outcome, 'OUTCOME_OK');
  const removed = await unary<{ containersRemoved: number; imagesRemoved: number }>('Remove', { functionId, version: 0 });
  assert.ok(removed.containersRemoved >= 1);
  assert.ok(removed.imagesRemoved >= 1);

  const slowId = randomUUID();
  const slow = (await build(slowId, 1, await fnArtifact(`async () => { await new Promise((r) => setTimeout(r, 2000)); return new Response('finished'); }`))).find((e) => e.result)!.result!.image;
  const inFlight = unary<Reply>('Invoke', invokeReq({ functionId: slowId, image: slow }));
  await new Promise((r) => setTimeout(r, 500));
  const t0 = Date.now();
  const drain = spawn(process.execPath, [agentBin, 'drain', '--data-dir', dataDir], { env: { PATH: process.env.PATH } });
  let out = '';
  drain.stdout.on('data', (d) => (out += d));
  drain.stderr.on('data', (d) => (out += d));
  const code = await new Promise((r) => drain.on('exit', r));
  const tookMs = Date.now() - t0;
  assert.is(code, 0, out);
  assert.match(out, 'drained');
  const finished = await inFlight;
  assert.is(finished.outcome, 'OUTCOME_OK', 'the call in flight finished');
  assert.is(finished.body.toString(), 'finished');
  assert.ok(tookMs >= 1000, `drain returned after the call in flight (${tookMs} ms)`);
  const refused = await unary<Reply>('Invoke', invokeReq());
  assert.is(refused.outcome, 'OUTCOME_REJECTED');
  await unary('Remove', { functionId: slowId, version: 0 });

  // A drained node stays drained through a restart (maintenance), until it is undrained.
  client.close();
  await agent.stop();
  agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: dataDir, CPUB_AGENT_CREDENTIAL: CREDENTIAL });
  client = connect(agent.url);
  assert.is((await unary<{ draining: boolean }>('Info', {})).draining, true, 'still draining after the restart');
  assert.is((await unary<Reply>('Invoke', invokeReq())).outcome, 'OUTCOME_REJECTED');
  await unary('Undrain', {});
  client.close();
  await agent.stop();
  agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: dataDir, CPUB_AGENT_CREDENTIAL: CREDENTIAL });
  client = connect(agent.url);
  assert.is((await unary<{ draining: boolean }>('Info', {})).draining, false, 'undrained, and so after the next restart');
});

s.run();
