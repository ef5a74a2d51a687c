// The route × role matrix (issue 21), on SQLite and on PostgreSQL, against a real server: every API route that
// touches a team's resources, asked by each role of the team (viewer, developer, admin, owner), by someone of
// another team, and by nobody. Another team's resource is a 404, a forbidden action on one's own team's is a 403
// (role_forbids), anonymous is a 401 — and a role that may do it gets past the check (its answer is neither).
// The expected table below is written out by hand, apart from the code's roles table: and every route the
// server documents is either in it or named as not a team route, so a new route cannot slip past.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, type RunningServer } from './helpers/server.js';
import { client } from './helpers/http.js';
import { createTestDatabase } from './helpers/postgres.js';
import { loud } from './helpers/hooks.js';
import { rawTarGz } from './helpers/raw-tar.js';
import { BASIC } from './helpers/hostile-artifacts.js';
import { connectDb } from '../control-plane/src/db/connect.js';
import { deploymentsRepo } from '../control-plane/src/deployments/deployments.repo.js';

type Role = 'viewer' | 'developer' | 'admin' | 'owner';
const ROLES: Role[] = ['viewer', 'developer', 'admin', 'owner'];
const rank = (r: Role) => ROLES.indexOf(r);

/** Routes that are not a team's: accounts, the server's administration, the fleet, teams one is not in yet. */
const NOT_TEAM_ROUTES = new Set([
  'GET /health',
  'GET /ready',
  'POST /api/auth/register',
  'POST /api/auth/login',
  'POST /api/auth/refresh',
  'POST /api/auth/logout',
  'GET /api/users/me',
  'PATCH /api/users/me',
  'DELETE /api/users/me',
  'POST /api/users/me/password',
  'GET /api/users',
  'PATCH /api/users/{id}',
  'POST /api/agents/register',
  'GET /api/nodes',
  'GET /api/nodes/{id}',
  'POST /api/nodes/{id}/drain',
  'POST /api/nodes/{id}/undrain',
  'GET /api/audit', // server administrators: its own case below
  'POST /api/teams', // anyone signed in
  'GET /api/teams', // one's own teams
  'POST /api/invitations/{token}/accept', // the invitee: its own case below
  'POST /api/tokens', // one's own personal access tokens: their own case below
  'GET /api/tokens',
  'DELETE /api/tokens/{id}',
  'PUT /api/teams/{team}/quotas', // server administrators: its own case below
]);

interface Case {
  method: string;
  /** The route as documented. */
  route: string;
  /** The least role that may do it. */
  min: Role;
  /** What the placeholders are (fresh ones per request for what a request uses up), and the body. */
  params?: (ctx: Ctx) => Promise<Record<string, string>> | Record<string, string>;
  body?: (ctx: Ctx) => unknown;
  /** A raw body (an upload). */
  raw?: () => { bytes: Buffer; type: string };
  /** Told apart from another case of the same route. */
  note?: string;
}

interface Ctx {
  owner: string;
  fnId: string;
  fresh: (what: string) => string;
  as: (token: string) => ReturnType<typeof teamClient>;
}

const teamClient = (url: string, token: string | undefined, team: string | undefined) => {
  const headers: Record<string, string> = team ? { 'cpub-team': team } : {};
  const api = client(url, headers);
  return (method: string, path: string, body?: unknown) => api.call(method, path, { token, ...(body === undefined ? {} : { body }) });
};

const TEAM = 'acme';
const artifact = () => ({ bytes: rawTarGz([BASIC.manifest, BASIC.entry]), type: 'application/gzip' });

