// Runs `cpub-server start` and `cpub-agent start` as real child processes on port 0 and collects what they print.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const serverBin = join(repoRoot, 'bin', 'cpub-server.js');
export const agentBin = join(repoRoot, 'bin', 'cpub-agent.js');

export interface RunningServer {
  /** The server's URL, or the agent's host:port. */
  url: string;
  dataDir: string;
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Stops each agent (resumed first, should a test have stopped it) and removes its data folder, then the server. */
export async function stopFleet(agents: { proc: RunningServer; dir: string }[], server: RunningServer | undefined): Promise<void> {
  for (const a of agents) {
    a.proc.proc.kill('SIGCONT');
    await a.proc.stop();
    rmSync(a.dir, { recursive: true, force: true });
  }
  await server?.stop();
}

/** The environment a test server gets: PATH and what the test passes, never the host's secrets. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  // The image store of this test run's queue (scripts/test.mjs): the Podman services the processes start use it.
  if (process.env.CONTAINERS_STORAGE_CONF) env.CONTAINERS_STORAGE_CONF = process.env.CONTAINERS_STORAGE_CONF;
  for (const [k, v] of Object.entries(extra)) {
    if (v !== undefined) env[k] = v;
    else if (k === 'CONTAINERS_STORAGE_CONF') delete env[k];
  }
  return env;
}

/**
 * The image store an agent started here must use, when the test run gave this suite's queue one of its own
 * (scripts/test.mjs: `CPUB_TEST_IMAGE_STORE`, with `CONTAINERS_STORAGE_CONF`); undefined for the host's default.
 */
const requiredStore = (opts: StartOptions) => (opts.user ? undefined : process.env.CPUB_TEST_IMAGE_STORE || undefined);

export interface StartOptions {
  args?: string[];
  /** Send the server's output to this file instead of a pipe (benchmarks: keeps log handling out of the load generator). */
  logFile?: string;
  /** Run as this user (the rootless test). */
  user?: { uid: number; gid: number };
  /** Extra `node` options for the process (benchmarks: `--cpu-prof`). */
  nodeArgs?: string[];
  /** Run in this folder and give no data folder at all: the process uses its default, relative to `cwd` (`dataDir` is then that default). */
  defaultDataDirIn?: { cwd: string; relative: string };
  /** A process group of its own (a test signals the whole group, as a terminal's Ctrl-C does). */
  detached?: boolean;
}

export function startServer(env: Record<string, string | undefined> = {}, opts: StartOptions = {}): Promise<RunningServer> {
  return startProcess(serverBin, 'CPUB_DATA_DIR', { CPUB_PORT: '0', CPUB_LOG_LEVEL: 'info', ...env }, opts);
}

/**
 * Starts `cpub-agent start`. Agents of one test share a host, so each gets a name of its own unless the test
 * sets CPUB_AGENT_NAME (to undefined: the agent's own default, the host name).
 */
export function startAgentProcess(env: Record<string, string | undefined> = {}, opts: StartOptions = {}): Promise<RunningServer> {
  const name = 'CPUB_AGENT_NAME' in env || opts.args?.includes('--name') ? {} : { CPUB_AGENT_NAME: `test-agent-${randomBytes(4).toString('hex')}` };
  return startProcess(agentBin, 'CPUB_AGENT_DATA_DIR', { CPUB_AGENT_LISTEN: '127.0.0.1:0', CPUB_AGENT_LOG_LEVEL: 'info', ...name, ...env }, opts);
}

/**
 * The processes started here and still running: stopped (SIGTERM: an agent then removes its containers and its Podman
 * service) when this process exits without having stopped them — a test or benchmark that failed half-way, say,
 * would otherwise leave them running and loading the machine.
 */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGTERM');
});

