// Functions end to end: HTTP → cpub-server → gRPC → cpub-agent → Podman and back. Create, deploy (checked as it
// streams, built on the agent), invoke by API and by URL, versions and rollback, env and secrets, API keys
// (bearer and signed), executions, failures with their codes, and another user's function being a 404.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, startAgentProcess, type RunningServer } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud, until } from './helpers/hooks.js';
import { fnArtifact, makeArtifact } from './helpers/agent.js';
import { rawTarGz } from './helpers/raw-tar.js';
import { packFunction } from '../common/pack.js';
import { repoRoot } from './helpers/server.js';
import { createTestDatabase } from './helpers/postgres.js';

/** SQLite here; functions-e2e-pg.test.ts runs the same cases on PostgreSQL, but those marked `agentSide`. */
const DIALECT = process.env.CPUB_TEST_FUNCTIONS_DIALECT === 'postgres' ? 'postgres' : 'sqlite';
const s = suite(`functions end to end [${DIALECT}]`);
/**
 * A case of the agent and the call path that no query of the other dialect changes (limits, headers, OOM, the
 * queue, the examples' builds): run once, on SQLite. The PostgreSQL run would repeat it word for word, at ≈ 35 s of
 * Podman work in a suite on the test run's critical path.
 */
const agentSide = (name: string, fn: () => Promise<void>) => {
  if (DIALECT === 'sqlite') s(name, fn);
};
let dbEnv: Record<string, string> = {};
let dropDb: (() => Promise<void>) | undefined;
const execFileP = promisify(execFile);
const JOIN = 'join-token-for-functions-0123456789';
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
let server: RunningServer;
let agent: RunningServer;
let agentDir: string;
let api: Client;
let owner: { token: string; handle: string };
let other: { token: string; handle: string };

async function account(email: string) {
  await api.post('/api/auth/register', { email, password: 'password-for-tests-1' });
  const token = (await api.post('/api/auth/login', { email, password: 'password-for-tests-1' })).body.accessToken as string;
  const handle = (await api.get('/api/users/me', token)).body.handle as string;
  return { token, handle };
}

async function upload(fn: string, bytes: Buffer, token = owner.token, query = '?wait=true', type = 'application/gzip') {
  const res = await fetch(`${server.url}/api/functions/${fn}/deployments${query}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body: new Uint8Array(bytes) });
  return { status: res.status, body: (await res.json()) as any };
}

const deploy = async (fn: string, handler: string) => upload(fn, readFileSync((await fnArtifact(handler)).path));

/** A dashboard session cookie for an account (its login form, as a browser would send it). */
async function dashboardCookie(email: string): Promise<string> {
  const form = await fetch(`${server.url}/ui/login`);
  const csrfCookie = (form.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
  const r = await fetch(`${server.url}/ui/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie }, body: new URLSearchParams({ email, password: "password-for-tests-1", _csrf: csrf }) });
  const session = (r.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]);
  return [csrfCookie, ...session].filter(Boolean).join('; ');
}

s.before(
  loud(async () => {
    if (DIALECT === 'postgres') {
      const db = await createTestDatabase();
      dropDb = db.drop;
      dbEnv = { DATABASE_URL: db.url };
    }
    server = await startServer({ CPUB_JOIN_TOKEN: JOIN, CPUB_BUILD_AGENT_WAIT: '2s', CPUB_METRICS_TOKEN: METRICS_TOKEN, CPUB_DESTINATION_ALLOW: '127.0.0.1/32', ...dbEnv });
    api = client(server.url);
    owner = await account('owner@example.com');
    other = await account('other@example.com');
    agentDir = mkdtempSync(join(tmpdir(), 'cpub-fn-agent-'));
    agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: agentDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN });
    await until('the agent up', async () => (await api.get('/api/nodes', owner.token)).body.nodes?.[0]?.status === 'up');
  }),
);

/** Data folders of servers started on another's folder (they do not remove it). */
const leftovers: string[] = [];

s.after(
  loud(async () => {
    await agent?.stop();
    await server?.stop();
    for (const d of leftovers) rmSync(d, { recursive: true, force: true });
    rmSync(agentDir, { recursive: true, force: true });
    await dropDb?.();
  }),
);

s('create: defaults, bounds named, names unique per owner', async () => {
  const r = await api.post('/api/functions', { name: 'hello' }, owner.token);
  assert.is(r.status, 201, r.text);
  assert.equal(
    [r.body.function.memoryMb, r.body.function.cpus, r.body.function.timeoutMs, r.body.function.concurrency, r.body.function.auth, r.body.function.network, r.body.function.activeVersion],
    [128, 0.5, 30_000, 1, 'private', 'none', null],
  );
  assert.is(r.body.function.url, `/fn/${owner.handle}/hello`);
  assert.is((await api.post('/api/functions', { name: 'hello' }, owner.token)).status, 409);
  assert.is((await api.post('/api/functions', { name: 'hello' }, other.token)).status, 201, 'another owner may use the name');
  const bad = await api.post('/api/functions', { name: 'Bad_Name' }, owner.token);
  assert.is(bad.status, 400);
  const big = await api.post('/api/functions', { name: 'big', memoryMb: 999_999 }, owner.token);
  assert.is(big.status, 400);
  assert.match(big.body.detail, 'memoryMb');
  const list = await api.get('/api/functions?limit=1', owner.token);
  assert.is(list.body.functions.length, 1);
});

s('deploy with ?wait=true builds on the agent; invoke by API returns the function’s status, headers and body', async () => {
  const d = await deploy('hello', `async (req, ctx) => { console.log('hi from', ctx.function.name); return new Response(JSON.stringify({ path: new URL(req.url).pathname, q: new URL(req.url).searchParams.get('q'), body: await req.text() }), { status: 201, headers: { 'content-type': 'application/json', 'x-made-by': 'hello' } }); }`);
  assert.is(d.status, 201, JSON.stringify(d.body));
  assert.equal([d.body.deployment.version, d.body.deployment.status, d.body.deployment.active], [1, 'ready', true]);
  const stored = (await api.get('/api/functions/hello/deployments/1', owner.token)).body.deployment.buildLog as string;
  assert.match(stored, /^building version 1 on node /);
  assert.match(stored, /version 1 is ready and active\n$/, 'the stored build log ends with the outcome line');
  const badHeader = await api.post('/api/functions/hello/invoke', { headers: { 'bad name': 'x' } }, owner.token);
  assert.is(badHeader.status, 400, badHeader.text);
  assert.match(badHeader.body.detail, 'headers');
  const r = await api.post('/api/functions/hello/invoke', { method: 'POST', path: '/things', query: 'q=1', body: 'payload' }, owner.token);
  assert.is(r.status, 200, r.text);
  assert.is(r.body.statusCode, 201);
  assert.is(r.body.headers['x-made-by'], 'hello');
  assert.equal(JSON.parse(r.body.body), { path: '/things', q: '1', body: 'payload' });
  const ex = await api.get(`/api/executions/${r.body.executionId}`, owner.token);
  assert.is(ex.status, 200);
  assert.equal([ex.body.execution.status, ex.body.execution.httpStatus, ex.body.execution.trigger, ex.body.execution.request.method], ['success', 201, 'api', 'POST']);
  assert.ok(ex.body.execution.logs.some((l: { message: string }) => l.message === 'hi from hello'), JSON.stringify(ex.body.execution.logs));
  const list = await api.get('/api/functions/hello/executions?status=success', owner.token);
  assert.ok(list.body.executions.some((e: { id: string }) => e.id === r.body.executionId));
});

