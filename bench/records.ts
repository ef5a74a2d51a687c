// `npm run bench -- records`: execution records and statistics at scale, on SQLite and on PostgreSQL. Fills
// BENCH_CALLS calls (10 M) of one function through the batched writer (records and rollups in one transaction,
// as the server writes them) spread over the last 8 days, then with a real cpub-server and cpub-agent: times every
// stats endpoint and the dashboard's pages for that function and for one with 1,000 calls, through the same
// client; drives BENCH_HTTP_CALLS warm calls through the function URL at 32 clients (in two halves: the second as
// fast as the first means the writer keeps up); reports the bytes a call costs on disk; and purges the oldest of
// the 8 days (a retention of 7 days) while a client makes warm calls one after another, reporting the slowest of
// them against the same calls before the purge. See bench/README.md.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { startServer, startAgentProcess, type RunningServer } from '../tests/helpers/server.js';
import { client } from '../tests/helpers/http.js';
import { fnArtifact } from '../tests/helpers/agent.js';
import { createTestDatabase } from '../tests/helpers/postgres.js';
import { connectDb } from '../control-plane/src/db/connect.js';
import { ExecutionWriter, type CallWrite } from '../control-plane/src/executions/execution-writer.js';
import { encodeRecord, type ExecutionRecord } from '../control-plane/src/executions/records.js';
import { recordNumbers } from '../control-plane/src/executions/record-numbers.js';
import type { ExecutionStatus } from '../control-plane/src/db/schema.js';
import type { Logger } from '../common/logger.js';
import { pct, wrk } from './lib.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 10_000_000);
const SMALL = 1000;
const HTTP_CALLS = Number(process.env.BENCH_HTTP_CALLS ?? 100_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20);
const DIALECTS = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',').filter(Boolean);
const JOIN = 'bench-join-token-0123456789abcdef';
const DAY = 86_400_000;
const SPAN_DAYS = 8;
const BATCH = 500;

const silent = { warn: (o: unknown) => console.error('writer:', o), info() {}, error() {} } as unknown as Logger;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const NODE_ID = '3f0c2a9e-5b7d-4c1a-9e2f-8d6b4a1c0e7f';

/** Calls of one function (number `fn` in the records), oldest first, spread evenly over [from, to): mostly successes, 1 % errors, 1 % cold starts, no logs. */
function* calls(functionId: string, fn: number, node: number, n: number, from: number, to: number): Generator<CallWrite> {
  const r = rng(n);
  const rand = Buffer.alloc(10 * 4096);
  let at = rand.length;
  for (let i = 0; i < n; i++) {
    const startedAt = Math.floor(from + ((to - from) * i) / n);
    const u = r();
    const status: ExecutionStatus = u < 0.01 ? 'error' : u < 0.012 ? 'timeout' : 'success';
    const cold = r() < 0.01;
    const durationMs = cold ? 150 + Math.floor(r() * 100) : Math.floor(Math.exp(r() * 3));
    if (at === rand.length) (randomFillSync(rand), (at = 0));
    const key = Buffer.alloc(16);
    key.writeUIntBE(startedAt, 0, 6);
    rand.copy(key, 6, at, (at += 10));
    key[6] = 0x70 | (key[6]! & 0x0f);
    key[8] = 0x80 | (key[8]! & 0x3f);
    const record: ExecutionRecord = {
      functionId,
      key,
      id: '',
      startedAt,
      status,
      version: 1,
      nodeId: NODE_ID,
      callId: null,
      trigger: 'url',
      httpStatus: status === 'success' ? 200 : status === 'error' ? 500 : 504,
      durationMs,
      coldStart: cold,
      cpuMs: Math.floor(r() * 3),
      peakMemoryKib: 40_000 + Math.floor(r() * 4000),
      method: 'GET',
      path: '/',
      requestBytes: 0,
      error: status === 'success' ? null : status === 'error' ? 'the function threw: boom' : 'timeout',
      queuedMs: 0,
      runMs: Math.max(0, durationMs - 1),
      placementMs: 0,
      agentUs: 300 + Math.floor(r() * 200),
      cold: cold ? { createMs: 60, startMs: 40, readyMs: 30, prewarmed: true } : null,
      logs: 0,
    };
    yield { record: encodeRecord(record, fn, node), call: { functionId, version: 1, startedAt, status, coldStart: cold, queued: false, retry: false, durationMs, cpuMs: 1, peakMemoryBytes: 41_000_000 } };
  }
}

