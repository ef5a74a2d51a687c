// An agent joins a real control plane: registration with the join token, the server dialling back over gRPC,
// heartbeats on Watch, liveness (suspect while hung, down at once after a kill -9), and a restart with a new epoch.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, startAgentProcess, serverBin, cleanEnv, type RunningServer } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud } from './helpers/hooks.js';

const s = suite('fleet: agents join the control plane');
const JOIN = 'join-token-for-tests-0123456789';
let server: RunningServer;
let agent: RunningServer | undefined;
let api: Client;
let admin: string;
let agentDir: string;
let serverDir: string;

type NodeView = { id: string; status: string; epoch: string; limitsEnforced: boolean; capacity: { cpus: number; maxContainers: number } };
const nodes = async () => (await api.get<{ nodes: NodeView[] }>('/api/nodes', admin)).body.nodes;

async function waitFor(pred: (n: NodeView[]) => boolean, ms: number, seen: string[] = []): Promise<NodeView[]> {
  const end = Date.now() + ms;
  for (;;) {
    const n = await nodes();
    if (n[0]) seen.push(n[0].status);
    if (pred(n)) return n;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(n)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

s.before(
  loud(async () => {
    serverDir = mkdtempSync(join(tmpdir(), 'cpub-fleet-server-'));
    server = await startServer({ CPUB_JOIN_TOKEN: JOIN, CPUB_DATA_DIR: serverDir });
    api = client(server.url);
    await api.post('/api/auth/register', { email: 'root@example.com', password: 'root-password-1' });
    admin = (await api.post('/api/auth/login', { email: 'root@example.com', password: 'root-password-1' })).body.accessToken;
    agentDir = mkdtempSync(join(tmpdir(), 'cpub-fleet-'));
  }),
);

s.after(
  loud(async () => {
    await agent?.stop();
    await server?.stop();
    rmSync(agentDir, { recursive: true, force: true });
    rmSync(serverDir, { recursive: true, force: true });
  }),
);

// CPUB_AGENT_NAME unset: the agent's default name (the host name).
const startAgent = () => startAgentProcess({ CPUB_AGENT_DATA_DIR: agentDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN, CPUB_AGENT_NAME: undefined });

s('`cpub-server join-token` prints the token; a wrong token is refused with 401', async () => {
  // Run without blocking this process: a blocked event loop can let the client reuse a keep-alive socket the
  // server has closed meanwhile ("fetch failed" on the next request).
  const run = promisify(execFile);
  const r = await run(process.execPath, [serverBin, 'join-token', '--data-dir', server.dataDir], { encoding: 'utf8', env: cleanEnv({ CPUB_JOIN_TOKEN: JOIN }) });
  assert.is(r.stdout.trim(), JOIN);
  const generated = mkdtempSync(join(tmpdir(), 'cpub-jt-'));
  const g = await run(process.execPath, [serverBin, 'join-token', '--data-dir', generated], { encoding: 'utf8', env: cleanEnv() });
  assert.match(g.stdout.trim(), /^cpj_[A-Za-z0-9_-]{32}$/);
  rmSync(generated, { recursive: true, force: true });
  const refused = async () => Number(/^cpub_security_events_total\{event="bad_join_token"\} (\d+)$/m.exec((await api.get('/metrics', admin)).text)?.[1]);
  const before = await refused();
  const bad = await api.post('/api/agents/register', { joinToken: 'nope', nodeId: 'aaaaaaaa-1', advertise: '127.0.0.1:1' });
  assert.is(bad.status, 401);
  assert.is(bad.body.code, 'bad_join_token');
  assert.is(await refused(), before + 1, 'counted on /metrics for alerting');
});

s('an agent joins and shows up; the server dials it and its heartbeats keep it up', async () => {
  agent = await startAgent();
  const [n] = await waitFor((ns) => ns[0]?.status === 'up', 15_000);
  assert.match(n!.epoch, /^[0-9a-f-]{36}$/);
  assert.is(n!.limitsEnforced, process.getuid?.() === 0);
  assert.ok(n!.capacity.cpus >= 1);
  const one = await api.get<NodeView>(`/api/nodes/${n!.id}`, admin);
  assert.is(one.body.id, n!.id);
  assert.is((await api.get('/api/nodes/nope-nope', admin)).status, 404);
  await api.post('/api/auth/register', { email: 'user@example.com', password: 'user-password-1' });
  const user = (await api.post('/api/auth/login', { email: 'user@example.com', password: 'user-password-1' })).body.accessToken;
  assert.is((await api.get('/api/nodes', user)).status, 403);
});

s('a hung agent (SIGSTOP) is suspect after two missed beats, and up again when it answers', async () => {
  agent!.proc.kill('SIGSTOP');
  const seen: string[] = [];
  try {
    await waitFor((ns) => ns[0]?.status === 'suspect', 8000, seen);
  } finally {
    agent!.proc.kill('SIGCONT');
  }
  await waitFor((ns) => ns[0]?.status === 'up', 8000);
});

s('kill -9 of the agent: down at once (its port refuses connections); a restart comes back up with a new epoch', async () => {
  const before = (await nodes())[0]!;
  agent!.proc.kill('SIGKILL');
  await new Promise((r) => agent!.proc.once('exit', r));
  const t0 = Date.now();
  const seen: string[] = [];
  await waitFor((ns) => ns[0]?.status === 'down', 15_000, seen);
  const took = Date.now() - t0;
  assert.ok(took <= 5000, `down after ${took} ms (statuses seen: ${seen.join(',')})`);
  agent = await startAgent();
  const [n] = await waitFor((ns) => ns[0]?.status === 'up', 15_000);
  assert.is(n!.id, before.id, 'same node id');
  assert.is.not(n!.epoch, before.epoch, 'new epoch');
});

s('the join token alone cannot take over an existing node', async () => {
  const [n] = await nodes();
  const hijack = await api.post('/api/agents/register', { joinToken: JOIN, nodeId: n!.id, advertise: '127.0.0.1:1' });
  assert.is(hijack.status, 409);
  assert.is(hijack.body.code, 'node_exists');
  const [still] = await nodes();
  assert.is(still!.status, 'up');
});

s('names: a second agent cannot take a live node’s name; with --name it joins under its own, and drains by name', async () => {
  const [first] = await nodes();
  const firstName = (first as NodeView & { name: string }).name;
  assert.is(firstName, hostname().slice(0, 63), 'the default name is the host name');
  const otherDir = mkdtempSync(join(tmpdir(), 'cpub-fleet-2-'));
  try {
    const env = { CPUB_AGENT_DATA_DIR: otherDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN, CPUB_AGENT_STEM_CELLS: '0', CPUB_AGENT_NAME: undefined };
    const refused = await startAgentProcess(env).then(
      async (a) => (await a.stop(), 'joined'),
      (err: Error) => err.message,
    );
    assert.match(refused, 'node_name_taken');
    assert.match(refused, `already named "${firstName}"`);
    const second = await startAgentProcess({ ...env }, { args: ['--name', 'second-node'] });
    try {
      const all = await waitFor((ns) => ns.some((n) => (n as NodeView & { name: string }).name === 'second-node' && n.status === 'up'), 15_000);
      assert.is(all.length, 2);
      const drained = await api.post<NodeView>('/api/nodes/second-node/drain', {}, admin);
      assert.is(drained.status, 200, JSON.stringify(drained.body));
      assert.ok(['draining', 'drained'].includes(drained.body.status));
      assert.is.not(drained.body.id, first!.id, 'the node named, not another');
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(otherDir, { recursive: true, force: true });
  }
});

s('a control-plane restart: an agent that is slow to answer gets a grace period, not `down`', async () => {
  const [before] = await nodes();
  assert.is(before!.status, 'up');
  await server.stop();
  // The agent hangs (SIGSTOP) while the server is away past the TTL: at restart its last heartbeat is stale and
  // the server cannot reach it yet. Without the grace period the first liveness check would mark it down.
  agent!.proc.kill('SIGSTOP');
  const seen: string[] = [];
  try {
    await new Promise((r) => setTimeout(r, 11_000));
    server = await startServer({ CPUB_JOIN_TOKEN: JOIN, CPUB_DATA_DIR: serverDir });
    api = client(server.url);
    const end = Date.now() + 4000;
    while (Date.now() < end) {
      seen.push((await nodes())[0]!.status);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    agent!.proc.kill('SIGCONT');
  }
  assert.not.ok(seen.includes('down'), `statuses seen during the grace period: ${seen.join(',')}`);
  const [n] = await waitFor((ns) => ns[0]?.status === 'up', 15_000, seen);
  assert.is(n!.epoch, before!.epoch, 'the same agent, dialled again');
});

s.run();