const CASES: Case[] = [
  // functions
  { method: 'GET', route: '/api/functions', min: 'viewer' },
  { method: 'POST', route: '/api/functions', min: 'admin', body: (c) => ({ name: c.fresh('new'), team: TEAM }) },
  { method: 'GET', route: '/api/functions/{ref}', min: 'viewer' },
  { method: 'PATCH', route: '/api/functions/{ref}', min: 'admin', body: () => ({ memoryMb: 128 }) },
  { method: 'DELETE', route: '/api/functions/{ref}', min: 'admin', params: async (c) => ({ ref: await freshFunction(c) }) },
  // versions
  { method: 'POST', route: '/api/functions/{ref}/deployments', min: 'developer', raw: artifact },
  { method: 'GET', route: '/api/functions/{ref}/deployments', min: 'viewer' },
  { method: 'GET', route: '/api/functions/{ref}/deployments/{version}', min: 'viewer', params: () => ({ version: '1' }) },
  { method: 'GET', route: '/api/functions/{ref}/deployments/{version}/logs', min: 'viewer', params: () => ({ version: '1' }) },
  { method: 'POST', route: '/api/functions/{ref}/rollback', min: 'developer', body: () => ({ version: 1 }) },
  // calls: a viewer only where the function allows it
  { method: 'POST', route: '/api/functions/{ref}/invoke', min: 'developer', body: () => ({}) },
  { method: 'POST', route: '/api/functions/{ref}/invoke', min: 'viewer', note: 'viewerInvoke', params: () => ({ ref: 'open' }), body: () => ({}) },
  // keys
  { method: 'POST', route: '/api/functions/{ref}/keys', min: 'admin', body: () => ({ name: 'k' }) },
  { method: 'GET', route: '/api/functions/{ref}/keys', min: 'admin' },
  { method: 'DELETE', route: '/api/functions/{ref}/keys/{keyId}', min: 'admin', params: async (c) => ({ keyId: await freshKey(c) }) },
  { method: 'POST', route: '/api/functions/{ref}/keys/{keyId}/roll', min: 'admin', params: async (c) => ({ keyId: await freshKey(c) }) },
  // dead letters
  { method: 'GET', route: '/api/functions/{ref}/dead-letters', min: 'viewer' },
  { method: 'DELETE', route: '/api/functions/{ref}/dead-letters', min: 'developer' },
  { method: 'POST', route: '/api/functions/{ref}/dead-letters/{id}/replay', min: 'developer', params: () => ({ id: '00000000-0000-7000-8000-000000000000' }) },
  { method: 'DELETE', route: '/api/functions/{ref}/dead-letters/{id}', min: 'developer', params: () => ({ id: '00000000-0000-7000-8000-000000000000' }) },
  // schedules
  { method: 'GET', route: '/api/functions/{ref}/schedules', min: 'viewer' },
  { method: 'POST', route: '/api/functions/{ref}/schedules', min: 'developer', body: () => ({ cron: '0 2 * * *', paused: true }) },
  { method: 'GET', route: '/api/functions/{ref}/schedules/{id}', min: 'viewer', params: async (c) => ({ id: await freshSchedule(c) }) },
  { method: 'PATCH', route: '/api/functions/{ref}/schedules/{id}', min: 'developer', params: async (c) => ({ id: await freshSchedule(c) }), body: () => ({ paused: true }) },
  { method: 'DELETE', route: '/api/functions/{ref}/schedules/{id}', min: 'developer', params: async (c) => ({ id: await freshSchedule(c) }) },
  // aliases
  { method: 'GET', route: '/api/functions/{ref}/aliases', min: 'viewer' },
  { method: 'POST', route: '/api/functions/{ref}/aliases', min: 'developer', body: (c) => ({ name: c.fresh('a'), version: 1 }) },
  { method: 'GET', route: '/api/functions/{ref}/aliases/{name}', min: 'viewer', params: () => ({ name: 'live' }) },
  { method: 'PATCH', route: '/api/functions/{ref}/aliases/{name}', min: 'developer', params: () => ({ name: 'live' }), body: () => ({ weights: null }) },
  { method: 'DELETE', route: '/api/functions/{ref}/aliases/{name}', min: 'developer', params: () => ({ name: 'live' }) },
  // scaling and canaries
  { method: 'GET', route: '/api/functions/{ref}/scaling', min: 'viewer' },
  { method: 'GET', route: '/api/functions/{ref}/canaries', min: 'viewer' },
  { method: 'POST', route: '/api/functions/{ref}/canaries', min: 'developer', body: () => ({ version: 1, percent: 10, windowMs: 600_000 }) },
  { method: 'POST', route: '/api/functions/{ref}/canaries/promote', min: 'developer' },
  { method: 'POST', route: '/api/functions/{ref}/canaries/abort', min: 'developer' },
  // destinations' signing secret: a secret
  { method: 'GET', route: '/api/functions/{ref}/destinations/secret', min: 'admin' },
  { method: 'POST', route: '/api/functions/{ref}/destinations/secret', min: 'admin' },
  // env: a developer sets and unsets, reads plain values, never a secret's
  { method: 'GET', route: '/api/functions/{ref}/env', min: 'viewer' },
  { method: 'PUT', route: '/api/functions/{ref}/env', min: 'developer', body: () => ({ vars: { A: '1' }, secrets: { B: '2' } }) },
  { method: 'GET', route: '/api/functions/{ref}/env/{key}', min: 'viewer', note: 'a plain var', params: () => ({ key: 'PLAIN' }) },
  { method: 'GET', route: '/api/functions/{ref}/env/{key}', min: 'admin', note: 'a secret', params: () => ({ key: 'SECRET' }) },
  { method: 'DELETE', route: '/api/functions/{ref}/env/{key}', min: 'developer', params: async (c) => ({ key: await freshVar(c) }) },
  // records and numbers
  { method: 'GET', route: '/api/functions/{ref}/executions', min: 'viewer' },
  { method: 'GET', route: '/api/executions/{id}', min: 'viewer', params: async (c) => ({ id: await queuedCall(c) }) },
  { method: 'GET', route: '/api/functions/{ref}/logs', min: 'viewer' },
  { method: 'GET', route: '/api/functions/{ref}/stats', min: 'viewer' },
  { method: 'GET', route: '/api/functions/{ref}/stats/hourly', min: 'viewer' },
  { method: 'GET', route: '/api/functions/{ref}/stats/daily', min: 'viewer' },
  { method: 'GET', route: '/api/stats/overview', min: 'viewer' },
  { method: 'GET', route: '/api/stats/overview/hourly', min: 'viewer' },
  { method: 'GET', route: '/api/stats/overview/daily', min: 'viewer' },
  // the team itself
  { method: 'GET', route: '/api/teams/{team}', min: 'viewer' },
  { method: 'DELETE', route: '/api/teams/{team}', min: 'owner', params: async (c) => ({ team: await freshTeam(c) }) },
  { method: 'GET', route: '/api/teams/{team}/members', min: 'viewer' },
  { method: 'PATCH', route: '/api/teams/{team}/members/{member}', min: 'owner', params: () => ({ member: 'view@example.com' }), body: () => ({ role: 'viewer' }) },
  { method: 'DELETE', route: '/api/teams/{team}/members/{member}', min: 'owner', params: async (c) => ({ member: await freshMember(c) }) },
  { method: 'POST', route: '/api/teams/{team}/invitations', min: 'owner', body: (c) => ({ email: `${c.fresh('i')}@example.com`, role: 'viewer' }) },
  { method: 'GET', route: '/api/teams/{team}/invitations', min: 'owner' },
  { method: 'DELETE', route: '/api/teams/{team}/invitations/{id}', min: 'owner', params: async (c) => ({ id: await freshInvitation(c) }) },
  { method: 'GET', route: '/api/teams/{team}/audit', min: 'admin' },
  { method: 'GET', route: '/api/teams/{team}/usage', min: 'viewer' },
  { method: 'POST', route: '/api/teams/{team}/tokens', min: 'admin', body: () => ({ name: 'ci', scopes: ['functions:read'] }) },
  { method: 'GET', route: '/api/teams/{team}/tokens', min: 'admin' },
  { method: 'DELETE', route: '/api/teams/{team}/tokens/{id}', min: 'admin', params: async (c) => ({ id: (await serviceToken(c, ['functions:read'])).id }) },
  // alerts: seen by everyone in the team, silenced by developers, rules and channels by admins
  { method: 'GET', route: '/api/alerts', min: 'viewer' },
  { method: 'GET', route: '/api/alerts/rules', min: 'viewer' },
  { method: 'POST', route: '/api/alerts/rules', min: 'admin', body: () => ({ kind: 'oom', function: 'api' }) },
  { method: 'PATCH', route: '/api/alerts/rules/{id}', min: 'admin', params: async (c) => ({ id: await freshAlertThing(c, 'rules', { kind: 'oom' }, 'rule') }), body: () => ({ enabled: false }) },
  { method: 'DELETE', route: '/api/alerts/rules/{id}', min: 'admin', params: async (c) => ({ id: await freshAlertThing(c, 'rules', { kind: 'oom' }, 'rule') }) },
  { method: 'GET', route: '/api/alerts/channels', min: 'viewer' },
  { method: 'POST', route: '/api/alerts/channels', min: 'admin', body: (c) => ({ name: c.fresh('ch'), type: 'webhook', url: 'https://alerts.invalid/hook' }) },
  { method: 'DELETE', route: '/api/alerts/channels/{id}', min: 'admin', params: async (c) => ({ id: await freshAlertThing(c, 'channels', { name: c.fresh('ch'), type: 'slack', url: 'https://alerts.invalid/slack' }, 'channel') }) },
  { method: 'POST', route: '/api/alerts/channels/{id}/test', min: 'admin', params: async (c) => ({ id: await freshAlertThing(c, 'channels', { name: c.fresh('ch'), type: 'slack', url: 'https://alerts.invalid/slack' }, 'channel') }) },
  { method: 'GET', route: '/api/alerts/silences', min: 'viewer' },
  { method: 'POST', route: '/api/alerts/silences', min: 'developer', body: () => ({ kind: 'oom', durationSec: 600 }) },
  { method: 'DELETE', route: '/api/alerts/silences/{id}', min: 'developer', params: async (c) => ({ id: await freshAlertThing(c, 'silences', { kind: 'oom', durationSec: 600 }, 'silence') }) },
];