s('the function URL: private needs the owner’s token; the raw request passes through; Server-Timing and the execution id come back', async () => {
  const url = `${server.url}/fn/${owner.handle}/hello/deep/path?q=2`;
  const anonymous = await fetch(url);
  assert.is(anonymous.status, 401);
  assert.is(anonymous.headers.get('content-type'), 'application/problem+json');
  const problem = (await anonymous.json()) as { code: string; requestId: string; instance: string };
  assert.equal([problem.code, problem.instance], ['unauthenticated', `/fn/${owner.handle}/hello/deep/path`]);
  assert.is(problem.requestId, anonymous.headers.get('x-request-id'));
  // Unknown functions, a missing name and a malformed escape are 404 problems, never a 500.
  for (const path of [`/fn/${owner.handle}/nope`, `/fn/${owner.handle}`, `/fn/${owner.handle}/%E0%A4%A`]) {
    const r = await fetch(`${server.url}${path}`);
    assert.is(r.status, 404, path);
    assert.is(((await r.json()) as { status: number }).status, 404, path);
  }
  // Past the function's requestLimitMb (6 here; default 100): refused by its declared length, before anything is read.
  assert.is((await api.patch('/api/functions/hello', { requestLimitMb: 6 }, owner.token)).status, 200);
  const tooBig = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${owner.token}` }, body: new Uint8Array(6 * 1024 * 1024 + 1) });
  assert.is(tooBig.status, 413);
  assert.is(((await tooBig.json()) as { code: string }).code, 'body_too_large');
  // Refused by its declared length before the body is read: the connection is not kept for another request.
  const early = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { authorization: `Bearer ${owner.token}`, 'content-length': String(7 * 2 ** 20) } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
    });
    req.on('error', (err) => (/ECONNRESET|EPIPE/.test(String(err)) ? undefined : reject(err)));
    req.write(Buffer.alloc(1024));
  });
  assert.equal(early, { status: 413, connection: 'close' });
  const res = await fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${owner.token}`, 'x-custom': 'yes' }, body: 'raw body' });
  assert.is(res.status, 201);
  assert.is(res.headers.get('x-made-by'), 'hello');
  assert.ok(res.headers.get('cpub-execution-id'));
  assert.match(res.headers.get('server-timing') ?? '', /run;dur=\d+/);
  assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  assert.equal(await res.json(), { path: '/deep/path', q: '2', body: 'raw body' });
  const ex = await api.get(`/api/executions/${res.headers.get('cpub-execution-id')}`, owner.token);
  assert.is(ex.body.execution.trigger, 'url');
});

s('another user’s function is a 404 everywhere, and nothing changes', async () => {
  for (const [method, path, body] of [
    ['GET', '/api/functions/hello'],
    ['PATCH', '/api/functions/hello', { memoryMb: 256 }],
    ['DELETE', '/api/functions/hello'],
    ['GET', '/api/functions/hello/deployments'],
    ['GET', '/api/functions/hello/deployments/1'],
    ['POST', '/api/functions/hello/rollback', { version: 1 }],
    ['POST', '/api/functions/hello/invoke', {}],
    ['GET', '/api/functions/hello/executions'],
    ['GET', '/api/functions/hello/env'],
    ['PUT', '/api/functions/hello/env', { vars: { A: 'b' } }],
    ['GET', '/api/functions/hello/keys'],
    ['POST', '/api/functions/hello/keys', { name: 'x' }],
  ] as const) {
    // "hello" of the other user exists too (created above): address the owner's by id.
    const mine = (await api.get('/api/functions/hello', owner.token)).body.function.id as string;
    const r = await api.call(method, path.replace('hello', mine), { body, token: other.token });
    assert.is(r.status, 404, `${method} ${path}: ${r.status}`);
  }
  const res = await fetch(`${server.url}/fn/${owner.handle}/hello`, { headers: { authorization: `Bearer ${other.token}` } });
  assert.is(res.status, 404);
  // The owner's execution, by its id: a 404 for another user, in the API and in the dashboard.
  const execution = (await api.get('/api/functions/hello/executions', owner.token)).body.executions[0].id as string;
  assert.is((await api.get(`/api/executions/${execution}`, owner.token)).status, 200, 'control: the owner sees it');
  assert.is((await api.get(`/api/executions/${execution}`, other.token)).status, 404);
  const page = await fetch(`${server.url}/ui/executions/${execution}`, { headers: { cookie: await dashboardCookie('other@example.com') }, redirect: 'manual' });
  assert.is(page.status, 404);
  const own = await fetch(`${server.url}/ui/executions/${execution}`, { headers: { cookie: await dashboardCookie('owner@example.com') }, redirect: 'manual' });
  assert.is(own.status, 200, 'control: the owner’s dashboard shows it');
  // Anonymously, every endpoint is a 401 problem (never a 404 that would confirm or deny a name).
  const mine = (await api.get('/api/functions/hello', owner.token)).body.function.id as string;
  for (const [method, path] of [
    ['GET', '/api/functions'],
    ['POST', '/api/functions'],
    ['GET', `/api/functions/${mine}`],
    ['PATCH', `/api/functions/${mine}`],
    ['DELETE', `/api/functions/${mine}`],
    ['POST', `/api/functions/${mine}/deployments`],
    ['GET', `/api/functions/${mine}/deployments`],
    ['GET', `/api/functions/${mine}/deployments/1`],
    ['GET', `/api/functions/${mine}/deployments/1/logs`],
    ['POST', `/api/functions/${mine}/rollback`],
    ['POST', `/api/functions/${mine}/invoke`],
    ['GET', `/api/functions/${mine}/executions`],
    ['GET', `/api/functions/${mine}/logs`],
    ['GET', `/api/functions/${mine}/stats`],
    ['GET', `/api/functions/${mine}/env`],
    ['PUT', `/api/functions/${mine}/env`],
    ['GET', `/api/functions/${mine}/keys`],
    ['POST', `/api/functions/${mine}/keys`],
    ['GET', '/api/executions/x'],
    ['GET', '/api/stats/overview'],
  ] as const) {
    const r = await api.call(method, path, { body: method === 'GET' || method === 'DELETE' ? undefined : {} });
    assert.is(r.status, 401, `${method} ${path} anonymously: ${r.status}`);
    assert.is(r.headers.get('content-type'), 'application/problem+json');
  }
  assert.is((await api.get('/api/functions/hello', owner.token)).body.function.memoryMb, 128, 'unchanged');
  const up = await upload((await api.get('/api/functions/hello', owner.token)).body.function.id, readFileSync((await fnArtifact('() => 1')).path), other.token);
  assert.is(up.status, 404);
});

s('versions and rollback: a new version becomes active; rollback switches back; a failed upload leaves the active one', async () => {
  const v2 = await deploy('hello', `() => new Response('v2')`);
  assert.is(v2.body.deployment.version, 2);
  const call = async () => (await api.post('/api/functions/hello/invoke', {}, owner.token)).body;
  assert.is((await call()).body, 'v2');
  const rb = await api.post('/api/functions/hello/rollback', { version: 1 }, owner.token);
  assert.is(rb.status, 200);
  assert.is(rb.body.function.activeVersion, 1);
  assert.is((await call()).statusCode, 201);
  const versions = await api.get('/api/functions/hello/deployments', owner.token);
  assert.equal(versions.body.deployments.map((d: { version: number; active: boolean }) => [d.version, d.active]), [[2, false], [1, true]]);
  const refused = await upload('hello', rawTarGz([{ name: 'containerpub.json', content: '{"entry":"index.mjs"}' }, { name: 'index.mjs', content: 'x' }, { name: 'evil', type: '2', linkname: '/etc/shadow' }]));
  assert.is(refused.status, 400);
  assert.match(refused.body.detail, 'evil');
  assert.equal(readdirSync(join(server.dataDir, 'artifacts', 'staging')), [], 'nothing of a refused upload stays');
  assert.is((await api.get('/api/functions/hello', owner.token)).body.function.activeVersion, 1);
});

