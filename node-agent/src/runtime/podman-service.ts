// Runs the agent's own `podman system service` on a private unix socket under its data folder, and stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PodmanRuntime } from './podman.js';
import { AgentError } from '../errors.js';

export class PodmanService {
  private proc: ChildProcess | undefined;
  private stderr = '';
  readonly socketPath: string;
  private readonly pidFile: string;

  /** `ociRuntime` is passed as `podman --runtime` (runc where crun cannot run, as on cgroup v1 hosts). */
  constructor(
    dataDir: string,
    private readonly ociRuntime?: string,
    /** The folder under `dataDir` for its socket and pid file: `doctor` uses its own, so it never stops a running agent's. */
    folder = 'podman',
  ) {
    const dir = join(dataDir, folder);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.socketPath = join(dir, 'podman.sock');
    this.pidFile = join(dir, 'podman.pid');
  }

  /**
   * An agent killed with -9 leaves its podman service running (children outlive their parent); the next start
   * finds it through the pid file and stops it, checking the process is really that service first.
   */
  private stopLeftover(): void {
    let pid: number;
    try {
      pid = Number(readFileSync(this.pidFile, 'utf8'));
    } catch {
      return;
    }
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes('system\0service') && cmdline.includes(this.socketPath)) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(this.pidFile, { force: true });
  }

  /** Starts the service and resolves once its API answers (at most `timeoutMs`). */
  async start(timeoutMs = 20_000): Promise<PodmanRuntime> {
    this.stopLeftover();
    rmSync(this.socketPath, { force: true });
    const args = [...(this.ociRuntime ? ['--runtime', this.ociRuntime] : []), 'system', 'service', '--time=0', `unix://${this.socketPath}`];
    // A process group of its own: a signal to the agent's group (Ctrl-C in a terminal, `kill -- -PGID`, a
    // container runtime's stop) must not reach the service, which the agent still needs to remove its containers.
    // Its own folder as the working directory: conmon writes an `oom` file into its working directory when a
    // container is OOM-killed, which would otherwise land wherever the agent was started (a checkout, say).
    const proc = spawn('podman', args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true, cwd: dirname(this.socketPath) });
    this.proc = proc;
    if (proc.pid) writeFileSync(this.pidFile, String(proc.pid));
    proc.stderr!.on('data', (d) => (this.stderr = (this.stderr + d).slice(-4000)));
    const spawnError = new Promise<never>((_, reject) =>
      proc.once('error', (err) => reject(new AgentError('unavailable', 'podman_missing', `cannot run podman: ${err.message} (install it: apt-get install podman runc)`))),
    );
    spawnError.catch(() => {});
    const runtime = new PodmanRuntime(this.socketPath);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await Promise.race([runtime.ping(), spawnError]);
        return runtime;
      } catch (err) {
        if ((err as AgentError).code === 'podman_missing') throw err;
        if (proc.exitCode !== null || Date.now() > deadline) {
          await this.stop();
          throw new AgentError('unavailable', 'podman_service_failed', `podman system service did not come up: ${this.stderr.trim() || (err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => proc.kill('SIGKILL'), 5000);
      proc.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      proc.kill('SIGTERM');
    });
    rmSync(this.socketPath, { force: true });
    rmSync(this.pidFile, { force: true });
  }
}