/** A rule, channel or silence of the team, made by its owner. */
async function freshAlertThing(c: Ctx, what: 'rules' | 'channels' | 'silences', body: object, key: 'rule' | 'channel' | 'silence'): Promise<string> {
  const r = await c.as(c.owner)('POST', `/api/alerts/${what}`, body);
  await ok(r, `a ${key}`);
  return r.body[key].id;
}

/** A service token of the team, made by its owner. */
async function serviceToken(c: Ctx, scopes: string[]): Promise<{ id: string; secret: string }> {
  const r = await c.as(c.owner)('POST', `/api/teams/${TEAM}/tokens`, { name: c.fresh('svc'), scopes });
  await ok(r, 'a service token');
  return { id: r.body.token.id, secret: r.body.secret };
}

// What the cases use up, made fresh by the owner for each request.
async function ok(r: { status: number; text: string }, what: string): Promise<void> {
  assert.ok(r.status < 300, `${what}: ${r.status} ${r.text}`);
}
async function freshFunction(c: Ctx): Promise<string> {
  const name = c.fresh('tmp');
  await ok(await c.as(c.owner)('POST', '/api/functions', { name, team: TEAM }), 'a function to delete');
  return name;
}
async function freshKey(c: Ctx): Promise<string> {
  const r = await c.as(c.owner)('POST', '/api/functions/api/keys', { name: c.fresh('key') });
  await ok(r, 'a key');
  return r.body.key.id;
}
async function freshSchedule(c: Ctx): Promise<string> {
  const r = await c.as(c.owner)('POST', '/api/functions/api/schedules', { cron: '0 3 * * *', paused: true });
  await ok(r, 'a schedule');
  return r.body.schedule.id;
}
async function freshVar(c: Ctx): Promise<string> {
  const key = c.fresh('V').replace(/-/g, '_');
  await ok(await c.as(c.owner)('PUT', '/api/functions/api/env', { vars: { [key]: 'x' } }), 'a var');
  return key;
}
async function freshInvitation(c: Ctx): Promise<string> {
  const r = await c.as(c.owner)('POST', `/api/teams/${TEAM}/invitations`, { email: `${c.fresh('inv')}@example.com`, role: 'viewer' });
  await ok(r, 'an invitation');
  return r.body.invitation.id;
}
let queued: string | undefined;
/**
 * A call of the team's function, queued (Prefer: respond-async). There is no agent here to build a version: one
 * is marked ready in the server's database, as a build would, so the call is accepted.
 */
