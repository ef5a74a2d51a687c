// What fences tenants apart on one host, on real Podman: our seccomp profile refuses namespace creation and
// the calls escapes rely on (native code run by a function through the container's loader), every container
// runs as host uids of its own, and no other host user can reach a container's sockets.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS } from '../node-agent/src/images/function-image.js';
import { Pools } from '../node-agent/src/pool/pools.js';
import type { CallRequest, FunctionSpec } from '../node-agent/src/pool/types.js';
import { loud } from './helpers/hooks.js';
import { podmanFixture, stopPoolsAndFixture, type PodmanFixture } from './helpers/podman-fixture.js';
import { repoRoot } from './helpers/server.js';

const s = suite('tenant isolation on Podman');
let fx: PodmanFixture;
let pools: Pools;
let dataDir: string;
const nodeId = randomUUID();

const call = (spec: FunctionSpec, over: Partial<CallRequest> = {}) =>
  pools.invoke(spec, { invocationId: randomUUID(), deadlineMs: Date.now() + 20_000, method: 'GET', path: '/', query: '', headers: [], body: Buffer.alloc(0), ...over });

s.before(
  loud(async () => {
    fx = await podmanFixture('cpub-iso-');
    // A data folder any host user could enter (an operator's /var/lib/cpub-agent at 0755): the agent's own
    // modes must keep them out, not a private temporary folder.
    dataDir = mkdtempSync(join(tmpdir(), 'cpub-iso-data-'));
    chmodSync(dataDir, 0o755);
    pools = new Pools(fx.runtime, { isolation: fx.isolation, dataDir, nodeId, epoch: randomUUID(), logCapBytes: 64 * 1024, idleTimeoutMs: 60_000, maxContainers: 10 });
    await pools.start();
  }),
);

s.after(
  loud(async () => {
    await stopPoolsAndFixture(pools, fx);
    // Best effort: what the containers' own users made there is the agent's to clean, not this suite's to fail on.
    try {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    } catch {}
  }),
);

s('native code in a function: namespaces, keyrings, bpf, perf, kexec and open_by_handle_at are refused', async () => {
  const out = join(fx.dir, 'syscall-probe');
  const cc = spawnSync('gcc', ['-O2', '-pthread', '-o', out, join(repoRoot, 'tests', 'fixtures', 'syscall-probe.c')], { encoding: 'utf8' });
  assert.is(cc.status, 0, cc.stderr);
  // Files in a bundle are not executable (0644): the program runs through the dynamic loader, as an attacker would.
  const spec = await fx.deploy(
    `async () => {
      const { execFileSync } = await import('node:child_process');
      const { fileURLToPath } = await import('node:url');
      const probe = fileURLToPath(new URL('./syscall-probe', import.meta.url));
      return JSON.parse(execFileSync('/lib64/ld-linux-x86-64.so.2', [probe], { encoding: 'utf8' }));
    }`,
    {},
    { 'syscall-probe': readFileSync(out) },
  );
  const r = await call(spec);
  assert.is(r.outcome, 'ok', `${r.error} ${r.logs.map((l) => l.message).join('\n')}`);
  const errno = JSON.parse(r.body.toString()) as Record<string, number>;
  const EPERM = 1;
  for (const name of ['unshare_user', 'unshare_user_ns_net', 'clone_newuser', 'setns', 'keyctl', 'add_key', 'request_key', 'userfaultfd', 'bpf', 'perf_event_open', 'kexec_load', 'open_by_handle_at']) {
    assert.is(errno[name], EPERM, `${name}: errno ${errno[name]} (${JSON.stringify(errno)})`);
  }
  assert.is(errno.clone3_newuser, 38, 'clone3 answers ENOSYS (glibc falls back to clone)');
  assert.equal([errno.fork, errno.thread], [0, 0], 'processes and threads still work');
});

/** The host uid of a container's main process (from /proc: `ps` prints such large uids as negative). */
function hostUid(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

s('every container runs as host uids of its own, none of them 10001', async () => {
  const spec = await fx.deploy(`async () => { await new Promise((r) => setTimeout(r, 1500)); return { uid: process.getuid() }; }`, { concurrency: 1, maxInstances: 3 });
  const calls = [call(spec), call(spec), call(spec)];
  // While the three calls run, three containers are up.
  let ids: string[] = [];
  for (let i = 0; i < 100 && ids.length < 3; i++) {
    ids = (await fx.runtime.list({ [LABELS.function]: spec.functionId })).filter((c) => c.state === 'running').map((c) => c.id);
    await new Promise((r) => setTimeout(r, 50));
  }
  const uids = await Promise.all(ids.map(async (id) => hostUid((await fx.runtime.inspect(id)).pid)));
  const answers = await Promise.all(calls);
  for (const a of answers) assert.equal(JSON.parse(a.body.toString()), { uid: 10001 }, 'inside, the function is uid 10001');
  assert.is(uids.length, 3, `containers seen: ${ids.length}`);
  assert.is(new Set(uids).size, 3, `host uids ${uids.join(', ')}`);
  for (const u of uids) assert.ok(u !== 10001 && u >= 65536, `host uid ${u} is from the containers' subordinate range`);
});

s('no other host user can reach a container’s sockets; nothing in the run folder is world-accessible', async () => {
  const spec = await fx.deploy(`() => 'hi'`);
  assert.is((await call(spec)).outcome, 'ok');
  const run = join(dataDir, 'run');
  const [name] = readdirSync(run);
  assert.ok(name, 'a container folder');
  const dir = join(run, name!);
  for (const p of [run, dir, ...readdirSync(dir).map((f) => join(dir, f))]) {
    assert.is(statSync(p).mode & 0o007, 0, `${p} is mode ${(statSync(p).mode & 0o777).toString(8)}`);
  }
  // As `nobody`: connecting to each socket fails for want of permission.
  const script = `
    const net = require('net');
    const paths = ${JSON.stringify(['fn.sock', 'mux.sock', 'log.sock'].map((f) => join(dir, f)))};
    Promise.all(paths.map((p) => new Promise((resolve) => {
      const s = net.connect(p, () => { s.destroy(); resolve('connected'); });
      s.on('error', (e) => resolve(e.code));
    }))).then((r) => process.stdout.write(JSON.stringify(r)));`;
  const r = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), ['EACCES', 'EACCES', 'EACCES']);
});

s.run();
