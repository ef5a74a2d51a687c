// Scaling across two agents (separate processes, each with its own Podman service, idle timeout 2 s): the warm
// floor (minInstances) spread over the nodes, kept past the idle timeout so the first call after idling is warm,
// counted in the nodes' reserved memory, and ended when lowered; and how a function scales, as the API shows it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, startAgentProcess, type RunningServer } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud, until } from './helpers/hooks.js';
import { fnArtifact } from './helpers/agent.js';
import type { ScalingView } from '../common/api-types.js';

const s = suite('scaling: warm floors over two agents');
const JOIN = 'join-token-for-scaling-0123456789';
/** Agents stop idle containers after this long (the default is 5 minutes). */
const IDLE_MS = 2000;
let server: RunningServer;
let api: Client;
let token: string;
const agents: { proc: RunningServer; dir: string; id: string }[] = [];

async function deploy(name: string, handler: string, settings: Record<string, unknown> = {}): Promise<void> {
  const created = await api.post('/api/functions', { name, ...settings }, token);
  assert.is(created.status, 201, JSON.stringify(created.body));
  const art = await fnArtifact(handler);
  const res = await fetch(`${server.url}/api/functions/${name}/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
  assert.is(res.status, 201, await res.text());
}

const scaling = async (name: string) => (await api.get<{ scaling: ScalingView }>(`/api/functions/${name}/scaling`, token)).body.scaling;
const invoke = async (name: string) => (await api.post(`/api/functions/${name}/invoke`, {}, token)).body as { statusCode: number; coldStart: boolean };
/** Warm containers of the function on all nodes (their heartbeats). */
const warm = async (name: string) => (await scaling(name)).versions.reduce((n, v) => n + v.idle + v.busy, 0);

s.before(
  loud(async () => {
    server = await startServer({ CPUB_JOIN_TOKEN: JOIN });
    api = client(server.url);
    await api.post('/api/auth/register', { email: 'scale@example.com', password: 'scale-password-1' });
    token = (await api.post('/api/auth/login', { email: 'scale@example.com', password: 'scale-password-1' })).body.accessToken;
    for (let i = 0; i < 2; i++) {
      const dir = mkdtempSync(join(tmpdir(), `cpub-scaling-${i}-`));
      const proc = await startAgentProcess({ CPUB_AGENT_DATA_DIR: dir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN, CPUB_AGENT_STEM_CELLS: '0', CPUB_AGENT_IDLE_TIMEOUT: `${IDLE_MS}ms` });
      agents.push({ proc, dir, id: readFileSync(join(dir, 'node-id'), 'utf8').trim() });
    }
    await until('two nodes up', async () => (await api.get<{ nodes: { status: string }[] }>('/api/nodes', token)).body.nodes.filter((n) => n.status === 'up').length === 2, 30_000);
  }),
);

s.after(
  loud(async () => {
    for (const a of agents) {
      await a.proc.stop();
      rmSync(a.dir, { recursive: true, force: true });
    }
    await server?.stop();
  }),
);

s('minInstances: kept on both nodes, counted in their memory, and the first call after the idle timeout is warm; without it, cold', async () => {
  await deploy('floored', `() => new Response('hi')`, { maxInstances: 4 });
  await deploy('unfloored', `() => new Response('hi')`, { maxInstances: 4 });
  const reserved = async () => (await api.get<{ nodes: { id: string; usage: { memoryReservedBytes: number } }[] }>('/api/nodes', token)).body.nodes;
  // The startup checks' warm containers go after the idle timeout: the nodes are empty of both functions.
  await until('the startup checks’ containers reaped', async () => (await warm('floored')) + (await warm('unfloored')) === 0, 20_000, 250);

  const bad = await api.patch('/api/functions/floored', { minInstances: 5 }, token);
  assert.is(bad.status, 400);
  assert.is(bad.body.code, 'min_over_max');
  assert.match(bad.body.detail, /minInstances/);
  const set = await api.patch('/api/functions/floored', { minInstances: 2 }, token);
  assert.is(set.status, 200, JSON.stringify(set.body));
  assert.is(set.body.function.minInstances, 2);

  await until('the floor held on both nodes', async () => {
    const v = (await scaling('floored')).versions[0];
    return v?.floorHeld === 2 && v.nodes.filter((n) => n.floor === 1 && n.idle === 1).length === 2;
  }, 30_000, 250);
  for (const n of await reserved()) assert.ok(n.usage.memoryReservedBytes >= 128 * 2 ** 20, `node ${n.id} counts the floor’s container in its memory`);

  // Idle for more than the idle timeout (and the agents' reaper passes): the floor's containers stay.
  await invoke('unfloored');
  await new Promise((r) => setTimeout(r, 2 * IDLE_MS + 1500));
  assert.is(await warm('floored'), 2, 'the floor’s containers outlive the idle timeout');
  const first = await invoke('floored');
  assert.is(first.statusCode, 200);
  assert.is(first.coldStart, false, 'the first call after idling is warm');
  const control = await invoke('unfloored');
  assert.is(control.coldStart, true, 'without a floor the first call after idling is cold');

  const view = await scaling('floored');
  assert.is(view.minInstances, 2);
  assert.is(view.maxInstances, 4);
  assert.is(view.capacity, 4);
  assert.is(view.floorShortfall, null);
  assert.equal(view.versions.map((v) => [v.version, v.weight, v.floorWanted]), [[1, 100, 2]]);

  // Lowered to 0: the floor ends, and its containers go after the idle timeout like any others.
  assert.is((await api.patch('/api/functions/floored', { minInstances: 0 }, token)).status, 200);
  await until('the floor ended and its containers reaped', async () => (await warm('floored')) === 0 && (await scaling('floored')).versions.every((v) => v.floorHeld === 0), 30_000, 250);
});

s.run();
