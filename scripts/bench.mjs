// `npm run bench -- <name>`: builds if needed and runs bench/<name>.ts (compiled). See bench/README.md.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root, ensureSystemPackages, ensureNpmDependencies, ensureBuild, AGENT_PACKAGES } from './lib/ensure.mjs';

const [name, ...rest] = process.argv.slice(2);
if (!name) {
  console.error('usage: npm run bench -- <name>   (see bench/README.md)');
  process.exit(2);
}
// Most benchmarks start a real agent (Podman); `records` also a throwaway PostgreSQL cluster.
ensureSystemPackages([
  ...AGENT_PACKAGES,
  ...(name === 'records' ? [{ name: 'PostgreSQL 15 server', present: () => existsSync('/usr/lib/postgresql/15/bin/postgres'), packages: ['postgresql-15'] }] : []),
  { name: 'wrk (HTTP load generator)', present: () => existsSync('/usr/bin/wrk'), packages: ['wrk'] },
  // bench/wrk-unix.c: lets wrk drive a container's unix socket (bench invoke's baseline).
  { name: 'gcc and the C library headers', present: () => existsSync('/usr/bin/gcc') && existsSync('/usr/include/dlfcn.h'), packages: ['gcc', 'libc6-dev'] },
]);
ensureNpmDependencies();
ensureBuild();
const file = join(root, 'dist', 'bench', `${name}.js`);
if (!existsSync(file)) {
  console.error(`error: no benchmark named ${name} (see bench/README.md)`);
  process.exit(2);
}
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const child = spawn(process.execPath, [file, ...rest], { stdio: 'inherit', cwd: root, env });
child.on('exit', (code) => process.exit(code ?? 1));
