// The core path again on PostgreSQL: create, deploy (built on a real agent), invoke by API and by URL,
// versions, executions and stats — the queries that differ by dialect (version numbering, activation,
// buckets) run on PostgreSQL here.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { startServer, startAgentProcess, type RunningServer } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud } from './helpers/hooks.js';
import { fnArtifact } from './helpers/agent.js';
import { createTestDatabase } from './helpers/postgres.js';

const s = suite('functions on PostgreSQL');
const JOIN = 'join-token-for-pg-functions-0123456789';
let server: RunningServer;
let agent: RunningServer;
let api: Client;
let token: string;
let handle: string;
let dropDb: (() => Promise<void>) | undefined;

s.before(
  loud(async () => {
    const db = await createTestDatabase();
    dropDb = db.drop;
    server = await startServer({ DATABASE_URL: db.url, CPUB_JOIN_TOKEN: JOIN });
    api = client(server.url);
    await api.post('/api/auth/register', { email: 'pg@example.com', password: 'password-for-tests-1' });
    token = (await api.post('/api/auth/login', { email: 'pg@example.com', password: 'password-for-tests-1' })).body.accessToken;
    handle = (await api.get('/api/users/me', token)).body.handle;
    agent = await startAgentProcess({ CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN });
    for (const end = Date.now() + 30_000; (await api.get('/api/nodes', token)).body.nodes?.[0]?.status !== 'up'; ) {
      if (Date.now() > end) throw new Error('the agent did not come up');
      await new Promise((r) => setTimeout(r, 200));
    }
  }),
);

s.after(
  loud(async () => {
    await agent?.stop();
    await server?.stop();
    await dropDb?.();
  }),
);

const deploy = async (handler: string) => {
  const res = await fetch(`${server.url}/api/functions/pg-fn/deployments?wait=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' },
    body: new Uint8Array(readFileSync((await fnArtifact(handler)).path)),
  });
  return { status: res.status, body: (await res.json()) as { deployment: { version: number; status: string; active: boolean } } };
};

s('deploy two versions at once, invoke by API and URL, executions and stats, rollback', async () => {
  assert.is((await api.post('/api/functions', { name: 'pg-fn', auth: 'public' }, token)).status, 201);
  const [a, b] = await Promise.all([deploy(`() => new Response('one')`), deploy(`() => new Response('two')`)]);
  assert.equal([a.status, b.status], [201, 201]);
  assert.equal([a.body.deployment.version, b.body.deployment.version].sort(), [1, 2], 'two versions, never one shared');
  const fn = (await api.get('/api/functions/pg-fn', token)).body.function;
  assert.is(fn.activeVersion, 2, 'the newest ready version is active');
  // Version 2 is whichever upload got it: its answer is what the active version must give.
  const newest = a.body.deployment.version === 2 ? 'one' : 'two';
  const oldest = newest === 'one' ? 'two' : 'one';
  const r = await api.post('/api/functions/pg-fn/invoke', {}, token);
  assert.is(r.status, 200, r.text);
  assert.is(r.body.body, newest, 'the API call runs the active version');
  const url = await fetch(`${server.url}/fn/${handle}/pg-fn`);
  assert.is(url.status, 200);
  assert.is(await url.text(), newest, 'the URL serves the active version');
  const ex = await api.get('/api/functions/pg-fn/executions', token);
  assert.is(ex.body.executions.length, 2);
  assert.equal(ex.body.executions.map((e: { trigger: string }) => e.trigger), ['url', 'api']);
  const st = await api.get('/api/functions/pg-fn/stats?period=1h', token);
  assert.is(st.body.invocations, 2);
  const hourly = await api.get('/api/functions/pg-fn/stats/hourly?hours=2', token);
  assert.is(hourly.body.buckets.at(-1).invocations, 2);
  assert.is((await api.post('/api/functions/pg-fn/rollback', { version: 1 }, token)).body.function.activeVersion, 1);
  assert.is(await (await fetch(`${server.url}/fn/${handle}/pg-fn`)).text(), oldest, 'after the rollback the URL serves version 1');
});

s.run();