s('aliases: a name for a version at /fn/<owner>/<name>@<alias>; live is the active version; a 90/10 split of live over 1,000 callers is within ±3 % and sticky per caller; async calls through an alias run its version', async () => {
  assert.is((await api.post('/api/functions', { name: 'split', auth: 'public' }, owner.token)).status, 201);
  assert.is((await deploy('split', `() => new Response('v1')`)).status, 201);
  assert.is((await deploy('split', `() => new Response('v2')`)).status, 201);
  const url = (alias = '') => `${server.url}/fn/${owner.handle}/split${alias}/`;
  const body = async (alias = '', headers: Record<string, string> = {}) => (await fetch(url(alias), { headers })).text();
  assert.equal((await api.get('/api/functions/split/aliases', owner.token)).body.aliases.map((a: { name: string; version: number; weights: unknown }) => [a.name, a.version, a.weights]), [['live', 2, null]]);
  const made = await api.post('/api/functions/split/aliases', { name: 'stable', version: 1 }, owner.token);
  assert.is(made.status, 201, made.text);
  assert.equal([await body('@stable'), await body(), await body('@live')], ['v1', 'v2', 'v2']);
  assert.is((await api.post('/api/functions/split/invoke', { alias: 'stable' }, owner.token)).body.body, 'v1', 'the JSON invoke through an alias');
  const missing = await fetch(url('@nope'));
  assert.equal([missing.status, ((await missing.json()) as { code: string }).code], [404, 'alias_not_found']);
  // Refused: a name taken, a version not ready, a bad name, a field the route does not know, weights not summing to 100.
  const refused = async (method: 'post' | 'patch', path: string, payload: unknown) => {
    const r = await api[method](`/api/functions/split/aliases${path}`, payload, owner.token);
    return [r.status, r.body.code ?? r.body.detail];
  };
  assert.equal(await refused('post', '', { name: 'stable', version: 1 }), [409, 'alias_exists']);
  assert.equal(await refused('post', '', { name: 'beta', version: 9 }), [400, 'version_not_ready']);
  assert.equal(await refused('post', '', { name: 'Beta!', version: 1 }), [400, 'invalid_alias']);
  const typo = await api.post('/api/functions/split/aliases', { name: 'beta', version: 1, weight: { '1': 100 } }, owner.token);
  assert.is(typo.status, 400);
  assert.match(JSON.stringify(typo.body), 'weight');
  assert.equal(await refused('patch', '/live', { weights: { '1': 50, '2': 60 } }), [400, 'invalid_weights']);
  assert.equal(await refused('patch', '/live', { version: 1 }), [400, 'live_follows_active']);
  // A split of live, sticky by a header: 1,000 callers, each always on the same version.
  const split = await api.patch('/api/functions/split/aliases/live', { weights: { '1': 90, '2': 10 }, sticky: 'header:x-user' }, owner.token);
  assert.is(split.status, 200, split.text);
  assert.equal([split.body.alias.version, split.body.alias.weights, split.body.alias.sticky], [2, { '1': 90, '2': 10 }, 'header:x-user']);
  let v2 = 0;
  for (let i = 0; i < 1000; i++) if ((await body('', { 'x-user': `caller-${i}` })) === 'v2') v2++;
  assert.ok(v2 >= 70 && v2 <= 130, `${v2} of 1,000 calls on v2 (10 % ± 3 %)`);
  const again = new Set<string>();
  for (let i = 0; i < 5; i++) again.add(await body('', { 'x-user': 'caller-7' }));
  assert.is(again.size, 1, 'a caller stays on its version');
  // Async through an alias: queued with its version.
  const q = await fetch(url('@stable'), { method: 'POST', headers: { prefer: 'respond-async' }, body: 'x' });
  assert.is(q.status, 202);
  const id = ((await q.json()) as { executionId: string }).executionId;
  let done: any;
  await until('the async call through stable', async () => (done = (await api.get(`/api/executions/${id}`, owner.token)).body.call)?.status === 'succeeded');
  assert.is(done.answer.body, 'v1');
  // live cannot be deleted; another alias can; another user's function's aliases are a 404.
  assert.is((await api.del('/api/functions/split/aliases/live', undefined, owner.token)).status, 409);
  assert.is((await api.del('/api/functions/split/aliases/stable', undefined, owner.token)).status, 204);
  assert.is((await api.get('/api/functions/split/aliases/stable', owner.token)).status, 404);
  assert.is((await api.get('/api/functions/split/aliases', other.token)).status, 404);
  assert.is((await api.patch('/api/functions/split/aliases/live', { weights: null }, owner.token)).body.alias.weights, null);
  assert.is(await body(), 'v2');
  // A new active version (a rollback here; a deploy too) ends a split of live: its weights named the versions before.
  assert.is((await api.patch('/api/functions/split/aliases/live', { weights: { '1': 50, '2': 50 } }, owner.token)).status, 200);
  assert.is((await api.post('/api/functions/split/rollback', { version: 1 }, owner.token)).status, 200);
  const live = (await api.get('/api/functions/split/aliases/live', owner.token)).body.alias;
  assert.equal([live.version, live.weights], [1, null]);
  assert.equal([await body(), await body(), await body()], ['v1', 'v1', 'v1']);
});

s('the startup check: a version that cannot load answers 422 with where it failed, and the previous version stays active and serving', async () => {
  assert.is((await api.post('/api/functions', { name: 'checked' }, owner.token)).status, 201);
  const good = await deploy('checked', `() => new Response('good')`);
  assert.is(good.status, 201, JSON.stringify(good.body));
  const serving = async () => (await api.post('/api/functions/checked/invoke', {}, owner.token)).body.body;
  assert.is(await serving(), 'good');
  const manifest = JSON.stringify({ name: 'checked', entry: 'index.mjs' });
  const cases: [string, string, RegExp][] = [
    ['a syntax error', `export default {\n  fetch() {\n    return new Response('x'\n  }\n};\n`, /SyntaxError.*\(at index\.mjs:\d+\)/],
    ['a throw while loading', `const config = JSON.parse('{');\nexport default () => 1;\n`, /SyntaxError: .*JSON.*\(at index\.mjs:1\)/],
    ['no default export', `export const handler = () => 1;\n`, /must default-export a function or an object with fetch/],
    ['a default export without fetch', `export default { handle() { return 1; } };\n`, /must default-export a function or an object with fetch/],
  ];
  // Each way to fail is the agent's check: the PostgreSQL run checks one (the failed deployment's rows).
  for (const [what, source, detail] of DIALECT === 'sqlite' ? cases : cases.slice(0, 1)) {
    const r = await upload('checked', readFileSync((await makeArtifact({ 'containerpub.json': manifest, 'index.mjs': source })).path));
    assert.is(r.status, 422, `${what}: ${JSON.stringify(r.body)}`);
    assert.is(r.body.code, 'build_failed');
    assert.match(r.body.detail, detail, `${what}: ${r.body.detail}`);
    assert.match(r.body.buildLogTail, 'startup check', what);
    assert.is(r.body.deployment.status, 'failed');
    const fn = await api.get('/api/functions/checked', owner.token);
    assert.is(fn.body.function.activeVersion, 1, `${what}: the version that worked stays active`);
    assert.is(await serving(), 'good', `${what}: and serving`);
  }
});

agentSide('PATCH limits: the next call runs in a new container with them (the warm one is recycled)', async () => {
  await api.post('/api/functions', { name: 'limits', auth: 'public' }, owner.token);
  await deploy('limits', `async () => new Response((await import('node:fs')).readFileSync('/sys/fs/cgroup/memory/memory.limit_in_bytes', 'utf8').trim())`);
  const call = () => api.post('/api/functions/limits/invoke', {}, owner.token);
  assert.is(Number((await call()).body.body), 128 * 2 ** 20);
  assert.not.ok((await call()).body.coldStart, 'warm');
  assert.is((await api.patch('/api/functions/limits', { memoryMb: 256 }, owner.token)).body.function.memoryMb, 256);
  const after = await call();
  assert.ok(after.body.coldStart, 'a new container');
  assert.is(Number(after.body.body), 256 * 2 ** 20);
});

