// Password hashing: argon2id at the OWASP parameters, verification, and the bounded queue.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPasswordHasher, checkPasswordLength } from './passwords.js';
import { AppError } from '../errors.js';

test('argon2id with m=19 MiB, t=2, p=1; verifies only the right password', async () => {
  const h = createPasswordHasher();
  const hash = await h.hash('correct horse');
  assert.match(hash, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
  assert.ok(await h.verify(hash, 'correct horse'));
  assert.not.ok(await h.verify(hash, 'wrong horse'));
  assert.not.ok(await h.verify('not-a-hash', 'x'));
});

test('length bounds are checked before hashing', () => {
  assert.throws(() => checkPasswordLength('short'), (e: AppError) => e.code === 'invalid_password');
  assert.throws(() => checkPasswordLength('x'.repeat(257)), (e: AppError) => e.code === 'invalid_password');
  checkPasswordLength('x'.repeat(8));
  checkPasswordLength('x'.repeat(256));
});

test('a full queue answers busy (503) instead of waiting', async () => {
  const h = createPasswordHasher(1, 2);
  const results = await Promise.allSettled(Array.from({ length: 6 }, () => h.hash('some password')));
  const busy = results.filter((r) => r.status === 'rejected');
  assert.ok(busy.length >= 3, `${busy.length} refused`);
  for (const r of busy) assert.is(((r as PromiseRejectedResult).reason as AppError).code, 'busy');
  assert.ok(results.some((r) => r.status === 'fulfilled'));
});

test.run();