async function queuedCall(c: Ctx): Promise<string> {
  if (queued) return queued;
  const db = connectDb({ dataDir: server.dataDir, databaseUrl: dbUrl });
  try {
    await deploymentsRepo.insertDeployment(db.kysely, { function_id: c.fnId, version: 99, digest: 'd'.repeat(64), size_bytes: 1, entry: 'index.mjs', status: 'ready', image: 'x', node_id: null, error: null, created_at: Date.now(), finished_at: Date.now() });
    await deploymentsRepo.activate(db.kysely, c.fnId, 99, Date.now());
  } finally {
    await db.close();
  }
  const r = await client(server.url, { 'cpub-team': TEAM, prefer: 'respond-async' }).call('POST', '/api/functions/api/invoke', { token: c.owner, body: {} });
  assert.is(r.status, 202, r.text);
  return (queued = r.body.executionId as string);
}
/** A new person who joins the team as a viewer (for a removal). */
async function freshMember(c: Ctx): Promise<string> {
  const email = `${c.fresh('m')}@example.com`;
  const token = await account(email);
  const inv = await c.as(c.owner)('POST', `/api/teams/${TEAM}/invitations`, { email, role: 'viewer' });
  await ok(inv, 'an invitation');
  await ok(await teamClient(server.url, token, undefined)('POST', `/api/invitations/${inv.body.invitation.token}/accept`), 'accepted');
  return email;
}
/** A new team of the owner's where everyone of the matrix has their role. */
async function freshTeam(c: Ctx): Promise<string> {
  const handle = c.fresh('t');
  await ok(await c.as(c.owner)('POST', '/api/teams', { name: handle, handle }), 'a team');
  for (const role of ['admin', 'developer', 'viewer'] as const) {
    const inv = await teamClient(server.url, c.owner, undefined)('POST', `/api/teams/${handle}/invitations`, { email: EMAIL[role], role });
    await ok(inv, 'an invitation');
    await ok(await teamClient(server.url, tokens[role], undefined)('POST', `/api/invitations/${inv.body.invitation.token}/accept`), 'accepted');
  }
  return handle;
}

const EMAIL: Record<Role | 'outsider', string> = { owner: 'own@example.com', admin: 'adm@example.com', developer: 'dev@example.com', viewer: 'view@example.com', outsider: 'out@example.com' };
let server: RunningServer;
let dbUrl: string | undefined;
let tokens: Record<Role | 'outsider', string>;

async function account(email: string): Promise<string> {
  const api = client(server.url);
  const reg = await api.post('/api/auth/register', { email, password: 'password-for-tests-1' });
  assert.is(reg.status, 201, reg.text);
  return (await api.post('/api/auth/login', { email, password: 'password-for-tests-1' })).body.accessToken;
}

const fill = (route: string, p: Record<string, string>) => route.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(p[k] ?? `{${k}}`));