s('env and secrets: masked in every answer, present in the function', async () => {
  await api.post('/api/functions', { name: 'env-echo' }, owner.token);
  await deploy('env-echo', `(req, ctx) => ({ plain: ctx.env.GREETING, secretLength: (ctx.env.API_TOKEN ?? '').length })`);
  const put = await api.call('PUT', '/api/functions/env-echo/env', { body: { vars: { GREETING: 'hello' }, secrets: { API_TOKEN: 'very-secret-value' } }, token: owner.token });
  assert.is(put.status, 200, put.text);
  assert.not.match(put.text, 'very-secret-value');
  assert.ok(put.body.env.some((e: { key: string; secret: boolean; value: string }) => e.key === 'API_TOKEN' && e.secret && e.value !== 'very-secret-value'));
  const r = await api.post('/api/functions/env-echo/invoke', {}, owner.token);
  assert.equal(JSON.parse(r.body.body), { plain: 'hello', secretLength: 17 });
  assert.is((await api.call('PUT', '/api/functions/env-echo/env', { body: { vars: { CPUB_X: 'no' } }, token: owner.token })).status, 400);
  assert.is((await api.del('/api/functions/env-echo/env/GREETING', undefined, owner.token)).status, 204);
  const after = await api.post('/api/functions/env-echo/invoke', {}, owner.token);
  assert.equal(JSON.parse(after.body.body), { secretLength: 17 });
  assert.not.match(server.output(), 'very-secret-value');
});

s('API keys: bearer and signed calls; a signature is accepted once; a revoked key is refused', async () => {
  await api.patch('/api/functions/hello', { auth: 'key' }, owner.token);
  const created = await api.post('/api/functions/hello/keys', { name: 'ci', expiresIn: '1d' }, owner.token);
  assert.is(created.status, 201, created.text);
  const { secret, key } = created.body;
  assert.match(secret, /^cpk_/);
  const listed = await api.get('/api/functions/hello/keys', owner.token);
  assert.not.match(listed.text, secret);
  const url = `${server.url}/fn/${owner.handle}/hello`;
  assert.is((await fetch(url)).status, 401);
  assert.is((await fetch(url, { headers: { authorization: `Bearer ${secret}` } })).status, 201);
  assert.is((await api.post('/api/functions/hello/invoke', {}, secret)).status, 200, 'invoke API with the key');
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = createHmac('sha256', secret).update(`${ts}:signed body`).digest('base64');
  const signed = () => fetch(url, { method: 'POST', headers: { 'x-api-key': key.id, 'x-timestamp': ts, 'x-signature': sig }, body: 'signed body' });
  assert.is((await signed()).status, 201);
  const replay = await signed();
  assert.is(replay.status, 401);
  assert.is(((await replay.json()) as { code: string }).code, 'signature_reused');
  assert.is((await api.del(`/api/functions/hello/keys/${key.id}`, undefined, owner.token)).status, 204);
  const revoked = await fetch(url, { headers: { authorization: `Bearer ${secret}` } });
  assert.is(revoked.status, 401);
  await api.patch('/api/functions/hello', { auth: 'private' }, owner.token);
});

agentSide('credentials never reach the function: Authorization, Cookie and X-Api-Key are stripped', async () => {
  await api.post('/api/functions', { name: 'echo-headers', auth: 'private' }, owner.token);
  assert.is((await deploy('echo-headers', `(req) => Object.fromEntries(req.headers)`)).status, 201);
  const r = await fetch(`${server.url}/fn/${owner.handle}/echo-headers`, { headers: { authorization: `Bearer ${owner.token}`, cookie: 'cpub_session=secret; other=1', 'x-api-key': 'key-secret', 'x-kept': 'yes' } });
  assert.is(r.status, 200);
  const seen = (await r.json()) as Record<string, string>;
  assert.is(seen['x-kept'], 'yes', 'control: other headers pass');
  for (const h of ['authorization', 'cookie', 'x-api-key']) assert.is(seen[h], undefined, `${h} reached the function`);
});

agentSide('failures through the HTTP API: 429 too_many_calls past capacity, 502 function_oom, 502 function_crashed', async () => {
  await api.post('/api/functions', { name: 'busy', auth: 'public', concurrency: 1, maxInstances: 1 }, owner.token);
  assert.is((await deploy('busy', `async () => { await new Promise((r) => setTimeout(r, 1500)); return 'done'; }`)).status, 201);
  const all = await Promise.all([1, 2, 3].map(() => fetch(`${server.url}/fn/${owner.handle}/busy`).then(async (r) => ({ status: r.status, body: (await r.json()) as { code?: string } }))));
  assert.ok(all.some((a) => a.status === 200), JSON.stringify(all));
  const over = all.filter((a) => a.status !== 200);
  assert.ok(over.length >= 1, JSON.stringify(all));
  for (const o of over) assert.equal([o.status, o.body.code], [429, 'too_many_calls']);

  await api.post('/api/functions', { name: 'hog', auth: 'public', memoryMb: 128 }, owner.token);
  assert.is((await deploy('hog', `() => { const keep = []; for (;;) keep.push(Buffer.alloc(16 * 2 ** 20, 1)); }`)).status, 201);
  const oom = await fetch(`${server.url}/fn/${owner.handle}/hog`);
  assert.is(oom.status, 502);
  assert.is(((await oom.json()) as { code: string }).code, 'function_oom');

  await api.post('/api/functions', { name: 'quits', auth: 'public' }, owner.token);
  assert.is((await deploy('quits', `() => process.exit(3)`)).status, 201);
  const crashed = await fetch(`${server.url}/fn/${owner.handle}/quits`);
  assert.is(crashed.status, 502);
  const p = (await crashed.json()) as { code: string; executionId: string };
  assert.is(p.code, 'function_crashed');
  assert.is((await api.get(`/api/executions/${p.executionId}`, owner.token)).body.execution.status, 'crashed');
});

agentSide('queueing: a burst of 4× capacity for 500 ms waits for slots instead of 429s; with queueTimeoutMs 0 it is refused at once, Retry-After from the queue', async () => {
  const made = await api.post('/api/functions', { name: 'queued', auth: 'public', concurrency: 1, maxInstances: 2 }, owner.token);
  assert.equal([made.status, made.body.function.queueTimeoutMs], [201, 1000], made.text);
  assert.is((await deploy('queued', `async () => { await new Promise((r) => setTimeout(r, 40)); return 'ok'; }`)).status, 201);
  const url = `${server.url}/fn/${owner.handle}/queued`;
  await Promise.all([fetch(url), fetch(url)]); // both containers warm
  const statuses: number[] = [];
  const end = Date.now() + 500;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (Date.now() < end) statuses.push((await fetch(url)).status);
  }));
  // 8 callers on 2 slots for the whole 500 ms (each calls again at once): more than 8 answers means slots were handed
  // on to queued calls within the burst (how many more depends on this machine's pace: 14–25 seen).
  assert.ok(statuses.length > 8, `${statuses.length} calls`);
  assert.equal([...new Set(statuses)], [200], `no 429 among ${statuses.length} calls: ${statuses.filter((x) => x !== 200).length} refused`);
  assert.is((await api.patch('/api/functions/queued', { queueTimeoutMs: 0 }, owner.token)).body.function.queueTimeoutMs, 0);
  const burst = await Promise.all(Array.from({ length: 6 }, () => fetch(url)));
  const refused = burst.filter((r) => r.status === 429);
  assert.ok(refused.length >= 1, burst.map((r) => r.status).join(' '));
  for (const r of refused) assert.ok(Number(r.headers.get('retry-after')) >= 1);
  assert.is((await api.patch('/api/functions/queued', { queueTimeoutMs: 30_001 }, owner.token)).status, 400);
});

s('failures have their own codes and execution rows: thrown error 500, timeout 504', async () => {
  await api.post('/api/functions', { name: 'fails', timeoutMs: 1500, auth: 'public' }, owner.token);
  await deploy('fails', `async (req) => { if (new URL(req.url).pathname === '/slow') await new Promise((r) => setTimeout(r, 5000)); throw new Error('kaboom'); }`);
  const thrown = await fetch(`${server.url}/fn/${owner.handle}/fails`);
  assert.is(thrown.status, 500);
  const p = (await thrown.json()) as { code: string; detail: string; executionId: string };
  assert.is(p.code, 'function_error');
  assert.match(p.detail, 'kaboom');
  assert.is((await api.get(`/api/executions/${p.executionId}`, owner.token)).body.execution.status, 'error');
  const slow = await fetch(`${server.url}/fn/${owner.handle}/fails/slow`);
  assert.is(slow.status, 504);
  assert.is(((await slow.json()) as { code: string }).code, 'function_timeout');
  const none = await api.post('/api/functions', { name: 'empty' }, owner.token);
  assert.is(none.status, 201);
  assert.is((await api.post('/api/functions/empty/invoke', {}, owner.token)).status, 409);
});

