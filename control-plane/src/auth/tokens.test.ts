// Token issuing and verification: claims present, and every forgery or misuse refused with a 401 code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { createHmac } from 'node:crypto';
import { createTokenIssuer, ISSUER, ACCESS_AUDIENCE } from './tokens.js';
import { AppError } from '../errors.js';

const secret = new TextEncoder().encode('x'.repeat(48));
const issuer = createTokenIssuer(secret);
const user = { id: 'u1', email: 'u@example.com', role: 'user', session_version: 3 };

async function rejects(p: Promise<unknown>, code = 'invalid_token') {
  try {
    await p;
    assert.unreachable('accepted');
  } catch (err) {
    assert.instance(err, AppError);
    assert.is((err as AppError).kind, 'unauthenticated');
    assert.is((err as AppError).code, code);
  }
}

test('access token carries the contract claims', async () => {
  const now = Date.now();
  const pair = await issuer.issuePair(user, 'fam1', now);
  const claims = decodeJwt(pair.accessToken);
  assert.equal(decodeProtectedHeader(pair.accessToken), { alg: 'HS256', typ: 'JWT' });
  for (const k of ['sub', 'email', 'role', 'typ', 'jti', 'iss', 'aud', 'iat', 'exp']) assert.ok(k in claims, k);
  assert.is(claims.typ, 'access');
  assert.is(claims.iss, ISSUER);
  assert.is(claims.aud, ACCESS_AUDIENCE);
  assert.is(claims.exp! - claims.iat!, 3600);
  assert.is(decodeJwt(pair.refreshToken).exp! - decodeJwt(pair.refreshToken).iat!, 30 * 24 * 3600);
  const v = await issuer.verifyAccess(pair.accessToken);
  assert.is(v.sub, 'u1');
  assert.is(v.jti, pair.access.jti);
  assert.is(v.sv, 3);
  assert.is((await issuer.verifyRefresh(pair.refreshToken)).fam, 'fam1');
  assert.is(pair.refresh.hash.length, 64);
});

test('each kind of token is refused where the other is expected', async () => {
  const pair = await issuer.issuePair(user, 'fam1', Date.now());
  await rejects(issuer.verifyAccess(pair.refreshToken));
  await rejects(issuer.verifyRefresh(pair.accessToken));
});

test('forgeries are refused', async () => {
  const now = Math.floor(Date.now() / 1000);
  const base = { typ: 'access', email: 'u@example.com', role: 'admin', sv: 0 };
  const sign = (alg: string, key: Uint8Array, claims: Record<string, unknown> = {}, iss = ISSUER, aud = ACCESS_AUDIENCE, exp = now + 60) =>
    new SignJWT({ ...base, ...claims }).setProtectedHeader({ alg, typ: 'JWT' }).setSubject('u1').setJti('j').setIssuer(iss).setAudience(aud).setIssuedAt(now - 10).setExpirationTime(exp).sign(key);
  const other = new TextEncoder().encode('y'.repeat(48));
  await rejects(issuer.verifyAccess(await sign('HS512', secret)));
  await rejects(issuer.verifyAccess(await sign('HS256', other)));
  await rejects(issuer.verifyAccess(await sign('HS256', secret, {}, 'evil')));
  await rejects(issuer.verifyAccess(await sign('HS256', secret, {}, ISSUER, 'other-aud')));
  await rejects(issuer.verifyAccess(await sign('HS256', secret, { typ: 'refresh' })));
  await rejects(issuer.verifyAccess(await sign('HS256', secret, {}, ISSUER, ACCESS_AUDIENCE, now - 5)), 'token_expired');
  const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${(await sign('HS256', secret)).split('.')[1]}.`;
  await rejects(issuer.verifyAccess(none));
  await rejects(issuer.verifyAccess('not-a-jwt'));
  assert.is((await issuer.verifyAccess(await sign('HS256', secret))).role, 'admin', 'control: a correct token passes');
});

test('times out of bounds are refused even when signed with the real secret', async () => {
  const now = Math.floor(Date.now() / 1000);
  // Signed by hand: JSON.stringify cannot write 1e309 (Infinity), and jose's builder checks its numbers.
  const raw = (times: string) => {
    const head = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
    const body = Buffer.from(`{"typ":"access","email":"u@example.com","role":"user","sv":0,"sub":"u1","jti":"j","iss":"${ISSUER}","aud":"${ACCESS_AUDIENCE}",${times}}`).toString('base64url');
    const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${sig}`;
  };
  await rejects(issuer.verifyAccess(raw(`"iat":${now},"exp":1e309`)));
  await rejects(issuer.verifyAccess(raw(`"iat":${now},"exp":${now + 10 * 365 * 86400}`)), 'invalid_token');
  await rejects(issuer.verifyAccess(raw(`"iat":${now + 3600},"exp":${now + 7200}`)), 'invalid_token');
  await rejects(issuer.verifyAccess(raw(`"iat":${now - 0.5},"exp":${now + 60}`)), 'invalid_token');
  assert.is((await issuer.verifyAccess(raw(`"iat":${now},"exp":${now + 3600}`))).sub, 'u1', 'control: in-bounds times pass');
});

test('a cached verification still expires with the token', async () => {
  let now = Date.now();
  const clocked = createTokenIssuer(secret, () => now);
  const pair = await clocked.issuePair(user, 'fam1', now);
  assert.is((await clocked.verifyAccess(pair.accessToken)).sub, 'u1');
  assert.is((await clocked.verifyAccess(pair.accessToken)).sub, 'u1', 'served from the cache');
  now += 3601_000;
  await rejects(clocked.verifyAccess(pair.accessToken), 'token_expired');
  await rejects(clocked.verifyAccess(pair.accessToken), 'token_expired');
});

test.run();
