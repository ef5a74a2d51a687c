// The logger's last guard: secret-named fields are redacted even if a caller logs them by mistake.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import { createLogger } from './logger.js';

test('secret-named fields are redacted', () => {
  let out = '';
  const log = createLogger('info', new Writable({ write: (c, _e, cb) => ((out += c), cb()) }));
  log.info({ password: 'p1', body: { refreshToken: 'r1', accessToken: 'a1' }, headers: { authorization: 'Bearer x1' }, req: { headers: { authorization: 'Bearer x2', cookie: 'c=1' } } }, 'oops');
  for (const s of ['p1', 'r1', 'a1', 'x1', 'x2', 'c=1']) assert.not.ok(out.includes(s), s);
  assert.ok(out.includes('[redacted]'));
});

test.run();