/** Writes the calls through ExecutionWriter BATCH at a time; calls/s. */
async function fill(db: ReturnType<typeof connectDb>, functionId: string, n: number, from: number, to: number, label: string): Promise<number> {
  const writer = new ExecutionWriter(db, silent, () => BATCH);
  const t0 = performance.now();
  let batch: Promise<void>[] = [];
  let done = 0;
  let shown = performance.now();
  const fn = await recordNumbers.numberOf(db.kysely, 'function', functionId);
  const node = await recordNumbers.numberOf(db.kysely, 'node', NODE_ID);
  for (const w of calls(functionId, fn, node, n, from, to)) {
    batch.push(writer.write(w));
    if (batch.length === BATCH) {
      await Promise.all(batch);
      done += batch.length;
      batch = [];
      if (performance.now() - shown > 10_000) {
        shown = performance.now();
        console.log(`  ${label}: ${done.toLocaleString('en')} of ${n.toLocaleString('en')} calls written (${Math.round(done / ((shown - t0) / 1000)).toLocaleString('en')}/s)`);
      }
    }
  }
  await Promise.all(batch);
  return n / ((performance.now() - t0) / 1000);
}

/** The dashboard's session cookie, through its login form as a browser sends it. */
async function dashboardCookie(url: string, email: string, password: string): Promise<string> {
  const form = await fetch(`${url}/ui/login`);
  const csrfCookie = (form.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const r = await fetch(`${url}/ui/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie }, body: new URLSearchParams({ email, password, _csrf: csrf }) });
  return [csrfCookie, ...(r.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0])].filter(Boolean).join('; ');
}

/** REQUESTS sequential GETs of `path` (after one unmeasured): p50 and p99 in ms. */
async function time(url: string, headers: Record<string, string>): Promise<{ p50: number; p99: number }> {
  const get = async () => {
    const r = await fetch(url, { headers });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
  };
  await get();
  const ms: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = performance.now();
    await get();
    ms.push(performance.now() - t0);
  }
  return { p50: pct(ms, 50), p99: pct(ms, 99) };
}

async function onDisk(dialect: string, dataDir: string, url: string | undefined): Promise<number> {
  if (dialect === 'sqlite') {
    const file = join(dataDir, 'containerpub.db');
    const db = new SQLite(file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    return statSync(file).size;
  }
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  // The records' tables are partitioned (one partition per day, db/record-days.ts): their size is their partitions'.
  const r = await c.query(`
    SELECT (SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0) FROM pg_inherits i WHERE i.inhparent IN ('executions'::regclass, 'execution_logs'::regclass))
      + pg_total_relation_size('execution_rollups') AS n`);
  await c.end();
  return Number(r.rows[0].n);
}

interface Result {
  dialect: string;
  fillPerSecond: number;
  bytesPerCall: number;
  endpoints: { name: string; small: { p50: number; p99: number }; busy: { p50: number; p99: number } }[];
  http: { half: number; calls: number; perSecond: number; p50: number; p99: number; non2xx: number }[];
  purge: { rows: number; ms: number; longestBatchMs: number; calls: number; p50During: number; p99During: number; maxDuring: number; p50Before: number; p99Before: number; maxBefore: number };
}

async function run(dialect: string): Promise<Result> {
  console.log(`\n[${dialect}] ${CALLS.toLocaleString('en')} calls of one function over ${SPAN_DAYS} days, ${SMALL.toLocaleString('en')} of another`);
  const serverDir = mkdtempSync(join(tmpdir(), 'cpub-bench-records-'));
  const agentDir = mkdtempSync(join(tmpdir(), 'cpub-bench-records-agent-'));
  const pgDb = dialect === 'postgres' ? await createTestDatabase() : undefined;
  const dbEnv = pgDb ? { DATABASE_URL: pgDb.url } : {};
  const logFile = join(serverDir, 'server.log');
  let server: RunningServer | undefined;
  let agent: RunningServer | undefined;
  try {
    const serverEnv = { CPUB_DATA_DIR: serverDir, CPUB_JOIN_TOKEN: JOIN, CPUB_PURGE_EVERY: '10s', ...dbEnv };
    server = await startServer(serverEnv, { logFile });
    let api = client(server.url);
    const account = async (email: string) => {
      await api.post('/api/auth/register', { email, password: 'bench-password-1' });
      return (await api.post('/api/auth/login', { email, password: 'bench-password-1' })).body.accessToken as string;
    };
    const busyToken = await account('busy@example.com');
    const smallToken = await account('small@example.com');
    const handle = (await api.get('/api/users/me', busyToken)).body.handle as string;
    // Busy keeps 9 days of records until the purge below sets 7.
    const busy = (await api.post('/api/functions', { name: 'busy', executionRetention: '9d' }, busyToken)).body.function.id as string;
    const small = (await api.post('/api/functions', { name: 'small' }, smallToken)).body.function.id as string;
    await server.stop();

    // The past 8 days written now: the hours they fall in are folded into hours and days by the server's folder once
    // it starts again (its watermark, which would say they were folded already, is cleared first).
    const now = Date.now();
    const before = await onDisk(dialect, serverDir, pgDb?.url);
    const db = connectDb({ dataDir: serverDir, databaseUrl: pgDb?.url });
    let fillPerSecond: number;
    try {
      await db.kysely.deleteFrom('meta').where('key', '=', 'rollups_folded_until').execute();
      // The days' partitions (PostgreSQL), as a running server has them before a day's calls arrive.
      await db.recordDays.ensure(now - SPAN_DAYS * DAY, now + DAY);
      fillPerSecond = await fill(db, busy, CALLS, now - SPAN_DAYS * DAY, now, 'busy');
      await fill(db, small, SMALL, now - SPAN_DAYS * DAY, now, 'small');
    } finally {
      await db.close();
    }
    const bytesPerCall = (await onDisk(dialect, serverDir, pgDb?.url)) - before;
    console.log(`  written at ${Math.round(fillPerSecond).toLocaleString('en')} calls/s; ${(bytesPerCall / (CALLS + SMALL)).toFixed(1)} bytes per call on disk (records and rollups, no logs)`);

    server = await startServer(serverEnv, { logFile });
    api = client(server.url);
    agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: agentDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN }, { logFile: join(agentDir, 'agent.log') });
    const settled = Date.now() - 20 * 60_000;
    const target = settled - (settled % 3_600_000);
    const t0 = Date.now();
    const check = connectDb({ dataDir: serverDir, databaseUrl: pgDb?.url });
    try {
      for (;;) {
        const w = await check.kysely.selectFrom('meta').select('value').where('key', '=', 'rollups_folded_until').executeTakeFirst();
        if (w && Number(w.value) >= target) break;
        if (Date.now() - t0 > 600_000) throw new Error('the folder did not fold the filled hours within 10 minutes');
        await new Promise((r) => setTimeout(r, 1000));
      }
    } finally {
      await check.close();
    }
    console.log(`  ${SPAN_DAYS * 24} hours folded into hours and days in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // Every stats endpoint and the dashboard's pages, for the function with 1,000 calls and the one with 10 M.
    const cookies = { small: await dashboardCookie(server.url, 'small@example.com', 'bench-password-1'), busy: await dashboardCookie(server.url, 'busy@example.com', 'bench-password-1') };
    const paths: [string, (fn: string) => string, boolean][] = [
      ['stats 1h', (f) => `/api/functions/${f}/stats?period=1h`, false],
      ['stats 24h', (f) => `/api/functions/${f}/stats?period=24h`, false],
      ['stats 7d', (f) => `/api/functions/${f}/stats?period=7d`, false],
      ['stats 30d', (f) => `/api/functions/${f}/stats?period=30d`, false],
      ['hourly 24', (f) => `/api/functions/${f}/stats/hourly?hours=24`, false],
      ['hourly 168', (f) => `/api/functions/${f}/stats/hourly?hours=168`, false],
      ['daily 30', (f) => `/api/functions/${f}/stats/daily?days=30`, false],
      ['overview 24h', () => `/api/stats/overview?period=24h`, false],
      ['overview 30d', () => `/api/stats/overview?period=30d`, false],
      ['executions page', (f) => `/api/functions/${f}/executions?limit=20`, false],
      ['dashboard: function', (f) => `/ui/functions/${f}`, true],
      ['dashboard: functions', () => `/ui/functions`, true],
    ];
    const endpoints: Result['endpoints'] = [];
    for (const [name, path, ui] of paths) {
      const headers = (who: 'small' | 'busy'): Record<string, string> => (ui ? { cookie: cookies[who] } : { authorization: `Bearer ${who === 'small' ? smallToken : busyToken}` });
      endpoints.push({ name, small: await time(server.url + path('small'), headers('small')), busy: await time(server.url + path('busy'), headers('busy')) });
    }

    // Warm calls through the function URL, each with its record, on the filled database.
    for (const end = Date.now() + 30_000; (await api.get('/api/nodes', busyToken)).body.nodes?.[0]?.status !== 'up'; ) {
      if (Date.now() > end) throw new Error('the agent did not come up');
      await new Promise((r) => setTimeout(r, 200));
    }
    await api.post('/api/functions', { name: 'hot', auth: 'public', cpus: 1, concurrency: 64, maxInstances: 1 }, busyToken);
    const art = await fnArtifact(`() => new Response('ok')`);
    const dep = await fetch(`${server.url}/api/functions/hot/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${busyToken}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
    if (dep.status !== 201) throw new Error(`deploy hot: ${dep.status} ${await dep.text()}`);
    const hot = `${server.url}/fn/${handle}/hot`;
    await wrk(hot, { connections: 32, seconds: 3 }); // warm-up
    const http: Result['http'] = [];
    for (const half of [1, 2]) {
      // wrk runs for a time: the seconds that make about HTTP_CALLS / 2 at the warm-up's rate.
      const w = await wrk(hot, { connections: 32, seconds: Math.max(3, Math.round(HTTP_CALLS / 2 / 3500)) });
      http.push({ half, calls: w.requests, perSecond: Math.round(w.rps), p50: w.p50, p99: w.p99, non2xx: w.non2xx });
    }

    // The purge of the oldest day while warm calls go on, one after another.
    const logLines = () => readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('purged expired rows'));
    const seen = logLines().length;
    const samples: { t: number; ms: number }[] = [];
    let stop = false;
    const caller = (async () => {
      while (!stop) {
        const t0 = performance.now();
        const r = await fetch(hot);
        await r.arrayBuffer();
        samples.push({ t: performance.timeOrigin + t0, ms: performance.now() - t0 });
      }
    })();
    await new Promise((r) => setTimeout(r, 3000));
    const patched = await api.patch('/api/functions/busy', { executionRetention: '7d' }, busyToken);
    if (patched.status !== 200) throw new Error(`patch: ${patched.text}`);
    let line: { time: number; executions: number; ms: number; longestBatchMs: number } | undefined;
    for (const end = Date.now() + 600_000; !line && Date.now() < end; ) {
      await new Promise((r) => setTimeout(r, 500));
      // The log's time is ISO text.
      const fresh = logLines().slice(seen).map((l) => JSON.parse(l) as { time: string | number; executions: number; ms: number; longestBatchMs: number });
      const found = fresh.find((l) => l.executions > 0);
      if (found) line = { ...found, time: typeof found.time === 'number' ? found.time : Date.parse(found.time) };
    }
    stop = true;
    await caller;
    if (!line) throw new Error('no purge within 10 minutes');
    const purgeStart = line.time - line.ms;
    const during = samples.filter((s) => s.t + s.ms >= purgeStart && s.t <= line!.time);
    const beforePurge = samples.filter((s) => s.t + s.ms < purgeStart).map((s) => s.ms);
    const purge = { rows: line.executions, ms: line.ms, longestBatchMs: line.longestBatchMs, calls: during.length, p50During: pct(during.map((s) => s.ms), 50), p99During: pct(during.map((s) => s.ms), 99), maxDuring: Math.max(...during.map((s) => s.ms)), p50Before: pct(beforePurge, 50), p99Before: pct(beforePurge, 99), maxBefore: Math.max(...beforePurge) };
    return { dialect, fillPerSecond, bytesPerCall: bytesPerCall / (CALLS + SMALL), endpoints, http, purge };
  } catch (err) {
    console.error(`[${dialect}]`, err); // before the cleanup below, whose errors could hide it
    throw err;
  } finally {
    await agent?.stop();
    await server?.stop();
    await pgDb?.drop();
    rmSync(serverDir, { recursive: true, force: true });
    rmSync(agentDir, { recursive: true, force: true, maxRetries: 3 });
  }
}

function report(r: Result): void {
  const f = (n: number) => `${n.toFixed(1)} ms`;
  console.log(`\n[${r.dialect}] written through the batched writer at ${Math.round(r.fillPerSecond).toLocaleString('en')} calls/s; ${r.bytesPerCall.toFixed(1)} bytes per call on disk (records and rollups; no logs)`);
  console.log(`${'request'.padEnd(22)}${`${SMALL.toLocaleString('en')} calls: p50`.padStart(20)}${'p99'.padStart(10)}${`${CALLS.toLocaleString('en')} calls: p50`.padStart(24)}${'p99'.padStart(10)}${'ratio'.padStart(8)}`);
  for (const e of r.endpoints) {
    console.log(`${e.name.padEnd(22)}${f(e.small.p50).padStart(20)}${f(e.small.p99).padStart(10)}${f(e.busy.p50).padStart(24)}${f(e.busy.p99).padStart(10)}${(e.busy.p50 / e.small.p50).toFixed(2).padStart(8)}`);
  }
  for (const h of r.http) console.log(`warm calls through the URL, half ${h.half}: ${h.calls.toLocaleString('en')} calls, ${h.perSecond.toLocaleString('en')}/s, p50 ${f(h.p50)}, p99 ${f(h.p99)}, non-2xx ${h.non2xx}`);
  const p = r.purge;
  console.log(`purge of the oldest day: ${p.rows.toLocaleString('en')} records in ${(p.ms / 1000).toFixed(1)} s, its longest transaction ${f(p.longestBatchMs)}; ${p.calls} warm calls meanwhile: p50 ${f(p.p50During)}, p99 ${f(p.p99During)}, the slowest ${f(p.maxDuring)} (before it: p50 ${f(p.p50Before)}, p99 ${f(p.p99Before)}, slowest ${f(p.maxBefore)})`);
}

async function main() {
  const results: Result[] = [];
  for (const d of DIALECTS) results.push(await run(d));
  console.log(`\nload average ${loadavg().map((n) => n.toFixed(2)).join(' ')} after the runs: this machine is shared`);
  for (const r of results) report(r);
  console.log(JSON.stringify({ bench: 'records', calls: CALLS, small: SMALL, httpCalls: HTTP_CALLS, results }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