s('async calls (Prefer: respond-async): 202 once queued, then run; a failing call is retried with backoff and ends a dead letter, listed, replayed, deleted; the function URL queues too', async () => {
  const call = async (id: string) => (await api.get(`/api/executions/${id}`, owner.token)).body.call;
  const settled = async (id: string) => {
    let c: any;
    await until(`call ${id} settled`, async () => ['succeeded', 'failed'].includes((c = await call(id))?.status));
    return c;
  };
  // The API: the call is durable before the 202; its status URL shows the attempt and the answer.
  const q = await api.post('/api/functions/hello/invoke', { method: 'POST', path: '/later', body: 'queued' }, owner.token, { prefer: 'respond-async' });
  assert.is(q.status, 202, q.text);
  assert.equal([q.headers.get('preference-applied'), q.headers.get('location')], ['respond-async', `/api/executions/${q.body.executionId}`]);
  assert.is(q.body.statusUrl, `/api/executions/${q.body.executionId}`);
  const done = await settled(q.body.executionId);
  assert.equal([done.status, done.attempts.length, done.attempts[0].status, done.answer.statusCode], ['succeeded', 1, 'success', 201]);
  assert.equal(JSON.parse(done.answer.body), { path: '/later', q: null, body: 'queued' });
  const attempt = (await api.get(`/api/executions/${done.attempts[0].executionId}`, owner.token)).body.execution;
  assert.equal([attempt.status, attempt.request.path, attempt.callId], ['success', '/later', q.body.executionId], 'each attempt is an execution record linked to its call');
  assert.is((await api.get(`/api/executions/${q.body.executionId}`, other.token)).status, 404, 'another user’s call is a 404');

  // asyncConcurrency 0 holds the queue: a call is accepted and waits (through several dispatch passes) until it is raised.
  assert.is((await api.patch('/api/functions/hello', { asyncConcurrency: 0 }, owner.token)).body.function.asyncConcurrency, 0);
  const held = await api.post('/api/functions/hello/invoke', { method: 'POST', path: '/held' }, owner.token, { prefer: 'respond-async' });
  assert.is(held.status, 202, held.text);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal([(await call(held.body.executionId)).status, (await call(held.body.executionId)).attempts.length], ['queued', 0], 'held while asyncConcurrency is 0');
  assert.is((await api.patch('/api/functions/hello', { asyncConcurrency: -1 }, owner.token)).status, 400);
  await api.patch('/api/functions/hello', { asyncConcurrency: null }, owner.token);
  assert.is((await settled(held.body.executionId)).status, 'succeeded', 'released when raised');

  // A call that always throws: one retry after ≈ 50 ms (maxAttempts 1), then a dead letter with both attempts.
  const patched = await api.patch('/api/functions/fails', { retry: { maxAttempts: 1, backoff: { baseMs: 50, jitter: false } } }, owner.token);
  assert.equal(patched.body.function.retry, { maxAttempts: 1, backoff: { baseMs: 50, maxMs: 60_000, jitter: false }, on: ['error', 'timeout', 'oom', 'crashed', 'agent_lost', 'no_agent'] });
  const typo = await api.patch('/api/functions/fails', { retry: { maxAttempt: 3 } }, owner.token);
  assert.is(typo.status, 400, 'a misspelt retry setting is refused');
  // By the function URL (public): the same 202.
  const byUrl = await fetch(`${server.url}/fn/${owner.handle}/fails`, { method: 'POST', headers: { prefer: 'respond-async' } });
  assert.is(byUrl.status, 202);
  const failed = await settled(((await byUrl.json()) as { executionId: string }).executionId);
  assert.equal([failed.status, failed.trigger, failed.attempts.map((a: { status: string }) => a.status)], ['failed', 'url', ['error', 'error']]);
  assert.ok(Date.parse(failed.attempts[1].startedAt) - Date.parse(failed.attempts[0].startedAt) >= 50, 'the retry waited its backoff');
  assert.is(failed.answer.statusCode, 500);
  assert.is(JSON.parse(failed.answer.body).code, 'function_error');
  // The statistics count the queue's attempts and, of them, the retries.
  await until('the retry in the stats', async () => (await api.get('/api/functions/fails/stats?period=1h', owner.token)).body.retries >= 1);
  const st = (await api.get('/api/functions/fails/stats?period=1h', owner.token)).body;
  assert.ok(st.asyncAttempts >= 2 && st.asyncAttempts <= st.invocations, JSON.stringify(st));
  assert.ok((await api.get('/api/functions/fails/stats/hourly?hours=1', owner.token)).body.buckets[0].retries >= 1);

  // The failed call is a dead letter: listed, replayed once (a new call, which fails again and takes its place), deleted.
  const letters = async (token = owner.token) => api.get('/api/functions/fails/dead-letters', token);
  const [letter] = (await letters()).body.deadLetters;
  assert.equal([letter.id, letter.attempts, letter.lastStatus, letter.request.method, letter.executionId], [failed.id, 2, 'error', 'POST', failed.attempts[1].executionId]);
  assert.is((await letters(other.token)).status, 404, 'another user’s function');
  assert.is((await api.post(`/api/functions/fails/dead-letters/${failed.id}/replay`, undefined, other.token)).status, 404);
  const replayed = await api.post(`/api/functions/fails/dead-letters/${failed.id}/replay`, undefined, owner.token);
  assert.is(replayed.status, 202, replayed.text);
  assert.is((await api.post(`/api/functions/fails/dead-letters/${failed.id}/replay`, undefined, owner.token)).status, 409, 'replayed once only');
  const again = await settled(replayed.body.executionId);
  assert.equal([again.status, again.trigger], ['failed', 'url']);
  assert.equal((await letters()).body.deadLetters.map((d: { id: string }) => d.id), [again.id], 'the replayed one left the list; its replay is there now');
  assert.is((await api.del(`/api/functions/fails/dead-letters/${again.id}`, undefined, owner.token)).status, 204);
  assert.is((await api.del(`/api/functions/fails/dead-letters/${again.id}`, undefined, owner.token)).status, 404);
  assert.equal((await api.del('/api/functions/fails/dead-letters', undefined, owner.token)).body, { deleted: 0 });

  // Refused at once what could never run: no ready version.
  assert.is((await api.post('/api/functions/empty/invoke', {}, owner.token, { prefer: 'respond-async' })).status, 409);
});

