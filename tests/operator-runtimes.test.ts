// Operator runtimes (issue 23, item 3), with real agents and Podman: one agent is given another runtime image by
// name (`--runtime alt=<image>`, as the operator of a host with a registry would; here the image is built on this
// host, since there is no registry) and one that cannot be had; a function naming `alt` in its containerpub.json
// is built and run only where that runtime is, a function naming a runtime no node has fails its deploy at once
// saying so, `/api/nodes` lists each node's runtimes, and `cpub-agent doctor` runs the conformance kit on each.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { startServer, startAgentProcess, agentBin, cleanEnv, repoRoot, type RunningServer, stopFleet } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud, until } from './helpers/hooks.js';
import { makeArtifact } from './helpers/agent.js';
import { podmanFixture, type PodmanFixture } from './helpers/podman-fixture.js';
import { LANGUAGE_LABEL } from '../node-agent/src/images/runtime-image.js';

const s = suite('operator runtimes');
const JOIN = 'join-token-for-operator-runtimes-0123456';
const ALT = 'localhost/cpub-test/runtime-alt:1';
/** Another image no runtime contract knows: a Node runtime whose language label names nothing the kit has. */
const ODD = 'localhost/cpub-test/runtime-odd:1';
let fx: PodmanFixture;
let server: RunningServer;
let api: Client;
let admin: string;
let handle: string;
const agents: { proc: RunningServer; dir: string; id: string }[] = [];

type NodeView = { id: string; status: string; runtimes: string[] };

/** An image FROM the agent's Node runtime with a marker file and these labels: what an operator's registry would hold. */
async function derivedImage(tag: string, labels: Record<string, string>, marker: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-oprt-ctx-'));
  try {
    writeFileSync(join(dir, 'Containerfile'), `FROM ${fx.runtimeImage}\nCOPY marker /opt/alt/marker\n`);
    writeFileSync(join(dir, 'marker'), marker);
    await fx.runtime.buildImage(tar.c({ cwd: dir, portable: true }, ['Containerfile', 'marker']) as unknown as NodeJS.ReadableStream, tag, { labels, timeoutMs: 120_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function deploy(name: string, runtime: string): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
  const created = await api.post('/api/functions', { name, auth: 'public' }, admin);
  assert.is(created.status, 201, JSON.stringify(created.body));
  const art = await makeArtifact({
    'containerpub.json': JSON.stringify({ name, entry: 'index.mjs', runtime }),
    'index.mjs': "import { readFileSync } from 'node:fs';\nexport default () => new Response(readFileSync('/opt/alt/marker', 'utf8'));\n",
  });
  const t0 = Date.now();
  const res = await fetch(`${server.url}/api/functions/${name}/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, ms: Date.now() - t0 };
}

/** `cpub-agent <args>` to its end: exit code and output. */
function agentCli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [agentBin, ...args], { cwd: repoRoot, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out }));
  });
}

s.before(
  loud(async () => {
    fx = await podmanFixture('cpub-oprt-');
    await derivedImage(ALT, { 'containerpub.role': 'operator-runtime', [LANGUAGE_LABEL]: 'node' }, 'from the alt runtime');
    await derivedImage(ODD, { 'containerpub.role': 'operator-runtime', [LANGUAGE_LABEL]: 'cobol' }, 'odd');
    server = await startServer({ CPUB_JOIN_TOKEN: JOIN });
    api = client(server.url);
    await api.post('/api/auth/register', { email: 'root@example.com', password: 'root-password-1' });
    admin = (await api.post('/api/auth/login', { email: 'root@example.com', password: 'root-password-1' })).body.accessToken;
    handle = (await api.get('/api/users/me', admin)).body.handle;
    const runtimes = [`alt=${ALT}`, 'gone=localhost/cpub-test/no-such-runtime:1'];
    // The node with the runtime is the smaller one: placement by free memory alone would always pick the other.
    for (const extra of [{ CPUB_AGENT_RUNTIMES: runtimes.join(','), CPUB_AGENT_MAX_MEMORY: '4g' }, { CPUB_AGENT_MAX_MEMORY: '16g' }]) {
      const dir = mkdtempSync(join(tmpdir(), 'cpub-oprt-'));
      agents.push({ proc: await startAgentProcess({ CPUB_AGENT_DATA_DIR: dir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN, ...extra }), dir, id: readFileSync(join(dir, 'node-id'), 'utf8').trim() });
    }
    await until('both nodes up', async () => (await api.get<{ nodes: NodeView[] }>('/api/nodes', admin)).body.nodes.filter((n) => n.status === 'up').length === 2, 30_000);
  }),
);

s.after(
  loud(async () => {
    await stopFleet(agents, server);
    if (fx) {
      await fx.runtime.removeImages({ 'containerpub.role': 'operator-runtime' }).catch(() => {});
      await fx.stop();
    }
  }),
);

s('each node lists the runtimes it has; one whose image cannot be had is left out, and the agent says why', async () => {
  const nodes = new Map((await api.get<{ nodes: NodeView[] }>('/api/nodes', admin)).body.nodes.map((n) => [n.id, n.runtimes]));
  const [withAlt, plain] = [nodes.get(agents[0]!.id)!, nodes.get(agents[1]!.id)!];
  assert.ok(withAlt.includes('node') && withAlt.includes('alt'), JSON.stringify(withAlt));
  assert.ok(!withAlt.includes('gone'), 'a runtime whose image is not here is not offered');
  assert.ok(plain.includes('node') && !plain.includes('alt'), JSON.stringify(plain));
  assert.match(agents[0]!.proc.output(), 'a runtime image is not on this node');
  assert.match(agents[0]!.proc.output(), 'no-such-runtime');
});

s('a function naming an operator runtime is built and run only on the node that has it', async () => {
  const r = await deploy('on-alt', 'alt');
  assert.is(r.status, 201, JSON.stringify(r.body));
  assert.is((r.body.deployment as { runtime: string }).runtime, 'alt');
  const ran = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${server.url}/fn/${handle}/on-alt`);
    assert.is(res.status, 200);
    assert.is(await res.text(), 'from the alt runtime', 'it runs on the alt image');
    const id = res.headers.get('cpub-execution-id')!;
    ran.add((await api.get<{ execution: { nodeId: string } }>(`/api/executions/${id}`, admin)).body.execution.nodeId);
  }
  assert.equal([...ran], [agents[0]!.id]);
});

s('a function naming a runtime no node has fails its deploy at once, naming the runtime and what the nodes run', async () => {
  const r = await deploy('on-ruby', 'ruby');
  assert.is(r.status, 422, JSON.stringify(r.body));
  const error = (r.body.deployment as { error: string }).error;
  assert.match(error, 'no node runs the runtime "ruby"');
  assert.match(error, '"alt"');
  assert.ok(r.ms < 15_000, `it did not wait for an agent that will never take it (${r.ms} ms)`);
});

s('cpub-agent doctor runs the conformance kit on each runtime it is given', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-oprt-doc-'));
  try {
    const r = await agentCli(['doctor', '--data-dir', dir, '--runtime', `alt=${ALT}`, '--runtime', `odd=${ODD}`]);
    assert.match(r.out, new RegExp(`OK +runtime alt +${ALT.replace(/[.:/]/g, '\\$&')} passes the 13 rules`), r.out);
    assert.match(r.out, /FAIL +runtime odd +language: the image's containerpub.language label is "cobol"/, r.out);
    assert.is(r.code, 1, 'a runtime that fails the kit fails the doctor');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s.run();
