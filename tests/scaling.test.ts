// Scaling across two agents (separate processes, each with its own Podman service, idle timeout 2 s): the warm
// floor (minInstances) spread over the nodes, kept past the idle timeout so the first call after idling is warm,
// counted in the nodes' reserved memory, and ended when lowered; how a function scales, as the API shows it; and
// canaries: one failing 20 % of its calls rolled back on its own within its window, one that holds promoted.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, startAgentProcess, type RunningServer, stopFleet } from './helpers/server.js';
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
    await stopFleet(agents, server);
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

  // An alias's own floor: its version kept warm; live's floor is the function's (a 400 says so).
  const live = await api.patch('/api/functions/floored/aliases/live', { minInstances: 1 }, token);
  assert.equal([live.status, live.body.code], [400, 'live_floor']);
  const stable = await api.post('/api/functions/floored/aliases', { name: 'stable', version: 1, minInstances: 1 }, token);
  assert.is(stable.status, 201, JSON.stringify(stable.body));
  assert.is(stable.body.alias.minInstances, 1);
  const capped = await api.patch('/api/functions/floored', { maxInstances: 1 }, token);
  assert.is(capped.status, 200, 'a cap of 1 holds the alias’s floor of 1');
  const under = await api.patch('/api/functions/floored/aliases/stable', { minInstances: 2 }, token);
  assert.equal([under.status, under.body.code], [400, 'min_over_max'], 'an alias’s floor over the cap is refused');
  assert.is((await api.patch('/api/functions/floored', { maxInstances: 4 }, token)).status, 200);
  assert.is((await api.patch('/api/functions/floored/aliases/stable', { minInstances: 2 }, token)).status, 200);
  const lowered = await api.patch('/api/functions/floored', { maxInstances: 1 }, token);
  assert.equal([lowered.status, lowered.body.code], [400, 'min_over_max'], 'the cap cannot be lowered under an alias’s floor');
  assert.match(lowered.body.detail, /alias stable keeps a warm floor of 2/);
  assert.is((await api.patch('/api/functions/floored/aliases/stable', { minInstances: 1 }, token)).status, 200);
  await until('the alias’s floor held', async () => (await scaling('floored')).versions.some((v) => v.version === 1 && v.floorWanted === 1 && v.floorHeld === 1), 30_000, 250);
  assert.is((await api.patch('/api/functions/floored/aliases/stable', { minInstances: 0 }, token)).status, 200);
  await until('the alias’s floor ended', async () => (await scaling('floored')).versions.every((v) => v.floorHeld === 0 && v.floorWanted === 0), 30_000, 250);
});

