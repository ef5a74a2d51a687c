// What the benchmarks share: wrk runs with their latency distribution, finding a function's warm container, calls
// as messages on one InvokeStream, calls straight to a container's socket, percentiles.
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { request, type Agent } from 'node:http';
import type { AgentClient } from '../proto/loader.js';
import { cgroupOf } from '../node-agent/src/pool/cgroup.js';

export interface WrkRun {
  rps: number;
  p50: number;
  p99: number;
  /** Non-2xx answers and socket errors. */
  non2xx: number;
  requests: number;
}

const run = promisify(execFile);

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The port wrk is pointed at when its connections go to a unix socket instead (see wrk-unix.c): nothing listens on it. */
const UNIX_PORT = 9;

/**
 * bench/wrk-unix.c compiled (once, and again when the source changes) into dist/bench: an LD_PRELOAD that turns
 * wrk's connect() to 127.0.0.1:UNIX_PORT into a connect() to a unix socket.
 */
function wrkUnixPreload(): string {
  const src = join(root, 'bench', 'wrk-unix.c');
  const out = join(root, 'dist', 'bench', 'wrk-unix.so');
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) execFileSync('gcc', ['-O2', '-shared', '-fPIC', '-o', out, src, '-ldl'], { stdio: 'inherit' });
  return out;
}

/**
 * One wrk run (a C load generator: it needs far less CPU than the server, so the server is what is measured).
 * `post` sends that JSON body with POST; `paths` rotates GET requests over those paths of `url`'s host.
 * `unixSocket`: the connections go to that unix socket (no relay: wrk's connect() is redirected, see
 * wrk-unix.c); `url` then gives only the path. `script`: a Lua script of wrk's own (request, response, delay).
 */
