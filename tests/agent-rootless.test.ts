// The rootless smoke test: the agent run by an unprivileged user with subuid/subgid ranges runs a function,
// and says plainly that it cannot enforce limits where the host does not allow it (cgroup v1).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { createAgentClient, type AgentClient } from '../proto/loader.js';
import { sendCredential } from '../proto/auth.js';
import { startAgentProcess, repoRoot, type RunningServer } from './helpers/server.js';
import { fnArtifact, buildImageOverGrpc, invokeMessage } from './helpers/agent.js';
import { loud } from './helpers/hooks.js';

const s = suite('agent, rootless');
const USER = 'cpubrootless';
const CREDENTIAL = 'rootless-credential-0123456789';
let dir: string;
let agent: RunningServer;
let client: AgentClient;

const id = (flag: string) => Number(spawnSync('id', [flag, USER], { encoding: 'utf8' }).stdout.trim());

s.before(
  loud(async () => {
    if (process.getuid?.() !== 0) throw new Error('the rootless test sets up its user as root: run npm test as root');
    if (spawnSync('id', [USER]).status !== 0) {
      const r = spawnSync('useradd', ['--create-home', '--shell', '/usr/sbin/nologin', USER], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`useradd failed: ${r.stderr}`);
    }
    if (!readFileSync('/etc/subuid', 'utf8').includes(`${USER}:`)) throw new Error(`${USER} has no subuid range in /etc/subuid`);
    const denied = spawnSync('runuser', ['-u', USER, '--', 'test', '-r', join(repoRoot, 'dist', 'node-agent', 'src', 'main.js')]).status !== 0;
    if (denied) throw new Error(`${USER} cannot read the checkout at ${repoRoot}: its folders must be world-readable`);
    const [uid, gid] = [id('-u'), id('-g')];
    dir = mkdtempSync(join(tmpdir(), 'cpub-rootless-'));
    chmodSync(dir, 0o755);
    for (const d of ['run', 'agent']) {
      mkdirSync(join(dir, d));
      chownSync(join(dir, d), uid, gid);
      chmodSync(join(dir, d), 0o700);
    }
    const home = spawnSync('sh', ['-c', `getent passwd ${USER} | cut -d: -f6`], { encoding: 'utf8' }).stdout.trim();
    agent = await startAgentProcess(
      { CPUB_AGENT_DATA_DIR: join(dir, 'agent'), CPUB_AGENT_CREDENTIAL: CREDENTIAL, HOME: home, XDG_RUNTIME_DIR: join(dir, 'run') },
      { user: { uid, gid } },
    );
    client = createAgentClient(agent.url, grpc.credentials.createInsecure(), { interceptors: [sendCredential(CREDENTIAL)] });
  }),
);

s.after(
  loud(async () => {
    client?.close();
    await agent?.stop();
    if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }),
);

s('runs a function rootless, and reports limits as not enforced on cgroup v1 instead of pretending', async () => {
  const info = await new Promise<{ rootless: boolean; limitsEnforced: boolean; limitNotes: string[]; cgroupVersion: string }>((resolve, reject) =>
    client.Info({}, (e, r) => (e ? reject(e) : resolve(r as never))),
  );
  assert.is(info.rootless, true);
  if (info.cgroupVersion === 'v1') {
    assert.is(info.limitsEnforced, false);
    assert.match(info.limitNotes.join(' '), 'rootless Podman cannot set cgroup limits on cgroup v1');
  }
  const functionId = randomUUID();
  const art = await fnArtifact(`async () => ({ uid: process.getuid(), hello: 'rootless' })`);
  const image = await buildImageOverGrpc(client, functionId, art);
  const reply = await new Promise<{ outcome: string; body: Buffer; error: string }>((resolve, reject) =>
    client.Invoke(
      invokeMessage(functionId, image, { limits: { timeoutMs: 20_000 } }),
      { deadline: Date.now() + 40_000 },
      (e, r) => (e ? reject(e) : resolve(r as never)),
    ),
  );
  assert.is(reply.outcome, 'OUTCOME_OK', reply.error);
  assert.equal(JSON.parse(reply.body.toString()), { uid: 10001, hello: 'rootless' });
  await new Promise((r) => client.Remove({ functionId, version: 0 }, () => r(null)));
});

s.run();
