// Shared by `npm start`, `npm test` and `npm run bench`: make sure system packages, npm dependencies and the build are in place.
// Plain Node with no dependencies, because it runs before they are installed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, readdirSync, statSync, rmSync } from 'node:fs';
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

/** Runs `npm ci` when node_modules is missing or was installed from a different package-lock.json. */
export function ensureNpmDependencies() {
  const lock = readFileSync(join(root, 'package-lock.json'));
  const want = createHash('sha256').update(lock).digest('hex');
  const stamp = join(root, 'node_modules', '.cpub-lock-sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) return;
  console.log('» installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(stamp, want + '\n');
}

const SOURCES = ['control-plane', 'tests', 'bench', 'tsconfig.json', 'package.json'];

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
export function ensureBuild({ clean = false } = {}) {
  const stamp = join(root, 'dist', '.build-stamp');
  if (clean) rmSync(join(root, 'dist'), { recursive: true, force: true });
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  if (!clean && built >= Math.max(...SOURCES.map((s) => newestMtime(join(root, s))))) return;
  console.log('» building (tsc)');
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
  writeFileSync(stamp, new Date().toISOString() + '\n');
}