s('destinations: a call’s outcome is POSTed, signed, to onSuccess or onFailure, retried until the receiver takes it; private addresses are refused', async () => {
  const got: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  let refuse = 1;
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.statusCode = refuse-- > 0 ? 503 : 204;
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  try {
    assert.is((await api.post('/api/functions', { name: 'notify', retry: { maxAttempts: 0 } }, owner.token)).status, 201);
    await deploy('notify', `async (req) => { if (new URL(req.url).pathname === '/boom') throw new Error('boom'); return new Response('fine'); }`);
    // The operator allows 127.0.0.1 only (CPUB_DESTINATION_ALLOW): other private addresses are refused as they are set.
    const refused = await api.patch('/api/functions/notify', { destinations: { onFailure: 'http://10.0.0.8/hook' } }, owner.token);
    assert.equal([refused.status, refused.body.code], [400, 'destination_not_allowed']);
    assert.match(refused.body.detail, 'destinations.onFailure: 10.0.0.8 is a loopback, link-local, private or reserved address');
    const set = await api.patch('/api/functions/notify', { destinations: { onSuccess: hook, onFailure: hook } }, owner.token);
    assert.equal(set.body.function.destinations, { onSuccess: hook, onFailure: hook });
    assert.is((await api.patch('/api/functions/notify', { destinations: { onSucess: hook } }, owner.token)).status, 400, 'a misspelt destination is refused');
    const secret = (await api.get('/api/functions/notify/destinations/secret', owner.token)).body.secret as string;
    assert.match(secret, /^cpds_/);
    assert.is((await api.get('/api/functions/notify/destinations/secret', owner.token)).body.secret, secret, 'the same secret until rotated');

    const ok = await api.post('/api/functions/notify/invoke', { method: 'POST', path: '/' }, owner.token, { prefer: 'respond-async' });
    // The receiver answers 503 first: the delivery is retried (≈ 1 s) and then taken.
    await until('the success delivered', async () => (await api.get(`/api/executions/${ok.body.executionId}`, owner.token)).body.call.deliveries[0]?.state === 'delivered', 20_000);
    const call = (await api.get(`/api/executions/${ok.body.executionId}`, owner.token)).body.call;
    assert.equal([call.deliveries[0].event, call.deliveries[0].attempts, call.deliveries[0].lastError], ['call.succeeded', 2, null]);
    assert.is((await api.get(`/api/executions/${call.attempts[0].executionId}`, owner.token)).body.execution?.status, 'success', 'its attempt has its execution record, as a call without a destination');
    assert.is(got.length, 2);
    const [first, second] = got;
    assert.is(first!.headers['x-cpub-delivery'], second!.headers['x-cpub-delivery'], 'a retry is the same delivery (receivers de-duplicate by it)');
    const ts = second!.headers['x-cpub-timestamp'] as string;
    assert.is(second!.headers['x-cpub-signature'], createHmac('sha256', secret).update(`${ts}:${second!.body}`).digest('base64'), 'signed with the function’s destination secret');
    const payload = JSON.parse(second!.body);
    assert.equal([payload.event, payload.function.name, payload.call.id, payload.call.status, payload.call.answer.body], ['call.succeeded', 'notify', ok.body.executionId, 'succeeded', 'fine']);

    // A dead letter's outcome goes to onFailure; after a rotation it is signed with the new secret.
    const rotated = (await api.post('/api/functions/notify/destinations/secret', undefined, owner.token)).body.secret as string;
    assert.is.not(rotated, secret);
    const bad = await api.post('/api/functions/notify/invoke', { method: 'POST', path: '/boom' }, owner.token, { prefer: 'respond-async' });
    await until('the failure delivered', async () => got.length === 3);
    const failure = got[2]!;
    assert.equal([JSON.parse(failure.body).event, JSON.parse(failure.body).call.id, failure.headers['x-cpub-event']], ['call.failed', bad.body.executionId, 'call.failed']);
    assert.is(failure.headers['x-cpub-signature'], createHmac('sha256', rotated).update(`${failure.headers['x-cpub-timestamp']}:${failure.body}`).digest('base64'));
    assert.is((await api.get('/api/functions/notify/destinations/secret', other.token)).status, 404);
  } finally {
    receiver.close();
  }
});

s('schedules: @every 1s fires async calls with trigger schedule and the payload; bad cron, unknown fields and another user’s function are refused; pause, resume, delete', async () => {
  const base = '/api/functions/hello/schedules';
  const bad = await api.post(base, { cron: '61 * * * *' }, owner.token);
  assert.equal([bad.status, bad.body.code], [400, 'invalid_schedule']);
  assert.match(bad.body.detail, 'Invalid value for minute: 61');
  assert.equal([(await api.post(base, { cron: '* * * *' }, owner.token)).status, (await api.post(base, { cron: '@every 1s', timezone: 'Mars/Base' }, owner.token)).body.code], [400, 'invalid_schedule']);
  const typo = await api.post(base, { cron: '@every 1s', overlapp: 'skip' }, owner.token);
  assert.is(typo.status, 400);
  assert.match(typo.text, 'overlapp');
  const helloId = (await api.get('/api/functions/hello', owner.token)).body.function.id;
  assert.is((await api.post(`/api/functions/${helloId}/schedules`, { cron: '@every 1s' }, other.token)).status, 404, 'another user’s function is a 404');
  const made = await api.post(base, { cron: '@every 1s', payload: { job: 'tick' } }, owner.token);
  assert.is(made.status, 201, made.text);
  const sch = made.body.schedule;
  assert.equal([sch.cron, sch.timezone, sch.overlap, sch.catchUp, sch.paused, sch.nextRuns.length], ['@every 1s', 'UTC', 'skip', 'none', false, 3]);
  // Its ticks are async calls: each runs, with the payload as its body, recorded with trigger schedule.
  let fired: any;
  await until('a tick fired and its call ran', async () => {
    const now = (await api.get(`${base}/${sch.id}`, owner.token)).body.schedule;
    if (!now.lastCallId) return false;
    fired = (await api.get(`/api/executions/${now.lastCallId}`, owner.token)).body.call;
    return fired?.status === 'succeeded';
  });
  assert.is(fired.trigger, 'schedule');
  assert.equal(JSON.parse(fired.answer.body).body, '{"job":"tick"}');
  const attempt = (await api.get(`/api/executions/${fired.attempts[0].executionId}`, owner.token)).body.execution;
  assert.equal([attempt.trigger, attempt.callId], ['schedule', fired.id]);
  assert.is((await api.get(`/api/functions/${helloId}/schedules/${sch.id}`, other.token)).status, 404);
  // Paused, it fires no more; resumed, it has a next run again.
  const paused = await api.patch(`${base}/${sch.id}`, { paused: true }, owner.token);
  assert.equal([paused.status, paused.body.schedule.paused, paused.body.schedule.nextRunAt], [200, true, null]);
  const firedWhenPaused = paused.body.schedule.fired;
  await new Promise((r) => setTimeout(r, 1500));
  assert.is((await api.get(`${base}/${sch.id}`, owner.token)).body.schedule.fired, firedWhenPaused, 'a paused schedule does not fire');
  const resumed = await api.patch(`${base}/${sch.id}`, { paused: false, cron: '0 2 * * *', timezone: 'Europe/Paris' }, owner.token);
  assert.equal([resumed.body.schedule.paused, new Date(resumed.body.schedule.nextRunAt).getUTCMinutes()], [false, 0]);
  assert.equal((await api.get(base, owner.token)).body.schedules.map((x: { id: string }) => x.id), [sch.id]);
  assert.is((await api.del(`${base}/${sch.id}`, undefined, owner.token)).status, 204);
  assert.is((await api.del(`${base}/${sch.id}`, undefined, owner.token)).status, 404);
});