/** Starts `bin start`, resolving once it logs `listening` with its url or address. */
async function startProcess(bin: string, dataDirVar: string, env: Record<string, string | undefined>, opts: StartOptions): Promise<RunningServer> {
  const byDefault = opts.defaultDataDirIn;
  const dataDir = byDefault ? join(byDefault.cwd, byDefault.relative) : (env[dataDirVar] ?? mkdtempSync(join(tmpdir(), 'cpub-data-')));
  const ownsDir = env[dataDirVar] === undefined && !byDefault;
  const fd = opts.logFile ? openSync(opts.logFile, 'w') : undefined;
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), bin, 'start', ...(opts.args ?? [])], {
    cwd: byDefault?.cwd ?? repoRoot,
    // Another user (the rootless test) has an image store of their own: not the run's.
    env: cleanEnv({ ...(byDefault ? env : { ...env, [dataDirVar]: dataDir }), ...(opts.user ? { CONTAINERS_STORAGE_CONF: undefined } : {}) }),
    detached: opts.detached,
    stdio: ['ignore', fd ?? 'pipe', fd ?? 'pipe'],
    ...(opts.user ?? {}),
  });
  if (fd !== undefined) closeSync(fd);
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  const chunks: Buffer[] = [];
  const collect = (d: Buffer) => void chunks.push(d);
  const output = () => (opts.logFile ? readFileSync(opts.logFile, 'utf8') : Buffer.concat(chunks).toString('utf8'));
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  const store = bin === agentBin ? requiredStore(opts) : undefined;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start in 60 s:\n${output()}`)), 60_000);
    let pending = '';
    const onData = (d: Buffer) => {
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        try {
          const j = JSON.parse(line) as { msg?: string; url?: string; address?: string; imageStore?: string };
          const where = j.url ?? j.address;
          if (j.msg === 'listening' && where) {
            clearTimeout(timer);
            clearInterval(poll);
            proc.stdout?.off('data', onData);
            // Two Podman services building on one store at once can lose each other's fresh images (Podman 4.3):
            // an agent of this queue on another queue's store would bring that race back.
            if (store && j.imageStore !== store) {
              proc.kill('SIGTERM');
              reject(new Error(`the agent keeps its images in ${j.imageStore}, not in this test queue's store ${store}: CONTAINERS_STORAGE_CONF did not reach it`));
            } else resolve(where);
          }
        } catch {
          // partial line
        }
      }
    };
    let poll: NodeJS.Timeout | undefined;
    if (proc.stdout) proc.stdout.on('data', onData);
    else {
      let seen = 0;
      poll = setInterval(() => {
        const all = output();
        onData(Buffer.from(all.slice(seen)));
        seen = all.length;
      }, 50);
    }
    proc.once('exit', (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      reject(new Error(`server exited with ${code} before listening:\n${output()}`));
    });
  });
  let stopped: Promise<void> | undefined;
  let killed = false;
  return {
    url,
    dataDir,
    proc,
    output,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        const done = () => {
          if (bin === agentBin) {
            // An agent killed before it could stop its podman service leaves it running: end it here, and
            // remove the containers it could not (by its node id's label).
            spawnSync('pkill', ['-KILL', '-f', `unix://${join(dataDir, 'podman', 'podman.sock')}`]);
            if (killed) removeContainersOf(dataDir);
          }
          if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
          resolve();
        };
        if (proc.exitCode !== null || proc.signalCode !== null) {
          killed = true;
          return done(); // killed already (-9)
        }
        const kill = setTimeout(() => {
          killed = true;
          proc.kill('SIGKILL');
        }, 10_000);
        proc.once('exit', () => {
          clearTimeout(kill);
          done();
        });
        proc.kill('SIGTERM');
      });
      return stopped;
    },
  };
}

/** Removes the containers of the agent whose data folder this is (after it was killed and could not). */
function removeContainersOf(dataDir: string): void {
  let nodeId: string;
  try {
    nodeId = readFileSync(join(dataDir, 'node-id'), 'utf8').trim();
  } catch {
    return;
  }
  const ids = spawnSync('podman', ['ps', '-aq', '--filter', `label=containerpub.node=${nodeId}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) spawnSync('podman', ['rm', '-f', ...ids], { stdio: 'ignore' });
}
