// `npm start`: install dependencies if missing or stale, build, and run the control plane on SQLite in ./data.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { root, ensureNpmDependencies, ensureBuild } from './lib/ensure.mjs';

try {
  ensureNpmDependencies();
  ensureBuild();
} catch (err) {
  console.error(`error: ${err.message}`);
  process.exit(1);
}

const args = [join(root, 'bin', 'cpub-server.js'), 'start', ...process.argv.slice(2)];
const child = spawn(process.execPath, args, { stdio: 'inherit', cwd: root });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
