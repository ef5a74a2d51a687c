// Runs `cpub-server start` as a real child process on port 0 and collects everything it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const serverBin = join(repoRoot, 'bin', 'cpub-server.js');

export interface RunningServer {
  url: string;
  dataDir: string;
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

/** The environment a test server gets: PATH and what the test passes, never the host's secrets. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export async function startServer(env: Record<string, string | undefined> = {}, args: string[] = []): Promise<RunningServer> {
  const dataDir = env.CPUB_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'cpub-data-'));
  const ownsDir = env.CPUB_DATA_DIR === undefined;
  const proc = spawn(process.execPath, [serverBin, 'start', ...args], {
    cwd: repoRoot,
    env: cleanEnv({ CPUB_PORT: '0', CPUB_LOG_LEVEL: 'info', ...env, CPUB_DATA_DIR: dataDir }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 20 s:\n${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d;
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const j = JSON.parse(line) as { msg?: string; url?: string };
          if (j.msg === 'listening' && j.url) {
            clearTimeout(timer);
            resolve(j.url);
          }
        } catch {
          // partial line
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d: Buffer) => (out += d));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
  proc.stdout!.on('data', () => {});
  let stopped: Promise<void> | undefined;
  return {
    url,
    dataDir,
    proc,
    output: () => out,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        const done = () => {
          if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
          resolve();
        };
        if (proc.exitCode !== null) return done();
        const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
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
