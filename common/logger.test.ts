// The logger's last guard: secret-named fields are redacted even if a caller logs them by mistake.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import { createLogger, isoClock } from './logger.js';

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

test.run();
