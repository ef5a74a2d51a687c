// `npm start`: install dependencies if missing or stale, build, run the control plane on SQLite in ./data and a
// local agent joined to it (when Podman is installed), print how to log in, and stop both on Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { root, ensureNpmDependencies, ensureBuild } from './lib/ensure.mjs';

try {
  ensureNpmDependencies();
  ensureBuild();
} catch (err) {
  console.error(`error: ${err.message}`);
  process.exit(1);
}

const children = [];
let stopping = false;
function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  const wait = children.filter((c) => c.exitCode === null).map((c) => new Promise((r) => c.once('exit', r)));
  Promise.all(wait).then(() => process.exit(code));
  setTimeout(() => process.exit(code), 15_000).unref();
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => stopAll(0));

/** Starts `bin start`, echoes its output, and resolves with the first `listening` line's url or address. */
function run(bin, args, env = process.env) {
  const child = spawn(process.execPath, [join(root, 'bin', bin), 'start', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  child.on('exit', (code) => {
    if (!stopping) {
      console.error(`${bin} exited (${code}); stopping`);
      stopAll(code || 1);
    }
  });
  return new Promise((resolve) => {
    let pending = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        try {
          const j = JSON.parse(line);
          if (j.msg === 'listening') resolve(j.url ?? j.address);
        } catch {
          // not JSON
        }
      }
    });
  });
}

try {
  const url = await run('cpub-server.js', process.argv.slice(2));
  const dataDir = resolve(root, process.env.CPUB_DATA_DIR || './data');
  if (spawnSync('sh', ['-c', 'command -v podman'], { stdio: 'ignore' }).status !== 0) {
    console.error('\nPodman is not installed, so no local agent was started (apt-get install podman runc); the control plane runs alone.\n');
  } else {
    const joinToken = process.env.CPUB_JOIN_TOKEN || readFileSync(join(dataDir, 'join-token'), 'utf8').trim();
    const agentDir = process.env.CPUB_AGENT_DATA_DIR || join(dataDir, 'agent');
    const address = await run('cpub-agent.js', [], { ...process.env, CPUB_AGENT_SERVER: url, CPUB_AGENT_JOIN_TOKEN: joinToken, CPUB_AGENT_DATA_DIR: agentDir });
    console.error(`\nLocal agent joined from ${address} (${process.getuid?.() === 0 ? 'rootful' : 'rootless'} Podman); see it with GET ${url}/api/nodes as the admin.\n`);
  }
} catch (err) {
  console.error(`error: ${err.message}`);
  stopAll(1);
}