s('Idempotency-Key: a repeat gets the first call’s execution and answer, concurrent duplicates wait for the first, another request with the key is a 422; async too', async () => {
  await api.post('/api/functions', { name: 'once', auth: 'public', concurrency: 4 }, owner.token);
  const d = await deploy('once', `(() => { let n = 0; return async (req) => { n++; if (new URL(req.url).pathname === '/slow') await new Promise((r) => setTimeout(r, 500)); return new Response(JSON.stringify({ n, body: await req.text() })); }; })()`);
  assert.is(d.status, 201, JSON.stringify(d.body));
  const invoke = (key: string, body: string, headers: Record<string, string> = {}) => api.post('/api/functions/once/invoke', { method: 'POST', body }, owner.token, { 'idempotency-key': key, ...headers });
  const first = await invoke('k1', 'a');
  assert.is(first.status, 200, first.text);
  const again = await invoke('k1', 'a');
  assert.equal([again.body.executionId, again.body.body, again.headers.get('idempotent-replayed')], [first.body.executionId, first.body.body, 'true']);
  assert.is(first.headers.get('idempotent-replayed'), null);
  const reused = await invoke('k1', 'b');
  assert.equal([reused.status, reused.body.code], [422, 'idempotency_key_reused']);
  const badKey = await api.post('/api/functions/once/invoke', {}, owner.token, { 'idempotency-key': 'has space' });
  assert.equal([badKey.status, badKey.body.code], [400, 'invalid_idempotency_key']);
  // Two at once through the URL: one runs, the other waits for its answer.
  const url = `${server.url}/fn/${owner.handle}/once/slow`;
  const both = await Promise.all([0, 1].map(() => fetch(url, { method: 'POST', headers: { 'idempotency-key': 'k2' }, body: 'c' })));
  const ids = both.map((r) => r.headers.get('cpub-execution-id'));
  assert.equal([both[0]!.status, both[1]!.status, ids[0] === ids[1]], [200, 200, true]);
  assert.equal(await Promise.all(both.map((r) => r.text())).then((t) => t[0] === t[1]), true, 'the same answer');
  assert.equal(both.map((r) => r.headers.get('idempotent-replayed')).sort(), ['true', null].sort());
  // Async: the repeat gets the same queued call.
  const q1 = await invoke('k3', 'd', { prefer: 'respond-async' });
  const q2 = await invoke('k3', 'd', { prefer: 'respond-async' });
  assert.equal([q1.status, q2.status, q2.body.executionId, q2.headers.get('idempotent-replayed')], [202, 202, q1.body.executionId, 'true']);
  assert.is((await invoke('k3', 'd')).status, 422, 'a sync call with an async call’s key');
  await until('the queued call ran', async () => (await api.get(`/api/executions/${q1.body.executionId}`, owner.token)).body.call?.status === 'succeeded');
  // Each key ran the function once: three records.
  const records = (await api.get('/api/functions/once/executions?limit=50', owner.token)).body.executions;
  assert.is(records.length, 3, JSON.stringify(records.map((e: { request: unknown }) => e.request)));
});

s('logs (recent and followed live over SSE) and stats (period, hourly buckets, overview)', async () => {
  const recent = await api.get('/api/functions/hello/logs?since=1h', owner.token);
  assert.is(recent.status, 200);
  assert.ok(recent.body.lines.some((l: { message: string; executionId: string }) => l.message === 'hi from hello' && l.executionId), recent.text);
  // Follow: lines of a call made while the stream is open arrive live.
  const ctl = new AbortController();
  const res = await fetch(`${server.url}/api/functions/env-echo/logs?follow=true`, { headers: { authorization: `Bearer ${owner.token}` }, signal: ctl.signal });
  assert.is(res.headers.get('content-type')?.split(';')[0], 'text/event-stream');
  await api.post('/api/functions', { name: 'talker' }, owner.token);
  await deploy('talker', `async (req, ctx) => { console.log('live line', ctx.invocationId); return new Response('ok'); }`);
  const followed = await fetch(`${server.url}/api/functions/talker/logs?follow=true`, { headers: { authorization: `Bearer ${owner.token}` }, signal: ctl.signal });
  const reader = followed.body!.getReader();
  const call = await api.post('/api/functions/talker/invoke', {}, owner.token);
  let text = '';
  const end = Date.now() + 10_000;
  while (!text.includes(`live line ${call.body.executionId}`) && Date.now() < end) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += new TextDecoder().decode(chunk.value);
  }
  ctl.abort();
  assert.match(text, `live line ${call.body.executionId}`);
  assert.match(text, 'event: log');

  // A cold start to count (a deploy's startup check leaves a warm container): new limits recycle it.
  assert.is((await api.patch('/api/functions/hello', { memoryMb: 192 }, owner.token)).status, 200);
  assert.ok((await api.post('/api/functions/hello/invoke', {}, owner.token)).body.coldStart, 'a cold start');
  await until('the cold start is counted', async () => (await api.get('/api/functions/hello/stats?period=24h', owner.token)).body.coldStarts >= 1, 10_000);
  const st = await api.get('/api/functions/hello/stats?period=24h', owner.token);
  assert.is(st.status, 200, st.text);
  assert.ok(st.body.invocations >= 5, st.text);
  assert.ok(st.body.latencyMs.p50 > 0 && st.body.latencyMs.p99 >= st.body.latencyMs.p50);
  assert.ok(st.body.coldStarts >= 1);
  const hourly = await api.get('/api/functions/hello/stats/hourly?hours=3', owner.token);
  assert.is(hourly.body.buckets.length, 3);
  assert.is(hourly.body.buckets.reduce((n: number, b: { invocations: number }) => n + b.invocations, 0), st.body.invocations);
  assert.is((await api.get('/api/functions/hello/stats/hourly?hours=999', owner.token)).status, 400);
  assert.is((await api.get('/api/functions/hello/stats?period=2y', owner.token)).status, 400);
  const overview = await api.get('/api/stats/overview?period=24h', owner.token);
  assert.ok(overview.body.invocations > st.body.invocations, 'the overview counts every function of the user');
  assert.is((await api.get('/api/stats/overview', other.token)).body.invocations, 0, 'and only theirs');
  assert.is((await api.get('/api/stats/overview/daily?days=2', owner.token)).body.buckets.length, 2);
});

s('records as the operator chooses: executionRetention and executionSampling (a sampled success says so and has no record, but counts in the stats)', async () => {
  for (const [patch, field] of [
    [{ executionRetention: '7x' }, 'executionRetention'],
    [{ executionRetention: '0d' }, 'executionRetention'],
    [{ executionRetention: '401d' }, 'executionRetention'],
    [{ executionSampling: -1 }, 'executionSampling'],
    [{ executionSampling: 1.5 }, 'executionSampling'],
    [{ executionSamplng: 5 }, 'executionSamplng'],
  ] as const) {
    const r = await api.patch('/api/functions/hello', patch, owner.token);
    assert.is(r.status, 400, JSON.stringify(patch));
    assert.match(r.text, field);
  }
  const set = await api.patch('/api/functions/hello', { executionRetention: '3d', executionSampling: 0 }, owner.token);
  assert.equal([set.body.function.executionRetention, set.body.function.executionSampling], ['3d', 0]);
  const before = (await api.get('/api/functions/hello/stats?period=1h', owner.token)).body.invocations as number;

  const sampled = await api.post('/api/functions/hello/invoke', {}, owner.token);
  assert.equal([sampled.status, sampled.body.sampled, sampled.body.coldStart], [200, true, false], sampled.text);
  assert.is((await api.get(`/api/executions/${sampled.body.executionId}`, owner.token)).status, 404, 'no record of a sampled call');
  const url = await fetch(`${server.url}/fn/${owner.handle}/hello`, { headers: { authorization: `Bearer ${owner.token}` } });
  await url.arrayBuffer();
  assert.equal([url.ok, url.headers.get('cpub-sampled')], [true, 'true']);
  // A cold start is always recorded: new limits recycle the warm container.
  assert.is((await api.patch('/api/functions/hello', { memoryMb: 160 }, owner.token)).status, 200);
  const cold = await api.post('/api/functions/hello/invoke', {}, owner.token);
  assert.equal([cold.body.coldStart, cold.body.sampled], [true, false]);
  assert.is((await api.get(`/api/executions/${cold.body.executionId}`, owner.token)).status, 200);
  await until('the three calls are counted', async () => (await api.get('/api/functions/hello/stats?period=1h', owner.token)).body.invocations === before + 3, 10_000);

  const reset = await api.patch('/api/functions/hello', { executionRetention: null, executionSampling: null }, owner.token);
  assert.equal([reset.body.function.executionRetention, reset.body.function.executionSampling], [null, null]);
  const kept = await api.post('/api/functions/hello/invoke', {}, owner.token);
  assert.is(kept.body.sampled, false);
  const keptUrl = await fetch(`${server.url}/fn/${owner.handle}/hello`, { headers: { authorization: `Bearer ${owner.token}` } });
  await keptUrl.arrayBuffer();
  assert.is(keptUrl.headers.get('cpub-sampled'), null);
  assert.is((await api.get(`/api/executions/${kept.body.executionId}`, owner.token)).status, 200);
});

