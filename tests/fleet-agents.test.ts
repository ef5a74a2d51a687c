// Three agents (separate processes, each with its own Podman service) behind one control plane: placement
// spreads functions and reuses warm containers; kill -9 of an agent under load fails only the calls in flight
// on it and the node is down within the node TTL; it rejoins with a new epoch and no orphans; a SIGSTOPped agent's late
// reply is refused; drain under load fails no call and sends the node no new ones.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, startAgentProcess, type RunningServer, stopFleet } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud, until } from './helpers/hooks.js';
import { fnArtifact } from './helpers/agent.js';

const s = suite('fleet: three agents');
const JOIN = 'join-token-for-fleet-agents-0123456789';
/** The node TTL (CPUB_NODE_TTL): half the default, so the cases that wait it out (a SIGSTOP, every agent silent) wait 5 s less. */
const TTL_MS = 5000;
let server: RunningServer;
let api: Client;
let admin: string;
let handle: string;
const agents: { proc: RunningServer; dir: string; id: string }[] = [];

type NodeView = { id: string; status: string; epoch: string; warm: { functionId: string; version: number; idle: number; busy: number }[] };
type Result = { status: number; code?: string; executionId: string | null; startedAt: number };
const node = async (id: string) => (await api.get<NodeView>(`/api/nodes/${id}`, admin)).body;

const startAgent = (dir: string) => startAgentProcess({ CPUB_AGENT_DATA_DIR: dir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN, CPUB_AGENT_STEM_CELLS: '0' });

