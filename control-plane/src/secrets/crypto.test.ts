// The AES-256-GCM sealer: round trips, context binding, tamper detection and key rotation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { createSealer, keyId } from './crypto.js';
import { AppError } from '../errors.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);

function throwsUndecryptable(fn: () => unknown) {
  try {
    fn();
    assert.unreachable('decrypted');
  } catch (err) {
    assert.instance(err, AppError);
    assert.is((err as AppError).code, 'undecryptable');
  }
}

test('round trip, fresh IV each time, format names version and key', () => {
  const s = createSealer(k1);
  const a = s.seal('hunter2', 'fn:1:env:DB');
  const b = s.seal('hunter2', 'fn:1:env:DB');
  assert.is.not(a, b);
  assert.ok(a.startsWith(`v1.${keyId(k1)}.`));
  assert.not.ok(a.includes('hunter2'));
  assert.is(s.open(a, 'fn:1:env:DB'), 'hunter2');
  assert.is(s.open(s.seal(''), ''), '');
  assert.is(s.open(s.seal('ünïcødé ✓')), 'ünïcødé ✓');
});

test('wrong context, tampering, unknown key and garbage are refused', () => {
  const s = createSealer(k1);
  const sealed = s.seal('secret', 'ctx-a');
  throwsUndecryptable(() => s.open(sealed, 'ctx-b'));
  const parts = sealed.split('.');
  const ct = Buffer.from(parts[3]!, 'base64url');
  ct[0] ^= 1;
  throwsUndecryptable(() => s.open([...parts.slice(0, 3), ct.toString('base64url'), parts[4]].join('.'), 'ctx-a'));
  throwsUndecryptable(() => createSealer(k2).open(sealed, 'ctx-a'));
  throwsUndecryptable(() => s.open('v2.x.y.z.w'));
  throwsUndecryptable(() => s.open('nonsense'));
});

test('rotation: the new primary opens values sealed with a previous key and flags them', () => {
  const old = createSealer(k1);
  const sealed = old.seal('rotate-me');
  const rotated = createSealer(k2, [k1]);
  assert.is(rotated.open(sealed), 'rotate-me');
  assert.ok(rotated.needsRotation(sealed));
  const resealed = rotated.seal(rotated.open(sealed));
  assert.not.ok(rotated.needsRotation(resealed));
  assert.ok(resealed.includes(`.${keyId(k2)}.`));
});

test('keys must be 32 bytes', () => {
  assert.throws(() => createSealer(randomBytes(16)));
});

test.run();