for (const dialect of ['sqlite', 'postgres'] as const) {
  const s = suite(`team access [${dialect}]`);
  let dropDb: (() => Promise<void>) | undefined;
  let fnId = '';
  let n = 0;
  const ctx = (): Ctx => ({ owner: tokens.owner, fnId, fresh: (what) => `${what}-${++n}`, as: (token) => teamClient(server.url, token, TEAM) });

  s.before(
    loud(async () => {
      let dbEnv = {};
      if (dialect === 'postgres') {
        const db = await createTestDatabase();
        dropDb = db.drop;
        dbEnv = { DATABASE_URL: db.url };
      }
      dbUrl = dialect === 'postgres' ? (dbEnv as { DATABASE_URL: string }).DATABASE_URL : undefined;
      queued = undefined;
      server = await startServer({ CPUB_BUILD_AGENT_WAIT: '1s', ...dbEnv });
      tokens = {} as typeof tokens;
      for (const [who, email] of Object.entries(EMAIL)) tokens[who as Role] = await account(email);
      const own = teamClient(server.url, tokens.owner, undefined);
      await ok(await own('POST', '/api/teams', { name: 'Acme', handle: TEAM }), 'the team');
      for (const role of ['admin', 'developer', 'viewer'] as const) {
        const inv = await own('POST', `/api/teams/${TEAM}/invitations`, { email: EMAIL[role], role });
        assert.is(inv.status, 201, inv.text);
        assert.ok(inv.body.invitation.token, 'the token is shown once');
        const joined = await teamClient(server.url, tokens[role], undefined)('POST', `/api/invitations/${inv.body.invitation.token}/accept`);
        assert.equal([joined.status, joined.body.team?.role], [200, role], joined.text);
      }
      const inTeam = teamClient(server.url, tokens.owner, TEAM);
      const fn = await inTeam('POST', '/api/functions', { name: 'api' });
      assert.is(fn.status, 201, fn.text);
      assert.is(fn.body.function.team, TEAM);
      assert.is(fn.body.function.url, `/fn/${TEAM}/api`, 'its URL is the team’s');
      fnId = fn.body.function.id;
      await ok(await inTeam('POST', '/api/functions', { name: 'open', viewerInvoke: true }), 'a function viewers may invoke');
      await ok(await inTeam('PUT', '/api/functions/api/env', { vars: { PLAIN: 'plain-value' }, secrets: { SECRET: 'secret-value' } }), 'env');
      // Someone of another team, with a function of the same name in theirs.
      const out = teamClient(server.url, tokens.outsider, undefined);
      await ok(await out('POST', '/api/teams', { name: 'Rival', handle: 'rival' }), 'another team');
      await ok(await teamClient(server.url, tokens.outsider, 'rival')('POST', '/api/functions', { name: 'api' }), 'its function');
    }),
  );
  s.after(
    loud(async () => {
      await server?.stop();
      await dropDb?.();
    }),
  );

  s('every documented route is in the matrix or named as not a team route', async () => {
    const doc = (await client(server.url).get('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const inMatrix = new Set(CASES.map((c) => `${c.method} ${c.route}`));
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const m of Object.keys(ops)) {
        const r = `${m.toUpperCase()} ${path}`;
        if (!inMatrix.has(r) && !NOT_TEAM_ROUTES.has(r)) missing.push(r);
      }
    }
    assert.equal(missing, [], 'routes neither in the matrix nor named as not a team route');
  });

  for (const c of CASES) {
    s(`${c.method} ${c.route}${c.note ? ` (${c.note})` : ''}: ${c.min} and up may; below, 403; another team, 404; nobody, 401`, async () => {
      for (const role of ROLES) {
        const x = ctx();
        const path = fill(c.route, { ref: 'api', team: TEAM, ...(await c.params?.(x)) });
        const r = await send(c, path, tokens[role], TEAM, x);
        const where = `${role} ${c.method} ${path}: ${r.status} ${r.text.slice(0, 300)}`;
        if (rank(role) >= rank(c.min)) {
          assert.not.ok([401, 403].includes(r.status), `may: ${where}`);
          assert.not.ok(r.status === 404 && ['function_not_found', 'team_not_found'].includes(r.body?.code), `may, and finds it: ${where}`);
        } else {
          assert.is(r.status, 403, `may not: ${where}`);
          assert.is(r.body.code, 'role_forbids', where);
          assert.match(r.body.detail, `(${role})`, 'the answer says which role');
        }
      }
      // Someone of another team: by name in this team, and the function by its id.
      const x = ctx();
      const params = { ref: 'api', team: TEAM, ...(await c.params?.(x)) };
      const byName = await send(c, fill(c.route, params), tokens.outsider, TEAM, x);
      assert.is(byName.status, 404, `another team's, named: ${byName.text}`);
      if (c.route.includes('{ref}')) {
        const byId = await send(c, fill(c.route, { ...params, ref: fnId }), tokens.outsider, undefined, x);
        assert.is(byId.status, 404, `another team's, by id: ${byId.text}`);
        assert.is(byId.body.code, 'function_not_found');
      }
      const anonymous = await send(c, fill(c.route, params), undefined, TEAM, x);
      assert.is(anonymous.status, 401, `nobody: ${anonymous.text}`);
    });
  }

  s('the function’s own team’s members see it under the team; another team’s function of the same name stays theirs', async () => {
    const list = await teamClient(server.url, tokens.viewer, TEAM)('GET', '/api/functions?limit=200');
    const names = list.body.functions.map((f: { name: string }) => f.name);
    assert.ok(names.includes('api') && names.includes('open'), names.join());
    assert.equal([...new Set(list.body.functions.map((f: { team: string }) => f.team))], [TEAM], 'all of them the team’s');
    assert.is(list.body.functions.find((f: { name: string }) => f.name === 'api').id, fnId, 'not the other team’s api');
    const rival = await teamClient(server.url, tokens.outsider, 'rival')('GET', '/api/functions/api');
    assert.is(rival.body.function.team, 'rival');
    const personal = await teamClient(server.url, tokens.viewer, undefined)('GET', '/api/functions');
    assert.equal(personal.body.functions, [], 'the viewer’s personal team is their own');
    assert.is((await teamClient(server.url, tokens.outsider, TEAM)('GET', '/api/functions')).body.code, 'team_not_found');
  });

  s('a developer reads a plain value but not a secret’s; an admin reads the secret; nobody reads it in a list', async () => {
    const dev = teamClient(server.url, tokens.developer, TEAM);
    assert.equal((await dev('GET', '/api/functions/api/env/PLAIN')).body, { key: 'PLAIN', value: 'plain-value', secret: false });
    const denied = await dev('GET', '/api/functions/api/env/SECRET');
    assert.equal([denied.status, denied.body.code], [403, 'role_forbids']);
    assert.not.match(denied.text, 'secret-value');
    const adm = await teamClient(server.url, tokens.admin, TEAM)('GET', '/api/functions/api/env/SECRET');
    assert.equal(adm.body, { key: 'SECRET', value: 'secret-value', secret: true });
    const list = await dev('GET', '/api/functions/api/env');
    assert.not.match(list.text, 'secret-value');
  });

  s('personal access tokens: within the holder’s role and the token’s scopes; account routes and token-making need a session; revoked within a second', async () => {
    const make = async (who: Role, scopes: string[]) => {
      const r = await teamClient(server.url, tokens[who], undefined)('POST', '/api/tokens', { name: 'ci', scopes, expiresIn: '7d' });
      assert.is(r.status, 201, r.text);
      assert.match(r.body.secret, /^cpt_/);
      assert.ok(r.body.token.expiresAt, 'it expires');
      return r.body as { token: { id: string }; secret: string };
    };
    const read = await make('developer', ['functions:read']);
    const asRead = teamClient(server.url, read.secret, TEAM);
    assert.is((await asRead('GET', '/api/functions/api')).status, 200, 'reads, in the team it names');
    const deploy = await send(CASES.find((c) => c.route.endsWith('/deployments') && c.method === 'POST')!, `/api/functions/api/deployments`, read.secret, TEAM, ctx());
    assert.equal([deploy.status, deploy.body.code], [403, 'scope_missing'], 'the developer may deploy, this token may not');
    assert.equal((await asRead('POST', '/api/functions/api/invoke', {})).body.code, 'scope_missing');
    assert.is((await asRead('GET', '/api/users/me')).status, 401, 'account routes take sessions only');
    assert.equal((await asRead('POST', '/api/tokens', { name: 'x', scopes: ['invoke'] })).body.code, 'session_required', 'a token cannot make tokens');
    assert.equal((await asRead('POST', '/api/teams', { name: 'x' })).body.code, 'session_required');
    const listed = await teamClient(server.url, tokens.developer, undefined)('GET', '/api/tokens');
    assert.ok(listed.body.tokens.some((t: { id: string }) => t.id === read.token.id));
    assert.not.match(listed.text, read.secret, 'never the secret again');

    const viewerInvoke = await make('viewer', ['invoke']);
    assert.equal((await teamClient(server.url, viewerInvoke.secret, TEAM)('POST', '/api/functions/api/invoke', {})).body.code, 'role_forbids', 'scopes never widen a role');
    const bad = await teamClient(server.url, tokens.viewer, undefined)('POST', '/api/tokens', { name: 'x', scopes: ['functions:raed'] });
    assert.equal([bad.status, bad.body.field], [400, 'scopes.0']);

    assert.is((await teamClient(server.url, tokens.developer, undefined)('DELETE', `/api/tokens/${read.token.id}`)).status, 204);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await asRead('GET', '/api/functions/api')).body.code, 'token_revoked');
  });

  s('team service tokens: act as the team within their scopes, through the API and the function URL; made by admins only', async () => {
    const x = ctx();
    const svc = await serviceToken(x, ['functions:read', 'functions:deploy', 'invoke']);
    assert.match(svc.secret, /^cps_/);
    const asSvc = teamClient(server.url, svc.secret, undefined);
    const list = await asSvc('GET', '/api/functions?limit=200');
    assert.ok(list.body.functions.some((f: { name: string }) => f.name === 'api'), 'its own team without naming it');
    assert.equal((await asSvc('PATCH', '/api/functions/api', { memoryMb: 256 })).body.code, 'scope_missing');
    assert.is((await teamClient(server.url, svc.secret, 'rival')('GET', '/api/functions/api')).status, 404, 'no other team');
    const members = await teamClient(server.url, tokens.owner, TEAM)('GET', `/api/teams/${TEAM}/members`);
    assert.not.ok(members.body.members.some((m: { email: string }) => m.email.startsWith('team:')), 'the team’s account is not listed as a member');
    const dev = await teamClient(server.url, tokens.developer, undefined)('POST', `/api/teams/${TEAM}/tokens`, { name: 'x', scopes: ['invoke'] });
    assert.equal([dev.status, dev.body.code], [403, 'role_forbids']);
    const audit = await teamClient(server.url, tokens.owner, undefined)('GET', `/api/teams/${TEAM}/audit?event=token_created`);
    assert.ok(audit.body.entries.length >= 1, 'made tokens are in the audit trail');
    assert.not.match(audit.text, svc.secret);
  });

  s('quotas: set by a server administrator; a team over one gets which quota, its limit and its use; another team is unaffected', async () => {
    const own = teamClient(server.url, tokens.owner, undefined);
    const inTeam = teamClient(server.url, tokens.owner, TEAM);
    const count = (await inTeam('GET', `/api/teams/${TEAM}/usage`)).body.quotas.find((q: { name: string }) => q.name === 'functions').used as number;
    const notAdmin = await teamClient(server.url, tokens.admin, undefined)('PUT', `/api/teams/${TEAM}/quotas`, { functions: 1000 });
    assert.equal([notAdmin.status, notAdmin.body.code], [403, 'admin_only'], 'a team admin is not a server administrator');
    const typo = await own('PUT', `/api/teams/${TEAM}/quotas`, { functionz: 1 });
    assert.equal([typo.status, typo.body.field], [400, 'functionz']);
    const set = await own('PUT', `/api/teams/${TEAM}/quotas`, { functions: count, versionsPerFunction: 1, concurrentCalls: 0 });
    assert.is(set.status, 200, set.text);
    assert.equal(set.body.quotas.find((q: { name: string }) => q.name === 'functions'), { name: 'functions', limit: count, used: count });

    const fn = await inTeam('POST', '/api/functions', { name: 'one-more' });
    assert.equal([fn.status, fn.body.code, fn.body.quota, fn.body.limit, fn.body.used], [403, 'quota_exceeded', 'functions', count, count], fn.text);
    assert.match(fn.body.detail, `functions quota is ${count}`);
    const version = await send(CASES.find((c) => c.route.endsWith('/deployments') && c.method === 'POST')!, '/api/functions/api/deployments', tokens.owner, TEAM, ctx());
    assert.equal([version.status, version.body.code, version.body.quota], [403, 'quota_exceeded', 'versionsPerFunction'], version.text);
    const call = await inTeam('POST', '/api/functions/api/invoke', {});
    assert.equal([call.status, call.body.code, call.body.quota, call.body.limit], [429, 'quota_exceeded', 'concurrentCalls', 0], call.text);

    const rival = teamClient(server.url, tokens.outsider, 'rival');
    assert.is((await rival('POST', '/api/functions', { name: 'unaffected' })).status, 201, 'another team is not held by this one’s quota');
    const audit = await own('GET', `/api/teams/${TEAM}/audit?event=quota_changed`);
    assert.equal(audit.body.entries[0].after, { functions: count, versionsPerFunction: 1, concurrentCalls: 0 });
    const lifted = await own('PUT', `/api/teams/${TEAM}/quotas`, { functions: null, versionsPerFunction: null, concurrentCalls: null });
    assert.ok(lifted.body.quotas.every((q: { limit: number | null }) => q.limit === null));
    assert.is((await inTeam('POST', '/api/functions', { name: 'one-more' })).status, 201);
  });

  s('rate limits: a token and an API key each get their calls a second with a burst, then 429 rate_limited with Retry-After', async () => {
    const made = await teamClient(server.url, tokens.owner, undefined)('POST', '/api/tokens', { name: 'limited', scopes: ['functions:read'], rateLimit: { perSecond: 1, burst: 3 } });
    assert.equal(made.body.token.rateLimit, { perSecond: 1, burst: 3 });
    const asLimited = teamClient(server.url, made.body.secret, TEAM);
    for (let i = 0; i < 3; i++) assert.is((await asLimited('GET', '/api/functions/api')).status, 200, `burst call ${i}`);
    const over = await asLimited('GET', '/api/functions/api');
    assert.equal([over.status, over.body.code], [429, 'rate_limited']);
    assert.ok(Number(over.headers.get('retry-after')) >= 1, 'Retry-After');
    assert.match(over.body.detail, 'token limited may make 1 calls a second (bursts of 3)');
    await new Promise((r) => setTimeout(r, 1100));
    assert.is((await asLimited('GET', '/api/functions/api')).status, 200, 'a second later, one more');
    const other = await teamClient(server.url, tokens.owner, TEAM)('GET', '/api/functions/api');
    assert.is(other.status, 200, 'the person’s session is not held by the token’s limit');

    const key = await teamClient(server.url, tokens.owner, TEAM)('POST', '/api/functions/api/keys', { name: 'limited', rateLimit: { perSecond: 1, burst: 2 } });
    assert.is(key.status, 201, key.text);
    const call = () => client(server.url).call('POST', '/api/functions/api/invoke', { token: key.body.secret, body: {} });
    for (let i = 0; i < 2; i++) assert.is.not((await call()).status, 429, `key burst call ${i}`);
    const keyOver = await call();
    assert.equal([keyOver.status, keyOver.body.code], [429, 'rate_limited']);
    assert.match(keyOver.body.detail, 'API key limited');
    const bad = await teamClient(server.url, tokens.owner, TEAM)('POST', '/api/functions/api/keys', { name: 'x', rateLimit: { perSecond: 0, burst: 1 } });
    assert.equal([bad.status, bad.body.field], [400, 'rateLimit.perSecond']);
  });

  s('every change is in the team’s audit trail: actor, team, target, before and after, address; never a secret', async () => {
    const own = teamClient(server.url, tokens.owner, TEAM);
    // What the matrix did not leave behind (it needs the ready version queuedCall made): a rollback and an alias.
    await queuedCall(ctx());
    assert.is((await own('POST', '/api/functions/api/rollback', { version: 99 })).status, 200);
    assert.is((await own('POST', '/api/functions/api/aliases', { name: 'audited', version: 99 })).status, 201);
    assert.is((await own('PATCH', '/api/functions/api/aliases/audited', { minInstances: 0 })).status, 200);
    assert.is((await own('DELETE', '/api/functions/api/aliases/audited')).status, 204);
    assert.is((await own('PATCH', '/api/functions/api', { memoryMb: 192 })).status, 200);
    assert.is((await own('PATCH', `/api/teams/${TEAM}/members/${EMAIL.admin}`, { role: 'developer' })).status, 200);
    assert.is((await own('PATCH', `/api/teams/${TEAM}/members/${EMAIL.admin}`, { role: 'admin' })).status, 200);
    const entries: { event: string; actor: string | null; team: string | null; target: string | null; before: unknown; after: unknown; clientIp: string | null }[] = [];
    for (let cursor: string | null = ''; cursor !== null; ) {
      const page = await own('GET', `/api/teams/${TEAM}/audit?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
      assert.is(page.status, 200, page.text);
      entries.push(...page.body.entries);
      cursor = page.body.nextCursor;
    }
    const events = new Set(entries.map((e) => e.event));
    for (const event of ['team_created', 'member_invited', 'invitation_accepted', 'invitation_revoked', 'member_role_changed', 'member_removed', 'function_created', 'function_updated', 'function_deleted', 'deployed', 'rolled_back', 'env_set', 'env_unset', 'key_created', 'key_rolled', 'key_revoked', 'alias_created', 'alias_updated', 'alias_deleted', 'schedule_created', 'schedule_updated', 'schedule_deleted', 'quota_changed', 'token_created', 'token_revoked']) {
      assert.ok(events.has(event), `${event} is in the trail`);
    }
    assert.ok(entries.every((e) => e.team === TEAM && e.actor !== null && e.target !== null), 'each with its team, actor and target');
    const update = entries.find((e) => e.event === 'function_updated' && (e.after as { memoryMb?: number } | null)?.memoryMb === 192)!;
    assert.equal([update.actor, update.target, update.before, update.after], [EMAIL.owner, 'function:api', { memoryMb: 128 }, { memoryMb: 192 }]);
    assert.ok(update.clientIp, 'the address');
    const rollback = entries.find((e) => e.event === 'rolled_back')!;
    assert.equal(rollback.after, { activeVersion: 99 });
    const env = entries.find((e) => e.event === 'env_set' && JSON.stringify(e.after).includes('SECRET'))!;
    assert.equal(env.after, { vars: ['PLAIN'], secrets: ['SECRET'] }, 'env changes carry names only');
    const all = JSON.stringify(entries);
    for (const secret of ['secret-value', 'plain-value']) assert.not.match(all, secret, `never ${secret}`);
    // A key's prefix (its first 12 characters, shown in lists to tell keys apart) may be there; never a whole secret.
    assert.not.match(all, /cp[ktsi]_[A-Za-z0-9_-]{20,}/, 'never a key, token or invitation secret');
    const filtered = await own('GET', `/api/teams/${TEAM}/audit?event=rolled_back&actor=${EMAIL.owner}&target=function:api`);
    assert.ok(filtered.body.entries.length >= 1 && filtered.body.entries.every((e: { event: string }) => e.event === 'rolled_back'), 'filters');
    const typo = await own('GET', `/api/teams/${TEAM}/audit?evnet=x`);
    assert.equal([typo.status, typo.body.field], [400, 'evnet']);
  });

  s('server audit: administrators only', async () => {
    // The first account is the server's administrator (the owner here); the others are not.
    assert.is((await teamClient(server.url, tokens.owner, undefined)('GET', '/api/audit')).status, 200);
    const r = await teamClient(server.url, tokens.admin, undefined)('GET', '/api/audit');
    assert.equal([r.status, r.body.code], [403, 'admin_only']);
  });

  s('an invitation is for its address only, once, and not after it expires or is revoked', async () => {
    const own = teamClient(server.url, tokens.owner, undefined);
    const inv = (await own('POST', `/api/teams/${TEAM}/invitations`, { email: 'late@example.com', role: 'developer' })).body.invitation;
    const wrong = await teamClient(server.url, tokens.outsider, undefined)('POST', `/api/invitations/${inv.token}/accept`);
    assert.equal([wrong.status, wrong.body.code], [404, 'invitation_not_found'], 'someone else cannot use it');
    const late = await account('late@example.com');
    const accepted = await teamClient(server.url, late, undefined)('POST', `/api/invitations/${inv.token}/accept`);
    assert.equal([accepted.status, accepted.body.team.role], [200, 'developer']);
    const again = await teamClient(server.url, late, undefined)('POST', `/api/invitations/${inv.token}/accept`);
    assert.equal([again.status, again.body.code], [409, 'invitation_used']);
    const revoked = (await own('POST', `/api/teams/${TEAM}/invitations`, { email: 'gone@example.com', role: 'viewer' })).body.invitation;
    assert.is((await own('DELETE', `/api/teams/${TEAM}/invitations/${revoked.id}`)).status, 204);
    const gone = await account('gone@example.com');
    assert.is((await teamClient(server.url, gone, undefined)('POST', `/api/invitations/${revoked.token}/accept`)).status, 404);
    assert.is((await teamClient(server.url, gone, undefined)('POST', `/api/invitations/not-a-token/accept`)).status, 404);
  });

  s('the last owner cannot step down or leave; a personal team takes no invitations; a team with functions cannot be deleted', async () => {
    const own = teamClient(server.url, tokens.owner, undefined);
    const down = await own('PATCH', `/api/teams/${TEAM}/members/${EMAIL.owner}`, { role: 'admin' });
    assert.equal([down.status, down.body.code], [409, 'last_owner']);
    const leave = await own('DELETE', `/api/teams/${TEAM}/members/${EMAIL.owner}`);
    assert.equal([leave.status, leave.body.code], [409, 'last_owner']);
    const personal = (await own('GET', '/api/teams')).body.teams.find((t: { personal: boolean }) => t.personal);
    const invite = await own('POST', `/api/teams/${personal.handle}/invitations`, { email: 'x@example.com', role: 'viewer' });
    assert.equal([invite.status, invite.body.code], [400, 'personal_team']);
    const del = await own('DELETE', `/api/teams/${TEAM}`);
    assert.equal([del.status, del.body.code], [409, 'team_not_empty']);
    const taken = await own('POST', '/api/teams', { name: 'Again', handle: TEAM });
    assert.equal([taken.status, taken.body.code], [409, 'team_handle_taken']);
    const typo = await own('POST', '/api/teams', { name: 'Typo', hanlde: 'x' });
    assert.equal([typo.status, typo.body.code, typo.body.field], [400, 'unknown_field', 'hanlde']);
  });

  s.run();
}

async function send(c: Case, path: string, token: string | undefined, team: string | undefined, x: Ctx) {
  if (c.raw) {
    const { bytes, type } = c.raw();
    const res = await fetch(`${server.url}${path}`, { method: c.method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(team ? { 'cpub-team': team } : {}), 'content-type': type }, body: new Uint8Array(bytes) });
    const text = await res.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.status, text, body };
  }
  return teamClient(server.url, token, team)(c.method, path, c.body?.(x));
}