async function deploy(name: string, handler: string, settings: Record<string, unknown> = {}): Promise<string> {
  const created = await api.post('/api/functions', { name, auth: 'public', ...settings }, admin);
  assert.is(created.status, 201, JSON.stringify(created.body));
  const art = await fnArtifact(handler);
  const res = await fetch(`${server.url}/api/functions/${name}/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
  assert.is(res.status, 201, await res.text());
  return created.body.function.id as string;
}

async function call(name: string): Promise<Result> {
  const startedAt = Date.now();
  const res = await fetch(`${server.url}/fn/${handle}/${name}`);
  const text = await res.text();
  let code: string | undefined;
  if (res.status >= 400) code = (JSON.parse(text) as { code?: string }).code;
  return { status: res.status, code, executionId: res.headers.get('cpub-execution-id'), startedAt };
}

/** The node each execution of `name` ran on, by execution id. */
async function executions(name: string): Promise<Map<string, { nodeId: string | null; status: string; startedAt: number }>> {
  const all = new Map<string, { nodeId: string | null; status: string; startedAt: number }>();
  let cursor: string | null = null;
  do {
    type Page = { executions: { id: string; nodeId: string | null; status: string; startedAt: string }[]; nextCursor: string | null };
    const r: { body: Page } = await api.get<Page>(`/api/functions/${name}/executions?limit=200${cursor ? `&cursor=${cursor}` : ''}`, admin);
    for (const e of r.body.executions) all.set(e.id, { nodeId: e.nodeId, status: e.status, startedAt: Date.parse(e.startedAt) });
    cursor = r.body.nextCursor;
  } while (cursor);
  return all;
}

/** `workers` loops of calls to `name` until `stop()`; every result kept. */
function load(name: string, workers: number) {
  const results: Result[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) results.push(await call(name));
  });
  return {
    results,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

const SLEEP = (ms: number) => `async () => { await new Promise((r) => setTimeout(r, ${ms})); return new Response('ok'); }`;

s.before(
  loud(async () => {
    server = await startServer({ CPUB_JOIN_TOKEN: JOIN, CPUB_NODE_TTL: `${TTL_MS}ms` });
    api = client(server.url);
    await api.post('/api/auth/register', { email: 'root@example.com', password: 'root-password-1' });
    admin = (await api.post('/api/auth/login', { email: 'root@example.com', password: 'root-password-1' })).body.accessToken;
    handle = (await api.get('/api/users/me', admin)).body.handle;
    for (let i = 0; i < 3; i++) {
      const dir = mkdtempSync(join(tmpdir(), `cpub-fleet-${i}-`));
      agents.push({ proc: await startAgent(dir), dir, id: '' });
      agents[i]!.id = readFileSync(join(dir, 'node-id'), 'utf8').trim();
    }
    await until('three nodes up', async () => (await api.get<{ nodes: NodeView[] }>('/api/nodes', admin)).body.nodes.filter((n) => n.status === 'up').length === 3, 30_000);
  }),
);

s.after(
  loud(async () => {
    await stopFleet(agents, server);
  }),
);

s('functions spread over equal nodes, and each one’s calls reuse its warm container', async () => {
  const ids: string[] = [];
  // Memory reserved over the fleet, as the heartbeats report it (what placement packs by).
  const reserved = async () => (await api.get<{ nodes: { usage: { memoryReservedBytes: number } }[] }>('/api/nodes', admin)).body.nodes.reduce((n, x) => n + x.usage.memoryReservedBytes, 0);
  for (const name of ['spread-a', 'spread-b', 'spread-c']) {
    const before = await reserved();
    ids.push(await deploy(name, `() => new Response('hi')`));
    // Its startup check left a warm container on the node that built it: the next build is placed once the
    // heartbeats say so (placement reads them, a second at most behind).
    await until('the new warm container in the heartbeats', async () => (await reserved()) >= before + 128 * 2 ** 20, 15_000, 200);
  }
  const used = new Set<string>();
  for (const name of ['spread-a', 'spread-b', 'spread-c']) {
    const rs: Result[] = [];
    for (let i = 0; i < 5; i++) rs.push(await call(name));
    assert.ok(rs.every((r) => r.status === 200), JSON.stringify(rs));
    const ex = await executions(name);
    const nodes = new Set(rs.map((r) => ex.get(r.executionId!)!.nodeId));
    assert.is(nodes.size, 1, `${name} ran on ${[...nodes]}`);
    used.add([...nodes][0]!);
    const views = (await api.get<{ executions: { coldStart: boolean }[] }>(`/api/functions/${name}/executions?limit=10`, admin)).body.executions;
    // The deploy's startup check left a warm container on the node that built it: no call starts one.
    assert.is(views.filter((v) => v.coldStart).length, 0, 'the warm container from the startup check serves every call');
  }
  // Equal empty nodes: builds and first calls go round the fleet rather than piling on one node.
  assert.is(used.size, 3, `three functions used nodes ${[...used]}`);
  // The nodes API shows each function's warm container on its node.
  await until('warm containers reported', async () => {
    const warm = (await Promise.all(agents.map((a) => node(a.id)))).flatMap((n) => n.warm);
    return ids.every((id) => warm.some((w) => w.functionId === id && w.idle + w.busy === 1));
  }, 10_000);
});

s('kill -9 of an agent under load: only its in-flight calls fail (502 agent_lost), down within the TTL, rejoins with a new epoch and no orphans', async () => {
  await deploy('steady', SLEEP(100), { concurrency: 1, maxInstances: 4 });
  const l = load('steady', 4);
  await until('calls flowing', () => l.results.length >= 20, 30_000);
  const ex = await executions('steady');
  const victimId = ex.get(l.results.at(-1)!.executionId!)!.nodeId!;
  const victim = agents.find((a) => a.id === victimId)!;
  const oldEpoch = (await node(victimId)).epoch;
  const killedAt = Date.now();
  victim.proc.proc.kill('SIGKILL');
  await until('the node down', async () => (await node(victimId)).status === 'down', 15_000, 100);
  const detectMs = Date.now() - killedAt;
  assert.ok(detectMs <= TTL_MS, `down after ${detectMs} ms`);
  const before = l.results.length;
  await until('calls on the other nodes', () => l.results.length >= before + 20, 60_000);
  await l.stop();

  const failed = l.results.filter((r) => r.status !== 200);
  for (const f of failed) assert.equal([f.status, f.code], [502, 'agent_lost'], JSON.stringify(f));
  assert.ok(failed.length <= 4, `${failed.length} calls failed; at most the 4 in flight may`);
  const after = await executions('steady');
  for (const f of failed) assert.is(after.get(f.executionId!)!.status, 'agent_lost');
  // Every call that started after the kill was seen ran elsewhere and succeeded.
  const later = l.results.filter((r) => r.startedAt > killedAt + 200);
  assert.ok(later.length >= 20);
  assert.ok(later.every((r) => r.status === 200), JSON.stringify(later.filter((r) => r.status !== 200)));
  assert.ok(later.every((r) => after.get(r.executionId!)!.nodeId !== victimId));

  await victim.proc.stop(); // the killed agent's podman service goes too
  victim.proc = await startAgent(victim.dir);
  await until('the node back up', async () => (await node(victimId)).status === 'up', 30_000);
  const back = await node(victimId);
  assert.is.not(back.epoch, oldEpoch);
  const epochs = spawnSync('podman', ['ps', '-a', '--filter', `label=containerpub.node=${victimId}`, '--format', '{{index .Labels "containerpub.epoch"}}'], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  assert.ok(epochs.every((e) => e === back.epoch), `containers of old epochs remain: ${epochs}`);
});

s('SIGSTOP of an agent past the TTL, then SIGCONT: its late reply is refused and the call completes once', async () => {
  await deploy('slow', SLEEP(2500), { timeoutMs: 6000 });
  assert.is((await call('slow')).status, 200); // warm, and on a known node
  const ex = await executions('slow');
  const nodeId = [...ex.values()][0]!.nodeId!;
  const target = agents.find((a) => a.id === nodeId)!;
  const epoch = (await node(nodeId)).epoch;
  const pending = call('slow');
  await new Promise((r) => setTimeout(r, 300));
  target.proc.proc.kill('SIGSTOP');
  const r = await pending;
  assert.equal([r.status, r.code], [502, 'agent_lost']);
  await until('the stopped node down', async () => (await node(nodeId)).status === 'down', 20_000, 200);
  target.proc.proc.kill('SIGCONT');
  // The agent finishes the call and answers: nothing waits for it any more, so the answer is dropped.
  await until('the node up again', async () => (await node(nodeId)).status === 'up', 20_000, 200);
  assert.is((await node(nodeId)).epoch, epoch, 'the same agent process, not a restart');
  await new Promise((r) => setTimeout(r, 1000));
  const rows = [...(await executions('slow')).entries()].filter(([id]) => id === r.executionId);
  assert.is(rows.length, 1);
  assert.is(rows[0]![1].status, 'agent_lost');
  assert.ok(!/completed twice|duplicate/i.test(server.output()));
});

s('drain under load: no call fails, the drained node gets no new calls, undrain brings it back', async () => {
  await deploy('busy', SLEEP(50), { concurrency: 1, maxInstances: 3 });
  const l = load('busy', 3);
  await until('calls flowing', () => l.results.length >= 15, 30_000);
  const ex = await executions('busy');
  const nodeId = ex.get(l.results.at(-1)!.executionId!)!.nodeId!;
  const drained = await api.post<NodeView>(`/api/nodes/${nodeId}/drain`, {}, admin);
  assert.is(drained.status, 200, JSON.stringify(drained.body));
  assert.ok(['draining', 'drained'].includes(drained.body.status));
  const drainedAt = Date.now();
  await until('drained', async () => (await node(nodeId)).status === 'drained', 15_000, 100);
  const before = l.results.length;
  await until('calls elsewhere', () => l.results.length >= before + 20, 60_000);
  await l.stop();
  assert.ok(l.results.every((r) => r.status === 200), JSON.stringify(l.results.filter((r) => r.status !== 200)));
  const after = await executions('busy');
  const late = l.results.filter((r) => r.startedAt > drainedAt + 100).map((r) => after.get(r.executionId!)!);
  assert.ok(late.length >= 20);
  assert.ok(late.every((e) => e.nodeId !== nodeId), 'a call went to the drained node');
  assert.is((await api.post(`/api/nodes/${nodeId}/undrain`, {}, admin)).body.status, 'up');
  await until('up after undrain', async () => (await node(nodeId)).status === 'up', 5000);
  // With every node drained no node can take a call: 503 with Retry-After, at once.
  for (const a of agents) assert.is((await api.post(`/api/nodes/${a.id}/drain`, {}, admin)).status, 200);
  const res = await fetch(`${server.url}/fn/${handle}/busy`);
  assert.is(res.status, 503);
  assert.ok(Number(res.headers.get('retry-after')) > 0);
  assert.is(((await res.json()) as { code: string }).code, 'no_agent');
  for (const a of agents) assert.is((await api.post(`/api/nodes/${a.id}/undrain`, {}, admin)).body.status, 'up');
  assert.is((await api.post('/api/nodes/nope-nope/drain', {}, admin)).status, 404);
});

s('every agent silent at once: an alert in the log and the nodes API, not a mass `down`; cleared when they answer', async () => {
  for (const a of agents) a.proc.proc.kill('SIGSTOP');
  try {
    await new Promise((r) => setTimeout(r, TTL_MS + 2000)); // past the TTL
    const r = (await api.get<{ nodes: NodeView[]; alert: string | null }>('/api/nodes', admin)).body;
    assert.match(r.alert ?? '', /all 3 agents stopped answering at once/);
    assert.ok(r.nodes.every((n) => n.status === 'suspect'), JSON.stringify(r.nodes.map((n) => n.status)));
    assert.match(server.output(), /all 3 agents stopped answering at once/);
  } finally {
    for (const a of agents) a.proc.proc.kill('SIGCONT');
  }
  await until('all up again', async () => {
    const r = (await api.get<{ nodes: NodeView[]; alert: string | null }>('/api/nodes', admin)).body;
    return r.alert === null && r.nodes.every((n) => n.status === 'up');
  }, 15_000);
});

s('Prometheus: nodes by status and per-node usage', async () => {
  const text = (await api.get('/metrics', admin)).text;
  assert.match(text, /^cpub_nodes\{status="up"\} 3$/m);
  for (const a of agents) assert.match(text, new RegExp(`^cpub_node_memory_capacity_bytes\\{node="${a.id}",name="[^"]+"\\} [1-9]\\d*$`, 'm'));
  assert.match(text, /^cpub_node_containers\{node="[^"]+",name="[^"]+"\} [1-9]/m);
});

s.run();
