// The root logger (the one allowed module-level value): JSON lines via pino, secrets redacted as a last guard.
import { pino, type Logger, type DestinationStream } from 'pino';
import sonicBoom from 'sonic-boom';

export type { Logger };

/** Paths that must never reach a log line, whatever a caller passes in. */
const REDACT = [
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  'authorization',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.secret',
  '*.authorization',
  '*.headers.authorization',
  '*.headers.cookie',
];

/** Log lines are written in batches of up to this many bytes, and at least every FLUSH_MS. */
const BATCH_BYTES = 4096;
const FLUSH_MS = 200;

/**
 * pino's `stdTimeFunctions.isoTime` (`,"time":"2026-12-06T09:10:48.123Z"`) without a Date and its text per line: the
 * text up to the second is made once a second (a log line per request made this a percent of a warm call's CPU).
 * Each logger has its own clock.
 */
export function isoClock(): (now?: number) => string {
  let second = NaN;
  let secondText = '';
  return (now = Date.now()) => {
    const s = Math.floor(now / 1000);
    if (s !== second) {
      second = s;
      secondText = `,"time":"${new Date(s * 1000).toISOString().slice(0, 20)}`;
    }
    const ms = now - s * 1000;
    return `${secondText}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
  };
}

/**
 * Standard output, buffered: asynchronous writes keep logging off the request path (one write per ~4 KiB rather than
 * per line), flushed at least every FLUSH_MS so a tail sees lines promptly, and synchronously when the process exits.
 * sonic-boom 5 itself, not the 4.x one `pino.destination()` builds: its synchronous flush retried every failed write
 * but EAGAIN's forever, 100 ms apart — a process whose output's reader had gone away (EPIPE) never exited.
 */
function stdoutDestination(): DestinationStream {
  const boom = new sonicBoom.SonicBoom({ fd: 1, sync: false, minLength: BATCH_BYTES, periodicFlush: FLUSH_MS });
  boom.on('error', (err: NodeJS.ErrnoException) => {
    // Nothing can be written there any more (EPIPE: nobody reads it): the lines have nowhere to go, and the
    // process goes on without them (and stops when told). Anything else is said once, on stderr.
    boom.write = () => true;
    boom.flush = () => {};
    boom.flushSync = () => {};
    if (err.code !== 'EPIPE') process.stderr.write(`error: the log output failed (${err.message}); no more log lines are written\n`);
  });
  process.once('exit', () => {
    try {
      boom.flushSync();
    } catch {
      // the output went away: the last lines with it
    }
  });
  return boom;
}

export function createLogger(level: string, destination?: DestinationStream, svc = 'cpub-server'): Logger {
  return pino(
    {
      level,
      base: { svc },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: isoClock(),
    },
    destination ?? stdoutDestination(),
  );
}

/**
 * Output nobody reads any more (the reader of its pipe went away: EPIPE) is dropped, and the process goes on serving
 * until it is stopped — as its log lines are (above). Unheeded, the next write to it (the server's banner, a
 * warning) ended the process there and then. For the long-running commands (`start`).
 */
export function outliveClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
}
