// The destination address rules (loopback, link-local, private and reserved addresses refused unless the
// operator allows them), the check made as a name resolves for the connection, and the delivery signature.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { AddressGuard, parseAllow, signatureHeaders } from './destinations.js';

const guard = new AddressGuard();

test('loopback, private, link-local, shared, reserved and multicast addresses are refused; public ones are not', () => {
  for (const a of ['127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd00::1', 'ff02::1', '::ffff:10.0.0.1', '::ffff:127.0.0.1'])
    assert.match(guard.addressError(a) ?? '', 'CPUB_DESTINATION_ALLOW', a);
  for (const a of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) assert.is(guard.addressError(a), undefined, a);
});

test('URLs: http(s) only, no credentials, a literal address checked at once (names are checked as they resolve)', () => {
  assert.match(guard.urlError('ftp://example.com/x') ?? '', 'http:// or https://');
  assert.match(guard.urlError('not a url') ?? '', 'not a URL');
  assert.match(guard.urlError('https://u:p@example.com/') ?? '', 'no credentials');
  assert.match(guard.urlError('http://127.0.0.1:9000/hook') ?? '', 'loopback');
  assert.match(guard.urlError('http://[::1]/hook') ?? '', 'loopback');
  assert.is(guard.urlError('https://hooks.example.com/cpub'), undefined);
  assert.is(guard.urlError('http://localhost:9000/'), undefined, 'a name: checked when it resolves');
});

test('CPUB_DESTINATION_ALLOW lets through exactly what it names', () => {
  const allowing = new AddressGuard(['127.0.0.1/32', '10.0.0.0/8', 'hooks.internal']);
  assert.is(allowing.addressError('127.0.0.1'), undefined);
  assert.ok(allowing.addressError('127.0.0.2'));
  assert.is(allowing.addressError('10.200.0.1'), undefined);
  assert.ok(allowing.addressError('192.168.0.1'));
  assert.is(allowing.hostAllowed('HOOKS.internal'), true);
  assert.throws(() => parseAllow(['10.0.0.0/33']), /not a CIDR/);
  assert.throws(() => parseAllow(['http://x']), /not an address, a CIDR or a host name/);
});

test('a name that resolves to a refused address fails the connection’s lookup', async () => {
  const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => guard.lookup('localhost', {}, (e) => resolve(e)));
  assert.is(err?.code, 'EDESTINATION');
  assert.match(err!.message, 'localhost resolves to');
  const ok = await new Promise<[NodeJS.ErrnoException | null, unknown]>((resolve) => new AddressGuard(['127.0.0.0/8', '::1/128']).lookup('localhost', {}, (e, a) => resolve([e, a])));
  assert.is(ok[0], null);
});

test('the signature is base64 HMAC-SHA256 of timestamp ":" body with the secret', () => {
  const body = Buffer.from('{"event":"call.succeeded"}');
  const h = signatureHeaders('cpds_secret', body, 1_800_000_000_500);
  assert.is(h['x-cpub-timestamp'], '1800000000');
  assert.is(h['x-cpub-signature'], createHmac('sha256', 'cpds_secret').update(`1800000000:${body}`).digest('base64'));
});

test.run();
