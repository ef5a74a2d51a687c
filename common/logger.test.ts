// The logger's last guard: secret-named fields are redacted even if a caller logs them by mistake.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import { spawn } from 'node:child_process';
import { createLogger, isoClock } from './logger.js';

/**
 * A process that logs through createLogger to its stdout: `script` runs with `log` (the logger) in scope. `reader`, a
 * shell command, reads its output through a pipe (`true`: nothing reads it, and the pipe's reader has gone).
 */
function logging(script: string, reader?: string) {
  const logger = new URL('./logger.js', import.meta.url).href;
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const args = ['--input-type=module', '-e', `const { createLogger } = await import(${JSON.stringify(logger)}); const log = createLogger('info'); ${script}`];
  if (!reader) return spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  // A process group of its own, so a hung one is killed with its shell.
  return spawn('/bin/sh', ['-c', `"$0" "$@" | ${reader}`, process.execPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env, detached: true });
}

/** Resolves with the exit code, or 'hung' when the process has not exited within `ms` (it is then killed, with its group). */
function exitOf(proc: ReturnType<typeof spawn>, ms: number): Promise<number | 'hung'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        proc.kill('SIGKILL');
      }
      resolve('hung');
    }, ms);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
}

test('secret-named fields are redacted', () => {
  let out = '';
  const log = createLogger('info', new Writable({ write: (c, _e, cb) => ((out += c), cb()) }));
  log.info({ password: 'p1', body: { refreshToken: 'r1', accessToken: 'a1' }, headers: { authorization: 'Bearer x1' }, req: { headers: { authorization: 'Bearer x2', cookie: 'c=1' } } }, 'oops');
  for (const s of ['p1', 'r1', 'a1', 'x1', 'x2', 'c=1']) assert.not.ok(out.includes(s), s);
  assert.ok(out.includes('[redacted]'));
});

test('times are ISO 8601 in UTC to the millisecond, as pino writes them', () => {
  const isoTime = isoClock();
  for (const t of [0, 5, 59, 999, 1000, 1_765_000_000_007, 1_765_000_000_070, 1_765_000_000_700, 1_765_000_001_000, Date.now()]) {
    assert.is(isoTime(t), `,"time":"${new Date(t).toISOString()}"`, String(t));
  }
  let out = '';
  createLogger('info', new Writable({ write: (c, _e, cb) => ((out += c), cb()) })).info('x');
  const time = (JSON.parse(out) as { time: string }).time;
  assert.ok(Math.abs(Date.parse(time) - Date.now()) < 5000, time);
});

test('log lines reach standard output within a flush interval, before 4 KiB have gathered', async () => {
  const proc = logging(`log.info('first line'); setTimeout(() => process.exit(0), 3000);`);
  const first = await new Promise<{ line: string; ms: number }>((resolve) => {
    const t0 = Date.now();
    proc.stdout!.once('data', (d: Buffer) => resolve({ line: d.toString(), ms: Date.now() - t0 }));
  });
  assert.match(first.line, '"msg":"first line"');
  assert.ok(first.ms < 2000, `${first.ms} ms`);
  assert.is(await exitOf(proc, 10_000), 0);
});

test('a process whose output nobody reads any more (EPIPE) still exits, at once', async () => {
  // The pipe's reader has gone by the time a line is logged; the process exits at once with the line still buffered,
  // so the flush at exit meets the closed pipe. (pino.destination()'s sonic-boom 4 retried that flush forever.)
  const proc = logging(`setTimeout(() => { log.info('shutting down'); process.exit(0); }, 500);`, 'true');
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d));
  assert.is(await exitOf(proc, 10_000), 0, stderr);
  assert.is(stderr, '', 'nothing said about a reader that went away');
});

test.run();