export async function wrk(url: string, o: { connections: number; seconds: number; headers?: Record<string, string>; post?: string; paths?: string[]; unixSocket?: string; script?: string }): Promise<WrkRun> {
  const h = Object.entries(o.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  let dir: string | undefined;
  const script: string[] = [];
  const lua = (text: string) => {
    dir = mkdtempSync(join(tmpdir(), 'cpub-wrk-'));
    const file = join(dir, 'script.lua');
    writeFileSync(file, text);
    script.push('-s', file);
  };
  if (o.script !== undefined) lua(o.script);
  else if (o.post !== undefined) lua(`wrk.method = "POST"\nwrk.body = ${JSON.stringify(o.post)}\nwrk.headers["Content-Type"] = "application/json"\n`);
  else if (o.paths?.length) {
    lua(`local paths = {${o.paths.map((p) => JSON.stringify(p)).join(', ')}}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format("GET", paths[(i % #paths) + 1])\nend\n`);
  }
  try {
    const target = o.unixSocket ? `http://127.0.0.1:${UNIX_PORT}${new URL(url, 'http://x').pathname}` : url;
    const env = o.unixSocket ? { ...process.env, LD_PRELOAD: wrkUnixPreload(), WRK_UNIX_SOCKET: o.unixSocket, WRK_UNIX_PORT: String(UNIX_PORT) } : process.env;
    const { stdout } = await run('wrk', ['-t1', `-c${o.connections}`, `-d${Math.max(1, Math.round(o.seconds))}s`, '--latency', ...script, ...h, target], { env });
    const ms = (label: string) => {
      const m = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(stdout);
      if (!m) return NaN;
      return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
    };
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
    const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0);
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
    const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
    const failed = non2xx + (errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
    // Which kind, and where: a run's failures are printed as wrk reported them.
    if (failed) console.log(`  wrk -c${o.connections} ${o.post !== undefined ? 'POST' : 'GET'} ${o.unixSocket ?? new URL(url).pathname}: ${non2xx} non-2xx; ${errors?.[0] ?? 'no socket errors'}`);
    return { rps, p50: ms('50'), p99: ms('99'), requests, non2xx: failed };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** The id of a warm container of `functionId`, from the resource samples on the agent's Watch stream. */
export function warmContainerOf(client: AgentClient, functionId: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const call = client.Watch({ heartbeatMs: 100 });
    const timer = setTimeout(() => {
      call.cancel();
      reject(new Error('no resource sample for the warm container within 10 s'));
    }, 10_000);
    call.on('data', (e: { sample?: { functionId: string; containerId: string } | null }) => {
      if (e.sample?.functionId !== functionId) return;
      clearTimeout(timer);
      call.cancel();
      resolve(e.sample.containerId);
    });
    call.on('error', () => {});
  });
}

let clockTicks: number | undefined;

/** CPU time (user + system, all its threads) a process has used so far, in ms: /proc/<pid>/stat, in clock ticks of `getconf CLK_TCK`. */
export function processCpuMs(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  // Fields after the command (which may hold spaces, hence the last ')'): utime and stime are the 14th and 15th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

/** A measured run's span of time (CLOCK_MONOTONIC, µs: the clock of a .cpuprofile's timestamps), for bench/cpuprofile.ts. */
export interface RunWindow {
  setting: string;
  run: string;
  t0Us: number;
  t1Us: number;
  calls: number;
  serverMs: number;
  agentMs: number;
}

/** Now on CLOCK_MONOTONIC, µs. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/**
 * The measured runs' windows: with BENCH_PROFILE_WINDOWS=<file>, written to that file after each run, for
 * `npm run bench -- cpuprofile … --windows <file> --run <name>` to take only the samples of those runs.
 */
export function profileWindows(): (w: RunWindow) => void {
  const windows: RunWindow[] = [];
  return (w) => {
    windows.push(w);
    if (process.env.BENCH_PROFILE_WINDOWS) writeFileSync(process.env.BENCH_PROFILE_WINDOWS, JSON.stringify(windows, null, 1));
  };
}

export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

/** Each of `n` sequential runs of `fn`, in milliseconds. */
export async function timed(fn: () => Promise<unknown>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** One long-lived InvokeStream; calls are messages on it, matched by invocation id. A failed call rejects. */
export function streamInvoker(client: AgentClient, message: (invocationId: string) => object) {
  const call = client.InvokeStream();
  const waiting = new Map<string, (r: { outcome: string; status: number }) => void>();
  call.on('data', (r: { invocationId: string; outcome: string; status: number }) => waiting.get(r.invocationId)?.(r));
  call.on('error', () => {});
  const invokeOne = () =>
    new Promise<void>((resolve, reject) => {
      const invocationId = randomUUID();
      waiting.set(invocationId, (r) => {
        waiting.delete(invocationId);
        if (r.outcome === 'OUTCOME_OK' && r.status === 200) resolve();
        else reject(new Error(`Invoke over gRPC: ${r.outcome} ${r.status}`));
      });
      call.write(message(invocationId));
    });
  return { invokeOne, close: () => call.end() };
}

/** A request straight to a container's socket (the baseline: no gRPC, no agent). A non-200 rejects. */
export function directCall(socketPath: string, agent: Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const r = request({ socketPath, path: '/', method: 'GET', agent, headers: { 'cpub-invocation-id': randomUUID(), 'cpub-deadline': String(Date.now() + 10_000) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`container socket: ${res.statusCode}`))));
    });
    r.on('error', reject);
    r.end();
  });
}

/** A benchmark's account on a fresh server (the first: an admin), once its agent is up: the token and handle. */
export async function benchAccount(api: { post(path: string, body?: unknown, token?: string): Promise<{ body: any }>; get(path: string, token?: string): Promise<{ body: any }> }): Promise<{ token: string; handle: string }> {
  await api.post('/api/auth/register', { email: 'bench@example.com', password: 'bench-password-1' });
  const token = (await api.post('/api/auth/login', { email: 'bench@example.com', password: 'bench-password-1' })).body.accessToken as string;
  const handle = (await api.get('/api/users/me', token)).body.handle as string;
  for (const end = Date.now() + 30_000; (await api.get('/api/nodes', token)).body.nodes?.[0]?.status !== 'up'; ) {
    if (Date.now() > end) throw new Error('the agent did not come up');
    await new Promise((r) => setTimeout(r, 200));
  }
  return { token, handle };
}

