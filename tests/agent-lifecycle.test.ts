// The commands a new user types, as written: `cpub-agent doctor` and the worker-host `cpub-agent start
// --server … --join-token … --listen … --advertise …` with no --data-dir (a relative default, from whatever
// folder they are in); and every stop is clean: a signal to the agent's whole process group (Ctrl-C in a
// terminal) removes its containers and its Podman service, and `npm start` stopped by SIGTERM or SIGHUP leaves
// no process and no container behind.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { createAgentClient } from '../proto/loader.js';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentBin, cleanEnv, repoRoot, startAgentProcess, startServer, type RunningServer } from './helpers/server.js';
import { client } from './helpers/http.js';
import { loud, until } from './helpers/hooks.js';
import { fnArtifact } from './helpers/agent.js';

const s = suite('agent and npm start lifecycles');
let server: RunningServer;
const folders: string[] = [];
const folder = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  folders.push(d);
  return d;
};

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Pids of processes whose environment or command line mentions `text` (this test's data folders). */
function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'latin1');
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      if (env.includes(text) || cmd.includes(text)) found.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

const containersOfNode = (nodeId: string) =>
  spawnSync('podman', ['ps', '-aq', '--filter', `label=containerpub.node=${nodeId}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);

s.before(
  loud(async () => {
    server = await startServer({ CPUB_BUILD_AGENT_WAIT: '120s' });
  }),
);

s.after(
  loud(async () => {
    await server?.stop();
    for (const d of folders) {
      spawnSync('pkill', ['-KILL', '-f', d]);
      rmSync(d, { recursive: true, force: true });
    }
  }),
);

s('`cpub-agent doctor` with no --data-dir, from the repository root (as the README says), passes', () => {
  const dataDir = join(repoRoot, 'data', 'agent');
  const existed = existsSync(dataDir);
  try {
    const r = spawnSync(process.execPath, [agentBin, 'doctor'], { cwd: repoRoot, env: cleanEnv(), encoding: 'utf8', timeout: 180_000 });
    assert.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, 'this host can run functions');
    assert.ok(existsSync(join(dataDir, 'seccomp.json')), 'the default data folder is ./data/agent');
  } finally {
    // Its own Podman folder only: a running agent's data (npm start's) is never touched.
    rmSync(join(dataDir, 'podman-doctor'), { recursive: true, force: true });
    if (!existed) rmSync(dataDir, { recursive: true, force: true });
  }
});

s('`cpub-agent doctor` with no --data-dir, from another folder, passes', () => {
  const cwd = folder('cpub-doctor-cwd-');
  const r = spawnSync(process.execPath, [agentBin, 'doctor'], { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 180_000 });
  assert.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, 'this host can run functions');
  assert.ok(existsSync(join(cwd, 'data', 'agent', 'seccomp.json')), 'the default data folder is ./data/agent of that folder');
});

s('the README’s worker-host command with no --data-dir joins and serves; Ctrl-C to its group removes its containers and its Podman service', async () => {
  const cwd = folder('cpub-agent-cwd-');
  const joinToken = readFileSync(join(server.dataDir, 'join-token'), 'utf8').trim();
  const port = await freePort();
  const agent = await startAgentProcess(
    { CPUB_AGENT_NAME: undefined }, // nothing but the README's flags: the default name too
    { defaultDataDirIn: { cwd, relative: 'data/agent' }, detached: true, args: ['--server', server.url, '--join-token', joinToken, '--listen', `127.0.0.1:${port}`, '--advertise', `127.0.0.1:${port}`] },
  );
  const nodeId = readFileSync(join(cwd, 'data', 'agent', 'node-id'), 'utf8').trim();
  try {
    const api = client(server.url);
    await api.post('/api/auth/register', { email: 'life@example.com', password: 'password-for-tests-1' });
    const login = await api.post('/api/auth/login', { email: 'life@example.com', password: 'password-for-tests-1' });
    const token = login.body.accessToken as string;
    const me = await api.get('/api/users/me', token);
    assert.is((await api.post('/api/functions', { name: 'life', auth: 'public' }, token)).status, 201);
    const art = await fnArtifact(`() => 'alive'`);
    const d = await fetch(`${server.url}/api/functions/life/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
    assert.is(d.status, 201, await d.text());
    const call = await fetch(`${server.url}/fn/${me.body.handle}/life`);
    assert.is(await call.json(), 'alive');
    assert.ok(containersOfNode(nodeId).length >= 1, 'a warm container (and a stem) run');
    const service = Number(readFileSync(join(cwd, 'data', 'agent', 'podman', 'podman.pid'), 'utf8'));

    // The agent's local socket: its owner's alone (0600), and even so every call needs the node credential.
    const sock = join(cwd, 'data', 'agent', 'agent.sock');
    assert.ok(statSync(sock).isSocket());
    assert.is(statSync(sock).mode & 0o777, 0o600);
    const bare = createAgentClient(`unix:${sock}`, grpc.credentials.createInsecure());
    const refused = await new Promise<grpc.ServiceError | null>((resolve) => bare.Info({}, { deadline: Date.now() + 5000 }, (err) => resolve(err)));
    bare.close();
    assert.is(refused?.code, grpc.status.UNAUTHENTICATED, 'a call without the credential is refused');
    const status = spawnSync(process.execPath, [agentBin, 'status', '--json'], { cwd, env: cleanEnv(), encoding: 'utf8' });
    assert.is(status.status, 0, status.stderr);
    assert.is(JSON.parse(status.stdout).info.nodeId, nodeId, '`cpub-agent status` (with the credential from its folder) answers');

    // Ctrl-C in a terminal: SIGINT to every process of the foreground group.
    process.kill(-agent.proc.pid!, 'SIGINT');
    await until('the agent exits', () => agent.proc.exitCode !== null || agent.proc.signalCode !== null, 30_000);
    assert.is(agent.proc.exitCode, 0, agent.output());
    assert.match(agent.output(), /removed [1-9]\d* containers?/);
    assert.equal(containersOfNode(nodeId), [], 'no container of the agent is left');
    assert.not.ok(existsSync(`/proc/${service}`), 'its Podman service is gone');
  } finally {
    await agent.stop();
  }
});

