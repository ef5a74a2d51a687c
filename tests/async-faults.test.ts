// Async calls and schedules under faults, on SQLite (and on PostgreSQL by async-faults-pg.test.ts, which adds a
// second replica): the control plane killed (-9) with calls queued and running, then started again — every
// accepted call reaches a final state, none is lost, the ones it was running run again (at least once), and a
// client repeating its calls with their idempotency keys gets the same calls (none queued twice); an agent killed
// mid-call — the call is retried and succeeds; a schedule across the kill (and across two replicas) — no tick
// fires twice, and every tick is fired or counted skipped.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, startAgentProcess, type RunningServer } from './helpers/server.js';
import { client, type Client } from './helpers/http.js';
import { loud, until } from './helpers/hooks.js';
import { fnArtifact } from './helpers/agent.js';
import { createTestDatabase } from './helpers/postgres.js';

const DIALECT = process.env.CPUB_TEST_FAULTS_DIALECT === 'postgres' ? 'postgres' : 'sqlite';
const s = suite(`async calls under faults [${DIALECT}]`);
const JOIN = 'join-token-for-faults-0123456789';
let env: Record<string, string>;
let dataDir: string;
let agentDir: string;
let port: number;
let server: RunningServer;
let agent: RunningServer;
let api: Client;
let token: string;
let dropDb: (() => Promise<void>) | undefined;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return p;
}

/** The control plane on its fixed port and data folder (and database): the same one again after a kill. */
async function start(extra: Record<string, string> = {}): Promise<RunningServer> {
  return startServer({ ...env, CPUB_PORT: String(port), CPUB_DATA_DIR: dataDir, ...extra });
}

async function kill9(r: RunningServer): Promise<void> {
  r.proc.kill('SIGKILL');
  await new Promise((res) => (r.proc.exitCode !== null || r.proc.signalCode !== null ? res(null) : r.proc.once('exit', res)));
}

