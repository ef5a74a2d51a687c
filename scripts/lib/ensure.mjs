// Shared by `npm start`, `npm test` and `npm run bench`: make sure system packages, npm dependencies and the build are in place.
// Plain Node with no dependencies, because it runs before they are installed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, readdirSync, statSync, rmSync, mkdirSync, copyFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

/**
 * Installs Debian packages that are missing. `needs` is a list of { name, present: () => boolean, packages: [...] }.
 */
export function ensureSystemPackages(needs) {
  const missing = needs.filter((n) => !n.present());
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.flatMap((n) => n.packages))];
  if (process.getuid?.() !== 0) {
    throw new Error(`missing ${missing.map((n) => n.name).join(', ')}; install as root: apt-get install -y ${pkgs.join(' ')}`);
  }
  console.log(`» installing ${pkgs.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { env });
  const still = missing.filter((n) => !n.present());
  if (still.length) throw new Error(`still missing after apt-get: ${still.map((n) => n.name).join(', ')}`);
}

/**
 * What an agent on this host runs (`npm start`'s local agent, and the benchmarks' agents): rootful Podman with runc
 * (crun fails on cgroup v1 hosts), newuidmap for user namespaces, and Python 3, from which the Python runtime image is
 * assembled.
 */
export const AGENT_PACKAGES = [
  { name: 'Podman', present: () => existsSync('/usr/bin/podman'), packages: ['podman'] },
  { name: 'runc', present: () => existsSync('/usr/sbin/runc') || existsSync('/usr/bin/runc'), packages: ['runc'] },
  { name: 'newuidmap', present: () => existsSync('/usr/bin/newuidmap'), packages: ['uidmap'] },
  { name: 'Python 3', present: () => existsSync('/usr/bin/python3'), packages: ['python3'] },
];

/** Runs `npm ci` when node_modules is missing or was installed from a different package-lock.json. */
export function ensureNpmDependencies() {
  const lock = readFileSync(join(root, 'package-lock.json'));
  const want = createHash('sha256').update(lock).digest('hex');
  const stamp = join(root, 'node_modules', '.cpub-lock-sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) return;
  console.log('» installing npm dependencies (npm ci)');
  // Install scripts are run below, one by one, so that a compiled addon can come from the local cache.
  run('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts']);
  ensureNativeAddon('better-sqlite3', 'build/Release/better_sqlite3.node', `new (require('better-sqlite3'))(':memory:').close()`);
  // argon2's bundled linux-x64 prebuild crashes on load here, so it is compiled too (a few seconds).
  ensureNativeAddon('argon2', 'build/Release/argon2.node', `require('argon2')`);
  writeFileSync(stamp, want + '\n');
}

/**
 * Native addons are compiled here (better-sqlite3 has no prebuilt binary reachable from these machines, and
 * compiling SQLite takes over a minute). The compiled addon is kept in ~/.cache/containerpub, keyed by package version, Node ABI and
 * platform, so a second clone on the same machine starts in seconds. A cached file that fails to load is
 * discarded and rebuilt.
 */
function ensureNativeAddon(pkg, file, smokeTest) {
  const version = JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  const cacheDir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'containerpub', 'native');
  const cached = join(cacheDir, `${pkg}-${version}-abi${process.versions.modules}-${process.platform}-${process.arch}.node`);
  const target = join(root, 'node_modules', pkg, file);
  const loads = () => spawnSync(process.execPath, ['-e', smokeTest], { cwd: root, stdio: 'ignore' }).status === 0;
  if (existsSync(cached)) {
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(cached, target);
    if (loads()) return;
    rmSync(cached, { force: true });
  }
  console.log(`» compiling ${pkg} ${version} (once per machine)`);
  run('npm', ['rebuild', pkg], { env: { ...process.env, npm_config_build_from_source: 'true' } });
  if (!loads()) throw new Error(`${pkg} does not load after building`);
  mkdirSync(cacheDir, { recursive: true });
  copyFileSync(target, cached);
}

const SOURCES = ['cli', 'common', 'control-plane', 'node-agent', 'proto', 'tests', 'bench', 'tsconfig.json', 'package.json'];

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of readdirSync(path)) {
    if (e === 'node_modules' || e === 'artifacts') continue;
    newest = Math.max(newest, newestMtime(join(path, e)));
  }
  return newest;
}

/** Compiles TypeScript into dist/ when a source is newer than the last build, or always with `clean`. */
export function ensureBuild({ clean = false, force = false } = {}) {
  const stamp = join(root, 'dist', '.build-stamp');
  if (clean) rmSync(join(root, 'dist'), { recursive: true, force: true });
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  if (!clean && !force && built >= Math.max(...SOURCES.map((s) => newestMtime(join(root, s))))) return;
  console.log('» building (tsc)');
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, new Date().toISOString() + '\n');
}
