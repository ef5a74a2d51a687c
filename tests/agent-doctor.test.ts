// `cpub-agent doctor` on this machine, against real Podman: a true report, and a clear failure without Podman.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, cleanEnv } from './helpers/server.js';

const s = suite('cpub-agent doctor');
const agentBin = join(repoRoot, 'bin', 'cpub-agent.js');
const dirs: string[] = [];
const doctor = (args: string[]) => {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-agent-'));
  dirs.push(dir);
  const r = spawnSync(process.execPath, [agentBin, 'doctor', '--data-dir', dir, ...args], { cwd: repoRoot, env: cleanEnv(), encoding: 'utf8', timeout: 180_000 });
  return { ...r, dir };
};

s.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

s('reports what this host really does: runc on cgroup v1, limits enforced rootful, isolation in place', () => {
  const r = doctor([]);
  assert.is(r.status, 0, r.stdout + r.stderr);
  const line = (name: string) => r.stdout.split('\n').find((l) => l.slice(6).startsWith(name)) ?? '';
  for (const name of ['podman', 'cgroups', 'mode', 'runtime image', 'container start', 'limits', 'isolation', 'conformance', 'python runtime']) {
    assert.match(line(name), /^OK /, `${name}: ${line(name)}`);
  }
  const cgroupV1 = spawnSync('test', ['-e', '/sys/fs/cgroup/cgroup.controllers']).status !== 0;
  if (cgroupV1) assert.match(line('podman'), 'OCI runtime runc');
  assert.match(line('mode'), process.getuid?.() === 0 ? 'rootful' : 'rootless');
  assert.match(line('limits'), 'memory, cpu and pids limits enforced');
  assert.match(line('isolation'), 'uid 10001');
  assert.match(line('runtime image'), /localhost\/containerpub\/runtime-node:[0-9a-f]{12}/);
  // The agent's private podman service is gone afterwards.
  assert.is(spawnSync('pgrep', ['-f', join(r.dir, 'podman')]).status, 1, 'podman system service left running');
});

s('without a reachable Podman it fails, says so, and exits non-zero', () => {
  const r = doctor(['--podman-socket', '/nonexistent/podman.sock']);
  assert.is(r.status, 1);
  assert.match(r.stdout, /^FAIL  podman .*does not answer on \/nonexistent\/podman.sock/m);
  assert.match(r.stdout, 'functions cannot run on this host');
});

s.run();
