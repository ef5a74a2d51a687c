// HTTP basics through app.request() (no socket): request ids, problem bodies, limits, headers, CORS, OpenAPI, readiness.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../config.js';
import { createLogger } from '../../../common/logger.js';
import { createControlPlane, type ControlPlane } from '../control-plane.js';

const s = suite('http app');
let dir: string;
let cp: ControlPlane;
let logged = '';
/** The real listener (cp.start()): JSON bodies are read from Node's request there (json-body.ts), not by Hono. */
let url = '';

s.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cpub-app-'));
  const sink = new Writable({ write: (chunk, _enc, cb) => ((logged += chunk), cb()) });
  cp = await createControlPlane(loadConfig({ CPUB_DATA_DIR: dir, CPUB_CORS_ORIGINS: 'https://ok.example', CPUB_BODY_LIMIT: '2048', CPUB_PORT: '0' }), createLogger('info', sink));
  url = await cp.start();
});

s.after(async () => {
  await cp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

s('health and ready', async () => {
  const h = await cp.app.request('/health');
  assert.is(h.status, 200);
  assert.equal(await h.json(), { status: 'ok' });
  const r = await cp.app.request('/ready');
  assert.is(r.status, 200);
  assert.equal(await r.json(), { status: 'ready', database: 'sqlite' });
});

s('every response has a request id and security headers', async () => {
  for (const path of ['/health', '/api/users/me', '/nope']) {
    const r = await cp.app.request(path);
    assert.match(r.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, path);
    assert.is(r.headers.get('x-content-type-options'), 'nosniff', path);
    assert.ok(r.headers.get('x-frame-options'), path);
    assert.ok(r.headers.get('referrer-policy'), path);
  }
  const given = await cp.app.request('/health', { headers: { 'x-request-id': 'trace-abc-123' } });
  assert.is(given.headers.get('x-request-id'), 'trace-abc-123', 'an incoming id is kept');
});

const problems: [string, RequestInit, number, string][] = [
  ['/nope', {}, 404, 'not_found'],
  ['/api/auth/login', json('{"email": '), 400, 'invalid_json'],
  ['/api/auth/login', json({ email: 'a@b.c' }), 400, 'invalid_request'],
  ['/api/auth/login', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }, 415, 'unsupported_media_type'],
  ['/api/auth/register', json({ email: 'a@b.c', password: 'x'.repeat(4000) }), 413, 'payload_too_large'],
  ['/api/users/me', {}, 401, 'unauthenticated'],
  ['/api/users/me', { headers: { authorization: 'Bearer nope' } }, 401, 'invalid_token'],
  ['/api/users', { headers: { authorization: 'Token abc' } }, 401, 'unauthenticated'],
];

// Each through app.request() (Hono reads the body) and over a socket (json-body.ts reads a JSON one).
for (const [path, init, status, code] of problems) {
  for (const [how, send] of [['app', (p: string, i: RequestInit) => cp.app.request(p, i)], ['socket', (p: string, i: RequestInit) => fetch(url + p, i)]] as const)
  s(`${init.method ?? 'GET'} ${path} → ${status} ${code} (${how})`, async () => {
    const r = await send(path, init);
    assert.is(r.status, status);
    assert.is(r.headers.get('content-type'), 'application/problem+json');
    const body = await r.json();
    assert.is(body.status, status);
    assert.is(body.code, code);
    assert.is(body.type, `urn:containerpub:problem:${code}`);
    assert.ok(body.title && body.detail, 'title and detail');
    assert.is(body.instance, path);
    assert.is(body.requestId, r.headers.get('x-request-id'));
  });
}

s('CORS only for allowlisted origins', async () => {
  const pre = (origin: string) =>
    cp.app.request('/api/auth/login', { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
  assert.is((await pre('https://ok.example')).headers.get('access-control-allow-origin'), 'https://ok.example');
  assert.is((await pre('https://evil.example')).headers.get('access-control-allow-origin'), null);
});

s('openapi.json is generated from the route schemas', async () => {
  const r = await cp.app.request('/openapi.json');
  assert.is(r.status, 200);
  const doc = await r.json();
  assert.is(doc.openapi, '3.1.0');
  for (const p of ['/api/auth/register', '/api/auth/login', '/api/auth/refresh', '/api/auth/logout', '/api/users/me', '/api/users/me/password', '/api/users', '/api/users/{id}', '/health', '/ready']) {
    assert.ok(doc.paths[p], p);
  }
  assert.ok(doc.paths['/api/auth/register'].post.requestBody.content['application/json'].schema);
  assert.ok(doc.components.securitySchemes.bearer);
});

s('a body field the route does not know is a 400 naming it, never ignored', async () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['/api/auth/login', { email: 'a@example.com', password: 'x'.repeat(12), remember: true }, 'remember'],
    ['/api/auth/register', { email: 'b@example.com', password: 'y'.repeat(12), nmae: 'typo' }, 'nmae'],
    ['/api/auth/refresh', { refreshToken: 'r', extra: 1 }, 'extra'],
  ];
  for (const [path, body, field] of cases) {
    const r = await cp.app.request(path, json(body));
    assert.is(r.status, 400, path);
    const p = await r.json();
    assert.is(p.code, 'unknown_field', path);
    assert.is(p.field, field, path);
    assert.match(p.detail, field, path);
  }
});

s('over a socket: a JSON body is read within the limit as it comes (chunked), UTF-8 with or without a BOM, +json types', async () => {
  // No Content-Length: the limit is met while reading.
  const chunked = (text: string) => new ReadableStream({ start: (ctl) => (ctl.enqueue(new TextEncoder().encode(text)), ctl.close()) });
  const over = await fetch(`${url}/api/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunked(JSON.stringify({ email: 'c@example.com', password: 'z'.repeat(4000) })), duplex: 'half' } as RequestInit);
  assert.is(over.status, 413);
  assert.is(((await over.json()) as { code: string }).code, 'payload_too_large');
  for (const [type, prefix] of [['application/json', '\uFEFF'], ['application/merge-patch+json', ''], ['application/json; charset=utf-8', '']]) {
    const r = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': type }, body: chunked(`${prefix}{"email":"nobody-ü@example.com","password":"${'p'.repeat(12)}"}`), duplex: 'half' } as RequestInit);
    assert.is(r.status, 401, `${type}: parsed and checked (no such account), not a 400`);
  }
  const unknown = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(12), remember: true }) });
  assert.is(unknown.status, 400);
  assert.is(((await unknown.json()) as { field: string }).field, 'remember');
});

s('request log lines carry the request id and never headers', async () => {
  await cp.app.request('/api/users/me', { headers: { authorization: 'Bearer secret-looking-token', cookie: 'a=b' } });
  const lines = logged.trim().split('\n').map((l) => JSON.parse(l));
  const line = lines.reverse().find((l) => l.path === '/api/users/me');
  assert.ok(line, 'logged');
  assert.is(line.status, 401);
  assert.ok(line.requestId);
  assert.not.ok(logged.includes('secret-looking-token'));
  assert.not.ok(/authorization|cookie/i.test(logged));
});

s.run();
