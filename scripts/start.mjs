// `npm start`: install dependencies if missing or stale, build, run the control plane on SQLite in ./data and a
// local agent joined to it (when Podman is installed), print how to log in, and stop both on Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { root, ensureNpmDependencies, ensureBuild, ensureSystemPackages, AGENT_PACKAGES } from './lib/ensure.mjs';

try {
  // As root, whatever the local agent needs is installed; otherwise the control plane runs alone if it is missing.
  if (process.getuid?.() === 0) ensureSystemPackages(AGENT_PACKAGES);
  ensureNpmDependencies();
  ensureBuild();
} catch (err) {
  console.error(`error: ${err.message}`);
  process.exit(1);
}

const children = [];
let stopping = false;
/**
 * Passes the signal on to the server and the agent (the agent first stops taking calls and removes its
 * containers), waits for both, then exits. A second signal while they stop changes nothing.
 */
function stopAll(code = 0, signal = 'SIGTERM') {
  if (stopping) return;
  stopping = true;
  // The agent before the server: its containers go while the server can still see it leave.
  for (const c of [...children].reverse()) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  const wait = children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => new Promise((r) => c.once('exit', r)));
  Promise.all(wait).then(() => process.exit(code));
  // Past this, whatever is left is killed, so nothing outlives `npm start`.
  setTimeout(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    process.exit(code || 1);
  }, 30_000).unref();
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => stopAll(0, sig));
// Should this script end any other way (an error of its own), the server and the agent are told to stop with it.
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
});
// Output nobody reads any more (`npm start | head`, a log viewer closed: EPIPE) is not shown; the control plane
// and the agent go on serving, and Ctrl-C still stops them. Unheeded, the first write after it ended this script
// and left the server running on its own.
let outputGone = false;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    if (stream === process.stdout) outputGone = true;
  });
}
// npm does not pass SIGTERM on to this script: it exits and leaves it behind (its parent becomes another
// process). A parent gone is taken as the signal to stop.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stopAll(0, 'SIGTERM');
}, 250).unref();

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
      if (!outputGone) process.stdout.write(d);
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
    console.error('\nPodman is not installed, so no local agent was started (as root, `npm start` installs it: apt-get install podman runc uidmap); the control plane runs alone.\n');
  } else {
    const joinToken = process.env.CPUB_JOIN_TOKEN || readFileSync(join(dataDir, 'join-token'), 'utf8').trim();
    const agentDir = process.env.CPUB_AGENT_DATA_DIR || join(dataDir, 'agent');
    const address = await run('cpub-agent.js', [], { ...process.env, CPUB_AGENT_SERVER: url, CPUB_AGENT_JOIN_TOKEN: joinToken, CPUB_AGENT_DATA_DIR: agentDir });
    console.error(`\nLocal agent joined from ${address} (${process.getuid?.() === 0 ? 'rootful' : 'rootless'} Podman); see it with GET ${url}/api/nodes as the admin.\n`);
    await deployHello(url, dataDir);
  }
} catch (err) {
  console.error(`error: ${err.message}`);
  stopAll(1);
}

/**
 * Deploys examples/hello as the first user's public function `hello` and prints how to call it. The first
 * user is made here (an admin; credentials kept in data/first-user.json, 0600) unless someone registered
 * already, in which case the example is left to them.
 */
async function deployHello(url, dataDir) {
  const credsFile = join(dataDir, 'first-user.json');
  const post = async (path, body, token, type = 'application/json') => {
    const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: type === 'application/json' ? JSON.stringify(body) : body });
    return { status: res.status, body: await res.json().catch(() => ({})) };
  };
  let creds;
  if (existsSync(credsFile)) creds = JSON.parse(readFileSync(credsFile, 'utf8'));
  else {
    const candidate = { email: 'admin@localhost.test', password: randomBytes(12).toString('base64url') };
    const r = await post('/api/auth/register', candidate);
    if (r.status !== 201 || r.body.user?.role !== 'admin') {
      console.error('Accounts exist already: deploy the example yourself (cpub deploy examples/hello).\n');
      return;
    }
    creds = candidate;
    writeFileSync(credsFile, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
  }
  const login = await post('/api/auth/login', creds);
  if (login.status !== 200) {
    console.error(`Could not log in as ${creds.email} (${login.body.code ?? login.status}): the example was not deployed.\n`);
    return;
  }
  const token = login.body.accessToken;
  const me = await (await fetch(`${url}/api/users/me`, { headers: { authorization: `Bearer ${token}` } })).json();
  const created = await post('/api/functions', { name: 'hello', auth: 'public' }, token);
  if (created.status !== 201 && created.status !== 409) {
    console.error(`Could not create the function hello: ${created.body.detail ?? created.status}\n`);
    return;
  }
  const { packFunction } = await import(join(root, 'dist', 'common', 'pack.js'));
  console.error('Deploying examples/hello (bundle, upload, build on the local agent)…');
  const packed = await packFunction(join(root, 'examples', 'hello'));
  const d = await post('/api/functions/hello/deployments?wait=true', packed.bytes, token, 'application/gzip');
  if (d.status !== 201) {
    console.error(`The example did not deploy: ${d.body.detail ?? d.status}\n${d.body.buildLogTail ?? ''}`);
    return;
  }
  const fnUrl = `${url}/fn/${me.handle}/hello`;
  console.error(
    [
      `Deployed examples/hello as version ${d.body.deployment.version}. Call it:`,
      `  curl '${fnUrl}?name=you'`,
      `First user (admin): ${creds.email} / ${creds.password}   (kept in ${credsFile})`,
      `The dashboard: ${url}/ui   (log in as the first user)`,
      'With the CLI, in another terminal (README: "Deploying with the CLI"):',
      `  alias cpub='node ${join(root, 'bin', 'cpub.js')}'`,
      `  cpub login --server ${url} --email ${creds.email}`,
      '  cpub init greeter && cd greeter && cpub deploy && cpub invoke greeter -v',
      '',
    ].join('\n'),
  );
}