/** Once `npm start` (proc) was told to stop: it exits, and no process of it (by its data folder) nor container of its agent is left. */
async function nothingLeftOf(proc: ReturnType<typeof spawn>, dataDir: string, nodeId: string): Promise<void> {
  await until('npm start exits', () => proc.exitCode !== null || proc.signalCode !== null, 60_000, 100);
  await until('nothing of it runs', () => processesMentioning(dataDir).length === 0, 40_000, 100).catch(() => {});
  assert.equal(processesMentioning(dataDir), [], 'no process of this npm start is left');
  assert.equal(containersOfNode(nodeId), [], 'no container of its agent is left');
}

for (const [how, signal, group] of [
  ['SIGTERM to npm alone (timeout, a service manager: npm exits without passing it on)', 'SIGTERM', false],
  ['SIGHUP to its process group (the terminal closed)', 'SIGHUP', true],
] as const) {
  s(`npm start stopped by ${how} leaves no process and no container`, async () => {
    const dataDir = folder('cpub-npm-start-');
    const proc = spawn('npm', ['start'], { cwd: repoRoot, env: cleanEnv({ CPUB_DATA_DIR: dataDir, CPUB_PORT: '0' }), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    try {
      await until('npm start deploys the example', () => /Deployed examples\/hello|did not deploy|error:/.test(out), 240_000, 200);
      assert.match(out, 'Deployed examples/hello', out.slice(-3000));
      const nodeId = readFileSync(join(dataDir, 'agent', 'node-id'), 'utf8').trim();
      assert.ok(processesMentioning(dataDir).length >= 3, 'server, agent and Podman service run');
      if (group) process.kill(-proc.pid!, signal);
      else proc.kill(signal);
      await nothingLeftOf(proc, dataDir, nodeId);
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(-proc.pid!, 'SIGKILL');
    }
  });
}

s('an agent’s start removes the runtime images of earlier versions, Node’s and Python’s, and keeps the current ones', async () => {
  // Two images as an earlier version's would be (labelled runtime images, in the two runtimes' repositories), each its
  // own (a distinct label), so that removing one cannot be refused for the other's tag.
  const old = ['localhost/containerpub/runtime-node:000000000000', 'localhost/containerpub/runtime-python:000000000000'];
  const runtimeTags = () => spawnSync('podman', ['images', '--filter', 'label=containerpub.role=runtime', '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  for (const tag of old) {
    const dir = folder('cpub-old-runtime-');
    writeFileSync(join(dir, 'x'), tag);
    writeFileSync(join(dir, 'Containerfile'), `FROM scratch\nLABEL containerpub.role=runtime containerpub.test-old="${tag}"\nCOPY x /x\n`);
    const built = spawnSync('podman', ['build', '-q', '-t', tag, dir], { encoding: 'utf8' });
    assert.is(built.status, 0, built.stderr);
  }
  assert.ok(old.every((t) => runtimeTags().includes(t)), 'the old images are there');
  const agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: folder('cpub-prune-agent-') });
  try {
    await until('the old runtime images removed', () => !runtimeTags().some((t) => old.includes(t)), 30_000, 250);
    assert.ok(runtimeTags().some((t) => t.startsWith('localhost/containerpub/runtime-node:')), 'the current Node runtime image stays');
  } finally {
    await agent.stop();
    spawnSync('podman', ['rmi', '-f', ...old], { stdio: 'ignore' });
  }
});

s('npm start whose output nobody reads any more (`npm start | head`) goes on serving, and Ctrl-C leaves nothing', async () => {
  const dataDir = folder('cpub-npm-start-');
  // `head -c 1` reads a byte of npm's output and exits: every later write to that pipe fails (EPIPE). What
  // `npm start` says on stderr (the deploy, the URL) still comes here.
  const proc = spawn('/bin/sh', ['-c', 'npm start | head -c 1 > /dev/null'], { cwd: repoRoot, env: cleanEnv({ CPUB_DATA_DIR: dataDir, CPUB_PORT: '0' }), stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  try {
    await until('npm start deploys the example, or ends', () => /Deployed examples\/hello|did not deploy|error:/.test(err) || proc.exitCode !== null, 240_000, 200);
    assert.match(err, 'Deployed examples/hello', err.slice(-3000));
    assert.is(proc.exitCode, null, 'npm start runs on');
    const url = /curl '(http[^']+)'/.exec(err)![1]!;
    const res = await fetch(url);
    assert.is(res.status, 200, await res.text());
    const nodeId = readFileSync(join(dataDir, 'agent', 'node-id'), 'utf8').trim();
    process.kill(-proc.pid!, 'SIGINT');
    await nothingLeftOf(proc, dataDir, nodeId);
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) process.kill(-proc.pid!, 'SIGKILL');
    // A failed case leaves nothing behind for the next ones either.
    for (const pid of processesMentioning(dataDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
});

s.run();
