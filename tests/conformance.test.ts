// The conformance kit, `cpub-agent conformance [image]`, against real Podman: the agent's own Node runtime passes
// every rule of the runtime contract; a deliberately broken runtime image (a shim that sends a streamed body whole,
// once the function has finished) fails, naming the rule it breaks — and only that one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, cleanEnv } from './helpers/server.js';
import { loud } from './helpers/hooks.js';
import { PodmanService } from '../node-agent/src/runtime/podman-service.js';
import { detectHost } from '../node-agent/src/runtime/host.js';
import { ensureRuntimeImage, shimSource } from '../node-agent/src/images/runtime-image.js';
import { RULES } from '../node-agent/src/conformance/kit.js';

const s = suite('cpub-agent conformance');
const agentBin = join(repoRoot, 'bin', 'cpub-agent.js');
// A tag of this run's own: an image left by a run that was killed is never taken for this one.
const BROKEN = `localhost/containerpub/runtime-node-broken:test-${randomBytes(4).toString('hex')}`;
const dirs: string[] = [];

/** `cpub-agent conformance [image]` in a data folder of its own: exit code and output. */
function conformance(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-conformance-'));
  dirs.push(dir);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [agentBin, 'conformance', ...args, '--data-dir', dir], { cwd: repoRoot, env: cleanEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

s.after(
  loud(() => {
    spawnSync('podman', ['rmi', '--force', BROKEN], { stdio: 'ignore' });
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }),
);

s('the agent’s own Node runtime passes every rule', async () => {
  const r = await conformance([]);
  assert.is(r.status, 0, r.stdout + r.stderr);
  for (const rule of RULES) assert.match(r.stdout, new RegExp(`^PASS  ${rule} `, 'm'), `${rule}: ${r.stdout}`);
  assert.match(r.stdout, /conforms: 13 rules passed/);
});

s('the Python runtime (assembled from this host’s Python 3) passes every rule', async () => {
  const r = await conformance(['python']);
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^conformance of localhost\/containerpub\/runtime-python:[0-9a-f]{12}$/m);
  for (const rule of RULES) assert.match(r.stdout, new RegExp(`^PASS  ${rule} `, 'm'), `${rule}: ${r.stdout}`);
  assert.match(r.stdout, /^PASS  language +python/m);
});

s('a broken runtime image (its shim does not stream, and cannot start as a stem) fails those two rules, and only those', async () => {
  const source = shimSource().toString('utf8');
  const noStream = source.replace('function streamOf(response) {', 'function streamOf(response) {\n  return void 0;');
  assert.is.not(noStream, source, 'the shim bundle has the line the test breaks');
  const broken = noStream.replace('var STEM = process.env.CPUB_STEM === "1";', 'var STEM = false;');
  assert.is.not(broken, noStream, 'the shim bundle has the stem line the test breaks');
  const dir = mkdtempSync(join(tmpdir(), 'cpub-conformance-build-'));
  dirs.push(dir);
  const service = new PodmanService(dir, detectHost().ociRuntime);
  try {
    await ensureRuntimeImage(await service.start(), { dataDir: dir, shim: { source: Buffer.from(broken), tag: BROKEN } });
  } finally {
    await service.stop();
  }
  const r = await conformance([BROKEN]);
  assert.is(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^FAIL  streaming +the answer was not streamed/m);
  assert.match(r.stdout, /^FAIL  stem +/m);
  for (const rule of RULES.filter((x) => x !== 'streaming' && x !== 'stem')) assert.match(r.stdout, new RegExp(`^PASS  ${rule} `, 'm'), `${rule}: ${r.stdout}`);
  assert.match(r.stdout, /does not conform: 2 of 13 rules failed/);
});

s('an image that is not there, or has no language the kit knows, fails at once and says why', async () => {
  const missing = await conformance(['localhost/containerpub/no-such-runtime:1']);
  assert.is(missing.status, 1);
  assert.match(missing.stdout, /^FAIL  language +no image localhost\/containerpub\/no-such-runtime:1 on this host/m);
});

s.run();