/** Uploads a new version of `name`; `query` may make it a canary. */
async function upload(name: string, handler: string, query = '') {
  const art = await fnArtifact(handler);
  const res = await fetch(`${server.url}/api/functions/${name}/deployments?wait=true${query}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
  return { status: res.status, body: (await res.json()) as any };
}

type Canary = { state: string; version: number; baseline: number; reason: string | null; endsAt: string | null; finishedAt: string | null; seen: { canary: { calls: number; errors: number } } | null };
const canaries = async (name: string) => (await api.get<{ canaries: Canary[] }>(`/api/functions/${name}/canaries`, token)).body.canaries;

s('a canary failing 20 % of its calls is rolled back on its own within its window, with under 1 % of all calls failing', async () => {
  await deploy('checkout', `() => new Response('v1')`, { auth: 'public', maxInstances: 4 });
  const handle = (await api.get('/api/users/me', token)).body.handle as string;
  // Bad input is a 400 naming what is wrong; the first version cannot be a canary (nothing to compare it with).
  const bad = await upload('checkout', `() => new Response('x')`, '&canary=0');
  assert.is(bad.status, 400, JSON.stringify(bad.body));
  const typo = await upload('checkout', `() => new Response('x')`, '&canry=10');
  assert.is(typo.status, 400, 'a misspelt canary parameter is refused, not deployed live');
  assert.match(JSON.stringify(typo.body), /canry/);
  assert.is((await api.get('/api/functions/checkout', token)).body.function.activeVersion, 1);
  await deploy('first', `() => new Response('x')`);
  assert.is((await api.post('/api/functions/first/canaries', { version: 1, percent: 10, windowMs: 60_000 }, token)).status, 400, 'the active version cannot be its own canary');

  const WINDOW = 40_000;
  const started = await upload('checkout', `() => { if (Math.random() < 0.2) throw new Error('v2 fails one call in five'); return new Response('v2'); }`, `&canary=10&canaryWindowMs=${WINDOW}`);
  assert.is(started.status, 201, JSON.stringify(started.body));
  assert.is(started.body.deployment.version, 2);
  assert.is((await api.get('/api/functions/checkout', token)).body.function.activeVersion, 1, 'a canary is not made active by its build');
  let [c] = await canaries('checkout');
  assert.is(c!.state, 'running', 'the build answers once the canary runs');
  assert.equal((await api.get('/api/functions/checkout/aliases/live', token)).body.alias.weights, { '1': 90, '2': 10 });
  // Warmed before calls moved (the nodes report it with their next heartbeat).
  await until('the canary’s warm container reported', async () => (await scaling('checkout')).versions.some((v) => v.version === 2 && v.idle + v.busy >= 1), 3000, 100);
  assert.is((await upload('checkout', `() => new Response('x')`, '&canary=10')).status, 409, 'one canary at a time');

  // Calls for the whole window, four at a time.
  const end = Date.parse(c!.endsAt!);
  let calls = 0;
  let failed = 0;
  let v2 = 0;
  let v2AfterRollback = 0;
  let rolledBackAt = 0;
  const watch = (async () => {
    while (Date.now() < end && !rolledBackAt) {
      if ((await canaries('checkout'))[0]!.state === 'rolled_back') rolledBackAt = Date.now();
      else await new Promise((r) => setTimeout(r, 200));
    }
  })();
  await Promise.all([
    watch,
    ...Array.from({ length: 4 }, async () => {
      while (Date.now() < end) {
        const res = await fetch(`${server.url}/fn/${handle}/checkout`);
        const text = await res.text();
        calls++;
        if (res.status >= 500) failed++;
        if (text === 'v2') {
          v2++;
          // A call answered a second after the rollback was seen went to v2: the split did not end.
          if (rolledBackAt && Date.now() > rolledBackAt + 1500) v2AfterRollback++;
        }
      }
    }),
  ]);
  [c] = await canaries('checkout');
  assert.is(c!.state, 'rolled_back', JSON.stringify(c));
  assert.match(c!.reason!, /error rate is higher/);
  assert.ok(Date.parse(c!.finishedAt!) < end, 'rolled back within its window');
  assert.ok(c!.seen!.canary.errors > 0);
  assert.ok(calls > 200, `${calls} calls`);
  console.log(`    canary rolled back after ${c!.seen!.canary.calls} of its calls; ${failed} of ${calls} calls failed in its window`);
  assert.ok(failed / calls <= 0.01, `${failed} of ${calls} calls failed (${((failed / calls) * 100).toFixed(2)} %)`);
  assert.ok(v2 > 0, 'the canary got calls');
  assert.is(v2AfterRollback, 0, 'no call reached v2 after the rollback');
  assert.is((await api.get('/api/functions/checkout', token)).body.function.activeVersion, 1);
  assert.is((await api.get('/api/functions/checkout/aliases/live', token)).body.alias.weights, null, 'live is the active version again');
});

s('a canary that holds for its window is promoted: its version becomes the active one', async () => {
  const started = await upload('checkout', `() => new Response('v3')`, '&canary=50&canaryWindowMs=10000');
  assert.is(started.status, 201, JSON.stringify(started.body));
  assert.is(started.body.canary.version, 3);
  const handle = (await api.get('/api/users/me', token)).body.handle as string;
  for (let i = 0; i < 80; i++) assert.is((await fetch(`${server.url}/fn/${handle}/checkout`)).status, 200);
  await until('the canary promoted', async () => (await canaries('checkout'))[0]!.state === 'promoted', 30_000, 250);
  const [c] = await canaries('checkout');
  assert.match(c!.reason!, /held for its window/);
  assert.is((await api.get('/api/functions/checkout', token)).body.function.activeVersion, 3);
  assert.is((await api.get('/api/functions/checkout/aliases/live', token)).body.alias.weights, null);
  // The history keeps both, newest first.
  assert.equal((await canaries('checkout')).map((x) => [x.version, x.state]), [[3, 'promoted'], [2, 'rolled_back']]);
});

s.run();
