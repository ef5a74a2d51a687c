// The root logger (the one allowed module-level value): JSON lines via pino, secrets redacted as a last guard.
import { pino, type Logger, type DestinationStream } from 'pino';

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

export function createLogger(level: string, destination?: DestinationStream, svc = 'cpub-server'): Logger {
  let dest = destination;
  if (!dest) {
    // Buffered, asynchronous writes keep logging off the request path (one write per ~4 KiB rather than per
    // line); a timer flushes what is pending so a tail sees lines promptly, and pino flushes on exit.
    const boom = pino.destination({ dest: 1, sync: false, minLength: BATCH_BYTES });
    setInterval(() => {
      try {
        boom.flush();
      } catch {
        // flush while a write is in flight: the next tick will do
      }
    }, FLUSH_MS).unref();
    dest = boom;
  }
  return pino(
    {
      level,
      base: { svc },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: isoClock(),
    },
    dest,
  );
}
