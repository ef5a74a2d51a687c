// Who may call a function, through both HTTP doors, table-driven. No agent is needed: a call the rule admits
// goes on to look for a ready version and answers 409 no_ready_version, so 409 here means "admitted"; a refusal
// is the 401 or 404 the rule gives before anything else happens (the body of a refused call is never read).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../config.js';
import { createLogger } from '../../../common/logger.js';
import { createControlPlane, type ControlPlane } from '../control-plane.js';

const s = suite('call auth (both doors)');
let dir: string;
let cp: ControlPlane;
let base: string;
const ADMITTED = 409;

interface Who {
  token: string;
  handle: string;
}
let a: Who;
let b: Who;
/** A key of a's function `f`, and one of a's other function `g`. */
let keyF: { secret: string; id: string };
let keyG: { secret: string; id: string };
let fId: string;

async function api(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await cp.app.request(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: r.status, body: r.status === 204 ? {} : ((await r.json()) as Record<string, unknown>) };
}

async function user(email: string): Promise<Who> {
  const password = 'correct horse battery staple';
  assert.is((await api('POST', '/api/auth/register', undefined, { email, password })).status, 201);
  const token = (await api('POST', '/api/auth/login', undefined, { email, password })).body.accessToken as string;
  return { token, handle: (await api('GET', '/api/users/me', token)).body.handle as string };
}

s.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cpub-call-auth-'));
  cp = await createControlPlane(loadConfig({ CPUB_DATA_DIR: dir, CPUB_PORT: '0', CPUB_HOST: '127.0.0.1' }), createLogger('error', new Writable({ write: (_c, _e, cb) => cb() })));
  base = await cp.start();
  a = await user('a@example.com');
  b = await user('b@example.com');
  for (const name of ['f', 'g']) assert.is((await api('POST', '/api/functions', a.token, { name })).status, 201);
  fId = ((await api('GET', '/api/functions/f', a.token)).body.function as { id: string }).id;
  const k = async (fn: string) => {
    const r = (await api('POST', `/api/functions/${fn}/keys`, a.token, { name: 'k' })).body as { secret: string; key: { id: string } };
    return { secret: r.secret, id: r.key.id };
  };
  keyF = await k('f');
  keyG = await k('g');
});

s.after(async () => {
  await cp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const mode = async (auth: 'public' | 'private' | 'key') => assert.is((await api('PATCH', '/api/functions/f', a.token, { auth })).status, 200);
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
function signed(key: { secret: string; id: string }, body: string, ts = Math.floor(Date.now() / 1000)) {
  const sig = createHmac('sha256', key.secret).update(`${ts}:${body}`).digest('base64');
  return { 'x-api-key': key.id, 'x-timestamp': String(ts), 'x-signature': sig };
}

s('the function URL: each auth mode admits whom it says, and refuses the rest before the body is read', async () => {
  // Read after a second: the function lookup for calls is cached that long.
  const cases: [auth: 'public' | 'private' | 'key', who: string, headers: () => Record<string, string>, status: number, code?: string][] = [
    ['public', 'anyone', () => ({}), ADMITTED],
    ['private', 'no one', () => ({}), 401, 'unauthenticated'],
    ['private', 'the owner', () => bearer(a.token), ADMITTED],
    ['private', 'another user (not found)', () => bearer(b.token), 404, 'function_not_found'],
    ['private', 'an API key (not an access token)', () => bearer(keyF.secret), 401],
    ['key', 'no one', () => ({}), 401, 'unauthenticated'],
    ['key', 'a key of the function', () => bearer(keyF.secret), ADMITTED],
    ['key', 'a key in X-Api-Key', () => ({ 'x-api-key': keyF.secret }), ADMITTED],
    ['key', 'a key of another function', () => bearer(keyG.secret), 401, 'invalid_key'],
    ['key', 'the owner’s access token (not a key)', () => bearer(a.token), 401, 'invalid_key'],
    ['key', 'a signed call', () => signed(keyF, 'payload'), ADMITTED],
    ['key', 'a call signed over another body', () => signed(keyF, 'other'), 401, 'bad_signature'],
    ['key', 'a stale signature', () => signed(keyF, 'payload', Math.floor(Date.now() / 1000) - 3600), 401, 'stale_signature'],
    ['key', 'a signature by another function’s key', () => signed(keyG, 'payload'), 401, 'bad_signature'],
  ];
  let current = '';
  for (const [auth, who, headers, status, code] of cases) {
    if (auth !== current) {
      await mode(auth);
      await new Promise((r) => setTimeout(r, 1100));
      current = auth;
    }
    const r = await fetch(`${base}/fn/${a.handle}/f`, { method: 'POST', headers: headers(), body: 'payload' });
    const p = (await r.json()) as { code: string };
    assert.is(r.status, status, `${auth}, ${who}: ${JSON.stringify(p)}`);
    if (code) assert.is(p.code, code, `${auth}, ${who}`);
    if (status === ADMITTED) assert.is(p.code, 'no_ready_version', `${auth}, ${who}`);
  }
  const nobody = await fetch(`${base}/fn/${a.handle}/nope`);
  assert.is(nobody.status, 404);
  assert.is(((await nobody.json()) as { code: string }).code, 'function_not_found');
});

s('POST …/invoke: the owner or a key of that very function, whatever the auth mode', async () => {
  await mode('private');
  const cases: [who: string, token: () => string | undefined, ref: () => string, status: number, code?: string][] = [
    ['no one', () => undefined, () => 'f', 401, 'unauthenticated'],
    ['the owner', () => a.token, () => 'f', ADMITTED],
    ['the owner, by id', () => a.token, () => fId, ADMITTED],
    ['another user (not found)', () => b.token, () => 'f', 404, 'function_not_found'],
    ['a key of the function', () => keyF.secret, () => 'f', ADMITTED],
    ['a key of another function', () => keyG.secret, () => 'f', 401, 'invalid_key'],
    ['a made-up key', () => 'cpk_nothing', () => 'f', 401, 'invalid_key'],
    ['a token that is not one', () => 'not-a-jwt', () => 'f', 401],
  ];
  for (const [who, token, ref, status, code] of cases) {
    const r = await api('POST', `/api/functions/${ref()}/invoke`, token(), {});
    assert.is(r.status, status, `${who}: ${JSON.stringify(r.body)}`);
    if (code) assert.is(r.body.code, code, who);
    if (status === ADMITTED) assert.is(r.body.code, 'no_ready_version', who);
  }
});

s('a call over the body cap is a 413 once the caller is admitted, through either door', async () => {
  await mode('public');
  // The function URL's cap is the function's requestLimitMb (default 100); the envelope's is 6 MB.
  assert.is((await api('PATCH', '/api/functions/f', a.token, { requestLimitMb: 6 })).status, 200);
  await new Promise((r) => setTimeout(r, 1100));
  const big = 'x'.repeat(6 * 2 ** 20 + 1);
  const url = await fetch(`${base}/fn/${a.handle}/f`, { method: 'POST', body: big });
  assert.is(url.status, 413);
  const json = await api('POST', '/api/functions/f/invoke', a.token, { body: big });
  assert.is(json.status, 413);
});

s.run();