/**
 * The warm containers of a function now: the socket of one (the baseline's target) and a reader of the CPU all
 * of them have used (their cgroups).
 */
export function containersOf(functionId: string): { socket: string; containers: () => number; ids: string[] } {
  // By name: a container claimed from a stem keeps the stem's labels, but is renamed cpub-<function id, 12>-v<version>-….
  const ids = spawnSync('podman', ['ps', '-q', '--filter', `name=^cpub-${functionId.slice(0, 12)}-v`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  if (!ids.length) throw new Error(`no warm container of ${functionId}`);
  const inspected = ids.map((id) => spawnSync('podman', ['inspect', '-f', '{{.State.Pid}} {{range .Mounts}}{{if eq .Destination "/run/cpub"}}{{.Source}}{{end}}{{end}}', id], { encoding: 'utf8' }).stdout.trim().split(' '));
  // A container stopped meanwhile (its cgroup gone, read as 0) counts with the CPU it had last been seen to use.
  const readers = inspected.map(([pid]) => cgroupOf(Number(pid))).filter((r) => r !== undefined).map((r) => ({ r, last: 0 }));
  const cpuMs = (c: (typeof readers)[number]) => (c.last = Math.max(c.last, c.r.cpuNs() / 1e6));
  return { socket: join(inspected[0]![1]!, 'fn.sock'), containers: () => readers.reduce((n, c) => n + cpuMs(c), 0), ids };
}

/**
 * A plain Node relay (`node -e RELAY <listen> [next]`), for the host's floors: each connection to <listen> gets a
 * connection of its own to <next>, and bytes are passed on both ways as they come (a read and a write per message each
 * way, nothing parsed); with no <next>, an echo. <listen> is a unix socket's path, or `tcp` (127.0.0.1, a free port);
 * <next> a path, `tcp:<port>` on 127.0.0.1, or `file:<path>`: the one that file names when a connection comes (for a
 * target that moves). It prints `listening <port or path>` once it listens.
 */
const RELAY = `const net = require('node:net');
const fs = require('node:fs');
const [listen, next] = process.argv.slice(1);
const server = net.createServer({ noDelay: true }, (up) => {
  if (!next) return up.on('data', (d) => up.write(d));
  const to = next.startsWith('file:') ? fs.readFileSync(next.slice(5), 'utf8').trim() : next;
  const down = to.startsWith('tcp:') ? net.connect({ port: Number(to.slice(4)), host: '127.0.0.1', noDelay: true }) : net.connect(to);
  up.on('data', (d) => down.write(d));
  down.on('data', (d) => up.write(d));
  up.on('close', () => down.destroy());
  down.on('close', () => up.destroy());
  up.on('error', () => {});
  down.on('error', () => {});
});
server.listen(...(listen === 'tcp' ? [0, '127.0.0.1'] : [listen]), () => console.log('listening ' + (listen === 'tcp' ? server.address().port : listen)));`;

/** A relay process (see RELAY) once it listens: its process, and its port when it listens on TCP. Fails after 10 s. */
export async function startRelay(listen: string, next?: string): Promise<{ proc: ChildProcess; port: number | undefined }> {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const proc = spawn(process.execPath, ['-e', RELAY, listen, ...(next ? [next] : [])], { stdio: ['ignore', 'pipe', 'inherit'], env });
  let out = '';
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => (proc.kill(), reject(new Error('a relay did not listen within 10 s'))), 10_000);
    proc.once('exit', (code) => (clearTimeout(timer), reject(new Error(`a relay exited (${code}) before it listened`))));
    proc.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /listening (\S+)\n/.exec(out);
      if (m) (clearTimeout(timer), resolve(m[1]!));
    });
  });
  proc.removeAllListeners('exit');
  proc.stdout!.resume();
  return { proc, port: listen === 'tcp' ? Number(line) : undefined };
}