agentSide('the examples deploy and answer: hello (TypeScript), hono-app (two routes), env-echo (a secret proven, not shown)', async () => {
  const packed = async (name: string) => (await packFunction(join(repoRoot, 'examples', name))).bytes;
  for (const name of ['hello', 'hono-app', 'env-echo']) {
    const fn = `ex-${name}`;
    assert.is((await api.post('/api/functions', { name: fn, auth: 'public' }, owner.token)).status, 201);
    const d = await upload(fn, await packed(name));
    assert.is(d.status, 201, JSON.stringify(d.body));
  }
  const hello = await fetch(`${server.url}/fn/${owner.handle}/ex-hello?name=Ada`);
  assert.equal(((await hello.json()) as { message: string }).message, 'Hello, Ada!');
  const hono = await fetch(`${server.url}/fn/${owner.handle}/ex-hono-app/users/42?x=1`);
  assert.equal(await hono.json(), { id: '42', query: { x: '1' } });
  await api.call('PUT', '/api/functions/ex-env-echo/env', { body: { vars: { GREETING: 'hi' }, secrets: { API_TOKEN: 'sixteen-chars-ok' } }, token: owner.token });
  const envEcho = await fetch(`${server.url}/fn/${owner.handle}/ex-env-echo`);
  assert.equal(await envEcho.json(), { greeting: 'hi', secretPresent: true, secretLength: 16 });
});

s('GET /metrics: Prometheus text for admins (calls by function and status, nodes by status); others refused', async () => {
  const m = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${owner.token}` } });
  assert.is(m.status, 200);
  const text = await m.text();
  assert.match(text, /cpub_invocations_total\{function_id="[^"]+",function="hello",status="success"\} \d+/);
  assert.match(text, /cpub_invocation_duration_seconds_bucket\{/);
  assert.match(text, /cpub_build_duration_seconds_count\{result="ready"\} \d+/);
  assert.match(text, /cpub_nodes\{status="up"\} 1/);
  // The queue: attempts by result (the async case's retried call), and the gauges of queued calls and dead letters.
  assert.match(text, /cpub_async_attempts_total\{function_id="[^"]+",function="fails",result="retry"\} [1-9]/);
  assert.match(text, /cpub_async_attempts_total\{function_id="[^"]+",function="fails",result="failed"\} [1-9]/);
  assert.match(text, /# TYPE cpub_async_calls gauge/);
  assert.match(text, /# TYPE cpub_async_oldest_queued_seconds gauge/);
  assert.is((await fetch(`${server.url}/metrics`)).status, 401);
  assert.is((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${other.token}` } })).status, 403);
  // A scraper with CPUB_METRICS_TOKEN, and nothing with a wrong one.
  const scraped = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.is(scraped.status, 200);
  assert.match(await scraped.text(), 'cpub_invocations_total');
  assert.is((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } })).status, 401);
});

s('delete: 204, and within seconds no container, image, artifact, key, env entry or execution of it remains', async () => {
  const fn = (await api.get('/api/functions/fails', owner.token)).body.function as { id: string };
  const digest = (await api.get('/api/functions/fails/deployments/1', owner.token)).body.deployment.digest as string;
  await api.post('/api/functions/fails/keys', { name: 'k' }, owner.token);
  await api.call('PUT', '/api/functions/fails/env', { body: { vars: { A: 'b' } }, token: owner.token });
  const executions = (await api.get('/api/functions/fails/executions', owner.token)).body.executions as { id: string }[];
  assert.ok(executions.length > 0);
  assert.ok(existsSync(join(server.dataDir, 'artifacts', 'sha256', digest)));
  assert.is((await api.del('/api/functions/fails', undefined, owner.token)).status, 204);
  assert.is((await api.get('/api/functions/fails', owner.token)).status, 404);
  assert.is((await fetch(`${server.url}/fn/${owner.handle}/fails`)).status, 404);
  assert.is((await api.get(`/api/executions/${executions[0]!.id}`, owner.token)).status, 404);
  // Asynchronously: a blocked event loop would miss the server closing idle keep-alive connections, and the
  // next request would go out on a closed one.
  // A listing can fail while another test removes an image (Podman 4.3): that counts as "not yet", not as an answer.
  const podman = async (...args: string[]) => (await execFileP('podman', args, { encoding: 'utf8' }).catch((e: Error) => ({ stdout: `failed: ${e.message}` }))).stdout.trim();
  await until(
    'containers, images and the artifact gone',
    async () =>
      (await podman('ps', '-a', '-q', '--filter', `label=containerpub.function=${fn.id}`)) === '' &&
      (await podman('ps', '-a', '-q', '--filter', `name=cpub-${fn.id.slice(0, 12)}`)) === '' &&
      (await podman('images', '-q', '--filter', `label=containerpub.function=${fn.id}`)) === '' &&
      !existsSync(join(server.dataDir, 'artifacts', 'sha256', digest)),
    30_000,
  );
});

s('an agent killed mid-call: 502 agent_lost well before the deadline, and the execution says so', async () => {
  await api.post('/api/functions', { name: 'sleepy', auth: 'public', timeoutMs: 20_000 }, owner.token);
  await deploy('sleepy', `async () => { await new Promise((r) => setTimeout(r, 10_000)); return new Response('late'); }`);
  const t0 = Date.now();
  const call = fetch(`${server.url}/fn/${owner.handle}/sleepy`);
  await new Promise((r) => setTimeout(r, 1500));
  agent.proc.kill('SIGKILL');
  try {
    const res = await call.catch((err: Error) => {
      throw new Error(`${err.message} (${String(err.cause)}); the server said:\n${server.output().slice(-4000)}`);
    });
    const took = Date.now() - t0;
    assert.is(res.status, 502);
    const p = (await res.json()) as { code: string; executionId: string };
    assert.is(p.code, 'agent_lost');
    assert.ok(took < 8000, `answered after ${took} ms, not at the deadline`);
    assert.is((await api.get(`/api/executions/${p.executionId}`, owner.token)).body.execution.status, 'agent_lost');
    // With no agent, a new version's build fails (after CPUB_BUILD_AGENT_WAIT): 422, and v1 stays active.
    const failed = await deploy('sleepy', `() => new Response('v2')`);
    assert.is(failed.status, 422, JSON.stringify(failed.body));
    assert.equal([failed.body.code, failed.body.deployment.version, failed.body.deployment.status], ['build_failed', 2, 'failed']);
    assert.is((await api.get('/api/functions/sleepy', owner.token)).body.function.activeVersion, 1);
  } finally {
    // The agent comes back (a new epoch; it removes what the dead one left) and stops cleanly after.
    agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: agentDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN });
  }
});

s('the server stopped (SIGTERM) with a call running past its grace: the call’s execution row is still written', async () => {
  await api.post('/api/functions', { name: 'outlives', auth: 'public', timeoutMs: 20_000 }, owner.token);
  await deploy('outlives', `async () => { await new Promise((r) => setTimeout(r, 12_000)); return new Response('late'); }`);
  const call = fetch(`${server.url}/fn/${owner.handle}/outlives`).then(
    (r) => r.status,
    () => 'cut',
  );
  await new Promise((r) => setTimeout(r, 1000));
  const dir = server.dataDir;
  const exited = new Promise((r) => server.proc.once('exit', r));
  server.proc.kill('SIGTERM');
  await exited;
  assert.is(await call, 'cut', 'the call outlived the 5 s grace, so its connection was cut');
  // The same data folder, a new process (it dials the agent from the nodes table).
  const restarted = await startServer({ CPUB_DATA_DIR: dir, CPUB_JOIN_TOKEN: JOIN, ...dbEnv });
  server = restarted;
  leftovers.push(dir);
  api = client(server.url);
  const token = (await api.post('/api/auth/login', { email: 'owner@example.com', password: 'password-for-tests-1' })).body.accessToken as string;
  const rows = (await api.get('/api/functions/outlives/executions', token)).body.executions as { status: string; error: string }[];
  assert.is(rows.length, 1, 'one row for the call');
  assert.is(rows[0]!.status, 'agent_lost', JSON.stringify(rows));
});

s.run();