async function deploy(name: string, handler: string, settings: object): Promise<void> {
  assert.is((await api.post('/api/functions', { name, ...settings }, token)).status, 201);
  const bytes = readFileSync((await fnArtifact(handler)).path);
  const res = await fetch(`${server.url}/api/functions/${name}/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: bytes });
  assert.is(res.status, 201, await res.text());
}

const call = async (id: string) => (await api.get(`/api/executions/${id}`, token)).body.call;

s.before(
  loud(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cpub-faults-'));
    agentDir = mkdtempSync(join(tmpdir(), 'cpub-faults-agent-'));
    port = await freePort();
    env = { CPUB_JOIN_TOKEN: JOIN, CPUB_ASYNC_CLAIM: '3s', CPUB_JWT_SECRET: randomBytes(48).toString('base64url'), CPUB_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    if (DIALECT === 'postgres') {
      const db = await createTestDatabase();
      dropDb = db.drop;
      env.DATABASE_URL = db.url;
    }
    server = await start();
    api = client(server.url);
    await api.post('/api/auth/register', { email: 'faults@example.com', password: 'password-for-faults-1' });
    token = (await api.post('/api/auth/login', { email: 'faults@example.com', password: 'password-for-faults-1' })).body.accessToken;
    agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: agentDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN });
    await until('the agent up', async () => (await api.get('/api/nodes', token)).body.nodes?.[0]?.status === 'up');
    // Each call takes 1.5 s; four run at once.
    await deploy('job', `async (req) => { const b = await req.text(); await new Promise((r) => setTimeout(r, 1500)); return new Response('done ' + b); }`, { concurrency: 4, maxInstances: 1, timeoutMs: 20_000, retry: { maxAttempts: 10, backoff: { baseMs: 500, maxMs: 4000 } } });
  }),
);

s.after(async () => {
  await agent?.stop();
  await server?.stop();
  await dropDb?.();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(agentDir, { recursive: true, force: true });
});

s('the control plane killed (-9) with calls queued and running: after a restart every call ends succeeded, those it was running ran again; repeats with idempotency keys queue nothing new', async () => {
  const ids: string[] = [];
  const keyed = new Map<string, string>();
  for (let i = 0; i < 12; i++) {
    const key = i % 2 ? `key-${i}` : undefined;
    const r = await api.call('POST', '/api/functions/job/invoke', { body: { method: 'POST', body: `call ${i}` }, token, headers: { prefer: 'respond-async', ...(key ? { 'idempotency-key': key } : {}) } });
    assert.is(r.status, 202, r.text);
    ids.push(r.body.executionId);
    if (key) keyed.set(key, r.body.executionId);
  }
  await until('calls running', async () => (await call(ids[0]!))?.status === 'running');
  const running = (await Promise.all(ids.map(call))).filter((c) => c.status === 'running').map((c) => c.id as string);
  assert.ok(running.length >= 1 && running.length <= 4, `${running.length} running`);
  await kill9(server);
  server = await start();
  // A client that did not hear back repeats its keyed calls: the same calls, none queued twice.
  for (const [key, id] of keyed) {
    const i = Number(key.slice(4));
    const again = await api.call('POST', '/api/functions/job/invoke', { body: { method: 'POST', body: `call ${i}` }, token, headers: { prefer: 'respond-async', 'idempotency-key': key } });
    assert.equal([again.status, again.body.executionId, again.headers.get('idempotent-replayed')], [202, id, 'true']);
  }
  await until('every call settled', async () => (await Promise.all(ids.map(call))).every((c) => c.status === 'succeeded'), 90_000);
  let interrupted = 0;
  for (const [i, id] of ids.entries()) {
    const c = await call(id);
    assert.is(c.answer.body, `done call ${i}`);
    // A call the killed replica was running keeps its interrupted attempt, and ran again; the others ran once.
    // (Which were running at the kill is known only roughly: the list above was read a moment before it.)
    // An attempt the agent declined (its container still busy with the interrupted one) never ran the function.
    const statuses = c.attempts.map((a: { status: string }) => a.status).join(',');
    assert.match(statuses, /^(interrupted,)?(rejected,)*success$/, `call ${i}: ${statuses}`);
    if (statuses.startsWith('interrupted')) interrupted++;
  }
  assert.ok(interrupted >= 1, 'a call was running when the control plane was killed, and ran again');
  const listed = (await api.get('/api/functions/job/executions?limit=200', token)).body.executions.filter((e: { callId: string | null }) => e.callId);
  assert.is(new Set(listed.map((e: { callId: string }) => e.callId)).size, ids.length, 'every call has its records, no other call was made');
});

s('an agent killed (-9) mid-call: the call is retried (agent_lost) and succeeds once the agent is back', async () => {
  const q = await api.post('/api/functions/job/invoke', { method: 'POST', body: 'through an agent crash' }, token, { prefer: 'respond-async' });
  await until('the call running', async () => (await call(q.body.executionId))?.status === 'running');
  await new Promise((r) => setTimeout(r, 300));
  agent.proc.kill('SIGKILL');
  agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: agentDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN });
  await until('the call settled', async () => ['succeeded', 'failed'].includes((await call(q.body.executionId))?.status), 90_000);
  const c = await call(q.body.executionId);
  assert.is(c.status, 'succeeded', JSON.stringify(c.attempts));
  assert.is(c.attempts[0].status, 'agent_lost');
  assert.is(c.attempts.at(-1).status, 'success');
  assert.is(c.answer.body, 'done through an agent crash');
});

s(`a schedule across a kill (-9) of the control plane${DIALECT === 'postgres' ? ' holding the schedules lease, with a second replica taking over' : ''}: no tick fires twice, and each is fired or counted skipped`, async () => {
  const made = await api.post('/api/functions/job/schedules', { cron: '@every 1s', overlap: 'queue', catchUp: 'last', payload: 'tick' }, token);
  assert.is(made.status, 201, made.text);
  const id = made.body.schedule.id as string;
  const schedule = async () => (await api.get(`/api/functions/job/schedules/${id}`, token)).body.schedule;
  // On PostgreSQL a second replica runs all along (its own port and data folder, the same database and keys).
  const second = DIALECT === 'postgres' ? await startServer({ ...env, CPUB_PORT: '0' }) : undefined;
  await until('ticks fired', async () => (await schedule()).fired >= 3);
  await kill9(server);
  if (second) {
    server = second;
    api = client(second.url);
  } else {
    await new Promise((r) => setTimeout(r, 2500));
    server = await start();
  }
  const before = (await schedule()).fired;
  await until('ticks fired after the kill', async () => (await schedule()).fired >= before + 4, 40_000);
  await api.patch(`/api/functions/job/schedules/${id}`, { paused: true }, token);
  const sch = await schedule();
  let times: string[] = [];
  await until('every fired tick ran', async () => (times = await scheduledTimes(id)).length >= sch.fired, 30_000);
  assert.is(new Set(times).size, times.length, 'no tick fired twice');
  assert.is(times.length, sch.fired);
  const first = Date.parse(times[0]!);
  const last = Date.parse(sch.lastRunAt);
  assert.is(sch.fired + sch.skipped, (last - first) / 1000 + 1, `every tick from the first to the last is accounted for (${sch.fired} fired, ${sch.skipped} skipped)`);
  assert.ok(sch.skipped >= 1, 'the ticks missed while no replica fired them were counted');
});

/** The ticks a schedule fired: the tick of each call it made (found through their attempts' records). */
async function scheduledTimes(scheduleId: string): Promise<string[]> {
  const res = await api.get(`/api/functions/job/executions?limit=200`, token);
  const calls = new Set<string>(res.body.executions.filter((e: { trigger: string; callId: string }) => e.trigger === 'schedule').map((e: { callId: string }) => e.callId));
  const times: string[] = [];
  for (const id of calls) {
    const c = await call(id);
    if (c.schedule?.id === scheduleId) times.push(c.schedule.scheduledAt);
  }
  return times.sort();
}

s.run();
