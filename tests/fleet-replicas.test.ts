// Two control-plane replicas on one PostgreSQL, one agent: each replica serves the whole API and dials the
// agent; a logout on one is honoured by the other within 5 s; a function deployed through one is served by the
// other (which restores the artifact from the database to build it); the purge job runs on one replica at a
// time and moves to the other when its holder stops.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, startAgentProcess, type RunningServer } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud, until } from './helpers/hooks.js';
import { fnArtifact } from './helpers/agent.js';
import { createTestDatabase } from './helpers/postgres.js';

const s = suite('fleet: two control-plane replicas on PostgreSQL');
const JOIN = 'join-token-for-replicas-0123456789';
let a: RunningServer;
let b: RunningServer;
let agent: RunningServer;
let apiA: Client;
let apiB: Client;
let admin: string;
let handle: string;
let dropDb: (() => Promise<void>) | undefined;

/** The purge runs this replica made, from its /metrics. */
async function purgeRuns(api: Client): Promise<number> {
  const res = await api.get('/metrics', admin);
  const m = /^cpub_background_runs_total\{job="purge"\} (\d+)/m.exec(res.text);
  return m ? Number(m[1]) : 0;
}

s.before(
  loud(async () => {
    const db = await createTestDatabase();
    dropDb = db.drop;
    // The replicas share the database and the key material; each has its own data folder.
    const shared = {
      DATABASE_URL: db.url,
      CPUB_JOIN_TOKEN: JOIN,
      CPUB_JWT_SECRET: randomBytes(48).toString('base64url'),
      CPUB_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      CPUB_PURGE_EVERY: '1s',
    };
    a = await startServer(shared);
    b = await startServer(shared);
    apiA = client(a.url);
    apiB = client(b.url);
    await apiA.post('/api/auth/register', { email: 'root@example.com', password: 'root-password-1' });
    admin = (await apiA.post('/api/auth/login', { email: 'root@example.com', password: 'root-password-1' })).body.accessToken;
    handle = (await apiA.get('/api/users/me', admin)).body.handle;
    agent = await startAgentProcess({ CPUB_AGENT_SERVER: a.url, CPUB_AGENT_JOIN_TOKEN: JOIN, CPUB_AGENT_STEM_CELLS: '0' });
    await until('the agent up on both replicas', async () => {
      const [na, nb] = await Promise.all([apiA.get('/api/nodes', admin), apiB.get('/api/nodes', admin)]);
      return na.body.nodes?.[0]?.status === 'up' && nb.body.nodes?.[0]?.status === 'up';
    });
  }),
);

s.after(
  loud(async () => {
    await agent?.stop();
    await a?.stop();
    await b?.stop();
    await dropDb?.();
  }),
);

s('a logout on one replica is honoured by the other within 5 s', async () => {
  const login = (await apiA.post('/api/auth/login', { email: 'root@example.com', password: 'root-password-1' })).body;
  assert.is((await apiB.get('/api/users/me', login.accessToken)).status, 200);
  assert.is((await apiA.post('/api/auth/logout', { refreshToken: login.refreshToken }, login.accessToken)).status, 200);
  const t0 = Date.now();
  await until('the other replica refusing the token', async () => (await apiB.get('/api/users/me', login.accessToken)).status === 401, 5000, 100);
  const ms = Date.now() - t0;
  assert.ok(ms <= 5000, `refused after ${ms} ms`);
  // and the refresh token is dead on the other replica too
  assert.is((await apiB.post('/api/auth/refresh', { refreshToken: login.refreshToken })).status, 401);
});

s('a function deployed through one replica is served by the other', async () => {
  assert.is((await apiA.post('/api/functions', { name: 'both', auth: 'public' }, admin)).status, 201);
  const art = await fnArtifact(`() => new Response('served')`);
  const dep = await fetch(`${a.url}/api/functions/both/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
  assert.is(dep.status, 201, await dep.text());
  const res = await fetch(`${b.url}/fn/${handle}/both`);
  assert.is(res.status, 200, await res.clone().text());
  assert.is(await res.text(), 'served');
  // Replica B had never seen the upload: it restored the artifact from the database to send the agent a build.
  assert.ok(existsSync(join(b.dataDir, 'artifacts', 'sha256', art.digest)));
  const viaApi = await apiB.post('/api/functions/both/invoke', {}, admin);
  assert.is(viaApi.status, 200);
  assert.is(viaApi.body.body, 'served');
  // Both replicas see the same executions.
  const ex = await apiA.get('/api/functions/both/executions', admin);
  assert.is(ex.body.executions.length, 2);
});

s('the purge job runs on one replica at a time, and moves when its holder stops', async () => {
  await new Promise((r) => setTimeout(r, 3000));
  const [ra, rb] = [await purgeRuns(apiA), await purgeRuns(apiB)];
  assert.ok((ra > 0) !== (rb > 0), `purge runs: A ${ra}, B ${rb}: exactly one replica runs it`);
  const [holder, otherApi] = ra > 0 ? [a, apiB] : [b, apiA];
  await holder.stop(); // a clean stop gives the lease up (stop() again in the after hook does nothing)
  await until('the other replica running the purge', async () => (await purgeRuns(otherApi)) > 0, 10_000, 250);
});

s.run();
