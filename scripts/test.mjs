// `npm test`: installs what the suite needs, builds, starts a throwaway PostgreSQL, runs every suite
// (each test file in its own process), and ends with `N passed, N failed`. Exits non-zero on any failure.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { root, ensureSystemPackages, ensureNpmDependencies, ensureBuild } from './lib/ensure.mjs';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const FILE_TIMEOUT_MS = 10 * 60_000;
const CONCURRENCY = Number(process.env.CPUB_TEST_CONCURRENCY ?? 2);

function findTests(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) findTests(p, out);
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

function runFile(file, env) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--enable-source-maps', file], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let lingering;
    child.stdout.on('data', (d) => {
      out += d;
      // uvu printed its summary: a file that then keeps running holds a handle it should have closed.
      if (!lingering && /^\s*Duration:/m.test(out)) {
        lingering = setTimeout(() => {
          out += '\n  (still running 15 s after its summary: killed; some handle was left open)\n';
          child.kill('SIGKILL');
        }, 15_000);
      }
    });
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n  TIMEOUT after ${FILE_TIMEOUT_MS / 1000}s\n`;
      child.kill('SIGKILL');
    }, FILE_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(lingering);
      const num = (label) => Number(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(out)?.[1] ?? NaN);
      const total = num('Total');
      const passed = Number.isFinite(num('Passed')) ? num('Passed') : 0;
      const skipped = Number.isFinite(num('Skipped')) ? num('Skipped') : 0;
      const clean = (code === 0 && !signal && total > 0) || (lingering && total > 0 && passed + skipped === total);
      // A file that crashed, timed out or ran nothing counts as (at least) one failure.
      const failed = clean ? total - passed - skipped : Math.max(1, (total || 0) - passed - skipped);
      resolve({ file, out, passed, failed, skipped, ms: Date.now() - started });
    });
  });
}

async function main() {
  ensureSystemPackages([
    { name: 'PostgreSQL 15 server', present: () => existsSync(join(PG_BIN, 'postgres')), packages: ['postgresql-15'] },
    { name: 'openssl', present: () => existsSync('/usr/bin/openssl'), packages: ['openssl'] },
    { name: 'Podman', present: () => existsSync('/usr/bin/podman'), packages: ['podman'] },
    { name: 'runc', present: () => existsSync('/usr/sbin/runc') || existsSync('/usr/bin/runc'), packages: ['runc'] },
    // newuidmap/newgidmap: rootless Podman (the rootless suite) maps its subordinate ids with them.
    { name: 'newuidmap (rootless Podman)', present: () => existsSync('/usr/bin/newuidmap'), packages: ['uidmap'] },
    // The isolation suite compiles a small C program that a function runs through the container's loader.
    { name: 'gcc and the C library headers', present: () => existsSync('/usr/bin/gcc') && existsSync('/usr/include/stdio.h'), packages: ['gcc', 'libc6-dev'] },
    { name: 'Chromium (the dashboard browser tests)', present: () => existsSync('/usr/bin/chromium'), packages: ['chromium'] },
    // The Python runtime image is assembled from the host's Python 3 and its standard library.
    // cpub deploy vendors a Python function's requirements.txt with pip (the Python functions suite does).
    { name: 'pip (vendoring Python requirements)', present: () => spawnSync('python3', ['-m', 'pip', '--version'], { stdio: 'ignore' }).status === 0, packages: ['python3-pip'] },
    { name: 'Python 3 (the Python runtime)', present: () => existsSync('/usr/bin/python3') && readdirSync('/usr/lib').some((d) => /^python3\.\d+$/.test(d) && existsSync(join('/usr/lib', d, 'asyncio'))), packages: ['python3'] },
  ]);
  ensureNpmDependencies();
  ensureBuild({ clean: true });

  const run = registerRun();
  const only = process.argv.slice(2);
  let files = findTests(join(root, 'dist')).sort();
  // Matched against the path under dist/, not the absolute one: a checkout's own folder name (a worktree called
  // wt-store) would otherwise match every suite.
  if (only.length) files = files.filter((f) => only.some((o) => relative(join(root, 'dist'), f).includes(o)));
  if (files.length === 0) throw new Error('no test files found');

  const { startPostgres } = await import(join(root, 'dist', 'tests', 'helpers', 'postgres.js'));
  const pg = await startPostgres();
  console.log(`» PostgreSQL for tests at ${pg.url}`);
  const env = { ...process.env, CPUB_TEST_PG_URL: pg.url };
  delete env.NODE_EXTRA_CA_CERTS; // ≈40 ms per Node start on these machines, and tests start many

  // Two queues side by side, each running one suite at a time on an image store of its own: most suites start
  // their own Podman API service, and Podman 4.3 services building on one store at once can lose each other's fresh
  // images. Neither is the host's store: what someone runs on this host (`npm start`, an agent) is not touched, and
  // whatever a run that was killed left in them is removed when the next one starts (testStore()). They are kept
  // between runs, so their runtime images are built once; tests/helpers/server.ts checks that every agent it starts
  // uses its queue's store. Which suites go first balances the two (≈ 900 s each on these 2-core machines): the
  // run takes as long as the longer. (CPUB_TEST_CONCURRENCY above 2 adds workers to the second queue, which then
  // share its store.)
  const FIRST = /tests\/(agent-(pool|stems|grpc|isolation|lifecycle)|backup|functions-[a-z0-9-]+|dashboard|scaling)\.test\.js$/;
  // Suites that time the server under load (hostile uploads against /health's p99) run alone, after the others:
  // beside two other suites on a 2-core machine they would measure those suites, not the server.
  const ALONE = /tests\/upload-hostile\.test\.js$/;
  const alone = files.filter((f) => ALONE.test(f));
  files = files.filter((f) => !ALONE.test(f));
  const queues = [files.filter((f) => FIRST.test(f)), files.filter((f) => !FIRST.test(f))];
  const envs = ['first', 'second'].map((name) => {
    const store = testStore(name, run.alone);
    return { ...env, CONTAINERS_STORAGE_CONF: store.conf, CPUB_TEST_IMAGE_STORE: store.graphroot };
  });
  const results = [];
  async function worker(queue, env) {
    while (queue.length) {
      const file = queue.shift();
      const r = await runFile(file, env);
      results.push(r);
      const name = relative(join(root, 'dist'), file);
      const mark = r.failed ? 'FAIL' : 'ok  ';
      console.log(`${mark} ${name}  (${r.passed} passed, ${r.failed} failed, ${(r.ms / 1000).toFixed(1)}s)`);
      if (r.failed || r.skipped) console.log(r.out.replace(/^/gm, '    '));
    }
  }
  try {
    // One worker for the first queue; the rest share the second.
    await Promise.all([worker(queues[0], envs[0]), ...Array.from({ length: Math.max(1, CONCURRENCY - 1) }, () => worker(queues[1], envs[1]))]);
    await worker(alone, envs[0]);
  } finally {
    await pg.stop();
    // Another run on this host (a CI clone, a second checkout) may still be using the stores: the last to end empties them.
    if (run.end()) for (const e of envs) emptyStore(e);
  }

  const passed = results.reduce((a, r) => a + r.passed, 0);
  const failed = results.reduce((a, r) => a + r.failed, 0);
  const skipped = results.reduce((a, r) => a + r.skipped, 0);
  if (skipped) console.log(`${skipped} test(s) were skipped, which this project does not allow`);
  console.log(`${passed} passed, ${failed + skipped} failed`);
  process.exitCode = failed + skipped > 0 ? 1 : 0;
}

/**
 * This run in the host's list of test runs (a file per run under the temp folder, named by pid). `alone`: no other
 * run was going when this one began; `end()` removes it and answers whether it was the last one going.
 */
function registerRun() {
  const dir = join(tmpdir(), 'cpub-test-runs');
  mkdirSync(dir, { recursive: true });
  const mine = join(dir, String(process.pid));
  const alive = (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return err.code === 'EPERM';
    }
  };
  const others = () =>
    readdirSync(dir).filter((f) => {
      if (f === String(process.pid)) return false;
      if (/^\d+$/.test(f) && alive(Number(f))) return true;
      rmSync(join(dir, f), { force: true }); // a run that died without ending
      return false;
    });
  const alone = others().length === 0;
  writeFileSync(mine, '');
  return {
    alone,
    end() {
      rmSync(mine, { force: true });
      return others().length === 0;
    },
  };
}

/**
 * A queue's image store: a containers-storage configuration of its own (its graph root under /var/lib/containers,
 * its run root under /run/containers), written under the temp folder. Emptied first when `empty` (no other run is
 * using it): a run that was killed left its containers and function images there, and an image store that grows
 * run after run slows every build and listing on it down (Podman 4.3 took 38 s to list 1,369 images).
 */
function testStore(name, empty) {
  const graphroot = `/var/lib/containers/storage-cpub-tests-${name}`;
  const dir = join(tmpdir(), `cpub-test-store-${name}`);
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'storage.conf');
  writeFileSync(conf, `[storage]\ndriver = "overlay"\ngraphroot = "${graphroot}"\nrunroot = "/run/containers/storage-cpub-tests-${name}"\n`);
  if (empty) emptyStore({ ...process.env, CONTAINERS_STORAGE_CONF: conf });
  return { conf, graphroot };
}

/**
 * Removes what the suites made in a test store — every ContainerPub container, every function image, and images
 * nothing refers to any more — and keeps the runtime images, so they are not built again by the next run.
 */
function emptyStore(env) {
  const list = (...args) => {
    const r = spawnSync('podman', args, { encoding: 'utf8', env });
    return r.status === 0 ? r.stdout.split('\n').filter(Boolean) : [];
  };
  const containers = list('ps', '-a', '-q', '--filter', 'label=containerpub.managed=true');
  if (containers.length) spawnSync('podman', ['rm', '-f', '-t', '0', ...containers], { stdio: 'ignore', env });
  const images = list('images', '-q', '--filter', 'label=containerpub.role=function');
  if (images.length) spawnSync('podman', ['rmi', '-f', ...new Set(images)], { stdio: 'ignore', env });
  spawnSync('podman', ['image', 'prune', '-f'], { stdio: 'ignore', env });
}

main().catch((err) => {
  console.error(`error: ${err.stack ?? err}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
