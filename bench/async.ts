// `npm run bench -- async`: async calls on a real cpub-server (SQLite, the defaults a user gets), a real cpub-agent
// and Podman. Measures, through the same client (wrk) as its sync baseline:
//   1. accepted calls/s: `Prefer: respond-async` on the function URL at 32 clients, each call committed before its
//      202, against sync calls/s of the same function through the same URL at 10 clients (what its defaults let run
//      at once: more would be 429s) — interleaved rounds;
//   2. what dispatch adds at low load: a call every 50 ms, sync and async in turn; the sync call's server time
//      (its record's duration) against the async call's from queued to settled, with the queue latency (queued to
//      its attempt's start) p50/p99;
//   3. drain: 10,000 calls queued while the queue is held (asyncConcurrency 0), then released: the rate they run
//      at against sync calls/s at the same parallelism, in rounds;
//   4. schedules: an `@every 1s` schedule's ticks, from the tick's time to its call queued and to its attempt's start.
// Times of queued calls are read from the server's database (read-only; SQLite in WAL mode never blocks the server).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import SQLite from 'better-sqlite3';
import { startServer, startAgentProcess } from '../tests/helpers/server.js';
import { client } from '../tests/helpers/http.js';
import { fnArtifact } from '../tests/helpers/agent.js';
import { benchAccount, monotonicUs, pct, processCpuMs, profileWindows, wrk, type WrkRun } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** The drain's rounds: more than the others', its ratio being one run against runs either side of it on a machine whose pace drifts. */
const DRAIN_ROUNDS = Number(process.env.BENCH_DRAIN_ROUNDS ?? 5);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 32);
const LOW = Number(process.env.BENCH_LOW_CALLS ?? 200);
const DRAIN = Number(process.env.BENCH_DRAIN ?? 10_000);
const TICKS = Number(process.env.BENCH_TICKS ?? 20);
const JOIN = 'bench-join-token-0123456789abcdef';
/** BENCH_ONLY=accept or drain: those rounds alone (with BENCH_SERVER_NODE_ARGS=--cpu-prof, for a profile of them). */
const ONLY = process.env.BENCH_ONLY;

const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
const median = (xs: number[]) => pct(xs, 50);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface CallRow {
  id: string;
  state: string;
  created_at: number;
  finished_at: number | null;
  history: string;
  headers: string;
}

async function main() {
  const serverDir = mkdtempSync(join(tmpdir(), 'cpub-bench-server-'));
  const agentDir = mkdtempSync(join(tmpdir(), 'cpub-bench-agent-'));
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const server = await startServer({ CPUB_DATA_DIR: serverDir, CPUB_JOIN_TOKEN: JOIN }, { logFile: join(serverDir, 'server.log'), nodeArgs });
  const agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: agentDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN }, { logFile: join(agentDir, 'agent.log') });
  const api = client(server.url);
  let db: SQLite.Database | undefined;
  let token = '';
  let functionId = '';
  try {
    const account = await benchAccount(api);
    token = account.token;
    const handle = account.handle;
    // The defaults a user gets (1 call per container, ≤ 10 containers: async calls run ≤ 10 at once), public.
    const created = await api.post('/api/functions', { name: 'noop', auth: 'public' }, token);
    if (created.status !== 201) throw new Error(`create: ${created.text}`);
    functionId = created.body.function.id as string;
    const art = await fnArtifact(`() => new Response('ok')`);
    const dep = await fetch(`${server.url}/api/functions/noop/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
    if (dep.status !== 201) throw new Error(`deploy: ${dep.status} ${await dep.text()}`);
    const url = `${server.url}/fn/${handle}/noop`;
    db = new SQLite(join(serverDir, 'containerpub.db'), { readonly: true, fileMustExist: true });
    // Whether any call of the function is queued or running: one look into each state's partial index (`state IN (…)`
    // would read the whole table — every call the bench has made — ten times a second, and a count every entry of a
    // 10,000-call backlog: CPU taken from the drain it watches).
    const pending = db.prepare("SELECT EXISTS (SELECT 1 FROM async_calls WHERE function_id = @f AND state = 'queued') OR EXISTS (SELECT 1 FROM async_calls WHERE function_id = @f AND state = 'running')").pluck();
    const left = db.prepare("SELECT count(*) FROM async_calls WHERE function_id = @f AND state = 'queued'").pluck();
    const callsSince = db.prepare('SELECT id, state, created_at, finished_at, history, headers FROM async_calls WHERE function_id = ? AND created_at >= ? ORDER BY created_at');
    const drained = async (limitMs: number) => {
      for (const end = Date.now() + limitMs; pending.get({ f: functionId }) === 1; ) {
        if (Date.now() > end) throw new Error(`${left.get({ f: functionId })} calls still queued after ${limitMs} ms`);
        await sleep(100);
      }
    };
    const ASYNC = { prefer: 'respond-async' };
    console.log(`server ${server.url} (pid ${server.proc.pid}, SQLite), agent ${agent.url}; function noop with the default settings (async calls ≤ 10 at once)`);
    // Warm-up: the containers, the connections, the JIT of both processes.
    await wrk(url, { connections: CLIENTS, seconds: 3 });
    await wrk(url, { connections: CLIENTS, seconds: 2, headers: ASYNC });
    await drained(120_000);
    const loadAtStart = loadavg().map((x) => +x.toFixed(2));

    // 1. Accepted calls/s against sync calls/s, interleaved. A round's queue is drained before the next round.
    const accept: { sync: WrkRun; async: WrkRun }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const sync = await wrk(url, { connections: 10, seconds: SECONDS });
      if (ONLY === 'drain') {
        accept.push({ sync, async: sync });
        continue;
      }
      const queued = await wrk(url, { connections: CLIENTS, seconds: SECONDS, headers: ASYNC });
      accept.push({ sync, async: queued });
      console.log(`round ${i + 1}/${ROUNDS}: sync ${sync.rps.toFixed(0)}/s (p50 ${fmt(sync.p50)}, p99 ${fmt(sync.p99)}); accepted ${queued.rps.toFixed(0)}/s (p50 ${fmt(queued.p50)}, p99 ${fmt(queued.p99)})${queued.non2xx ? `, ${queued.non2xx} not accepted` : ''}; draining…`);
      await drained(300_000);
    }

    if (ONLY === 'accept') return;

    // 2. Low load: a call every 50 ms, sync and async in turn.
    const lowCalls = ONLY === 'drain' ? 0 : LOW;
    const syncIds: string[] = [];
    const t0 = Date.now();
    for (let i = 0; i < lowCalls; i++) {
      const s = await fetch(url);
      await s.arrayBuffer();
      const id = s.headers.get('cpub-execution-id');
      if (id) syncIds.push(id);
      await sleep(25);
      const a = await fetch(url, { headers: ASYNC });
      await a.arrayBuffer();
      await sleep(25);
    }
    await drained(60_000);
    const low = (callsSince.all(functionId, t0) as CallRow[]).filter((c) => c.state === 'succeeded');
    const attemptStart = (c: CallRow) => Date.parse((JSON.parse(c.history) as { startedAt: string }[])[0]!.startedAt);
    const queueMs = low.map((c) => attemptStart(c) - Number(c.created_at));
    const asyncTotal = low.map((c) => Number(c.finished_at) - Number(c.created_at));
    const syncDur: number[] = [];
    for (const id of syncIds) {
      const r = await api.get(`/api/executions/${id}`, token);
      if (r.body?.execution) syncDur.push(r.body.execution.durationMs);
    }

    // 3. Drain, in rounds: DRAIN calls queued while the function's queue is held (asyncConcurrency 0), then released:
    // the rate the backlog runs at (≤ 10 at once, its defaults), from its first attempt's start to its last call's
    // end, against sync calls/s at 10 clients (the same parallelism) measured just before and just after it (this
    // machine's pace drifts: each round's baseline is taken around it).
    // With the CPU the server and the agent spent per 1,000 calls (/proc): steadier than a rate on a shared machine.
    const cpu = () => ({ server: processCpuMs(server.proc.pid!), agent: processCpuMs(agent.proc.pid!) });
    const perK = (a: { server: number; agent: number }, b: { server: number; agent: number }, calls: number) => ({ server: Math.round(((b.server - a.server) / calls) * 1000), agent: Math.round(((b.agent - a.agent) / calls) * 1000) });
    // With BENCH_PROFILE_WINDOWS=<file>, the sync runs' and the drains' windows (`--run sync`, `--run drain`).
    const ran = profileWindows();
    const syncRun = async () => {
      const c0 = cpu();
      const t0Us = monotonicUs();
      const w = await wrk(url, { connections: 10, seconds: SECONDS });
      const c1 = cpu();
      ran({ setting: 'noop', run: 'sync', t0Us, t1Us: monotonicUs(), calls: w.requests - w.non2xx, serverMs: c1.server - c0.server, agentMs: c1.agent - c0.agent });
      return { ...w, cpuPerK: perK(c0, c1, w.requests - w.non2xx) };
    };
    const drains: { calls: number; failed: number; rps: number; syncRps: number; ratio: number; turnMs: number; attemptP50Ms: number; settledAfterP50Ms: number; cpuPerK: { server: number; agent: number }; syncCpuPerK: { server: number; agent: number } }[] = [];
    let syncBefore = await syncRun();
    for (let i = 0; i < DRAIN_ROUNDS; i++) {
      await api.patch('/api/functions/noop', { asyncConcurrency: 0 }, token);
      const d0 = Date.now();
      let queuedN = 0;
      while (queuedN < DRAIN) {
        const w = await wrk(url, { connections: CLIENTS, seconds: 1, headers: ASYNC });
        queuedN += w.requests - w.non2xx;
      }
      const c0 = cpu();
      const t0Us = monotonicUs();
      const released = await api.patch('/api/functions/noop', { asyncConcurrency: null }, token);
      if (released.status !== 200) throw new Error(`release: ${released.text}`);
      await drained(600_000);
      const c1 = cpu();
      const calls = callsSince.all(functionId, d0) as CallRow[];
      ran({ setting: 'noop', run: 'drain', t0Us, t1Us: monotonicUs(), calls: calls.length, serverMs: c1.server - c0.server, agentMs: c1.agent - c0.agent });
      const firstStart = Math.min(...calls.map(attemptStart));
      const lastEnd = Math.max(...calls.map((c) => Number(c.finished_at)));
      const rate = (calls.length / (lastEnd - firstStart)) * 1000;
      // Where a slot's time went: the attempt (the call pipeline, as a sync call's), its settling after it (the write
      // of its outcome), and the rest of its turn (its next call claimed and started).
      const attemptMs = calls.map((c) => (JSON.parse(c.history) as { durationMs: number }[])[0]!.durationMs);
      const settleMs = calls.map((c, k) => Number(c.finished_at) - attemptStart(c) - attemptMs[k]!);
      const syncAfter = await syncRun();
      const syncRps = (syncBefore.rps + syncAfter.rps) / 2;
      const d = {
        calls: calls.length,
        failed: calls.filter((c) => c.state !== 'succeeded').length,
        rps: Math.round(rate),
        syncRps: Math.round(syncRps),
        ratio: +(rate / syncRps).toFixed(3),
        turnMs: +((10 / rate) * 1000).toFixed(2),
        attemptP50Ms: pct(attemptMs, 50),
        settledAfterP50Ms: pct(settleMs, 50),
        cpuPerK: perK(c0, c1, calls.length),
        syncCpuPerK: { server: Math.round((syncBefore.cpuPerK.server + syncAfter.cpuPerK.server) / 2), agent: Math.round((syncBefore.cpuPerK.agent + syncAfter.cpuPerK.agent) / 2) },
      };
      drains.push(d);
      console.log(`drain ${i + 1}/${DRAIN_ROUNDS}: ${d.calls} calls held, then run at ${d.rps}/s (${d.failed} not succeeded); sync at 10 clients ${d.syncRps}/s (before ${Math.round(syncBefore.rps)}, after ${Math.round(syncAfter.rps)}): ratio ${d.ratio}; a slot's turn ${fmt(d.turnMs)}: attempt p50 ${fmt(d.attemptP50Ms)}, settled p50 ${fmt(d.settledAfterP50Ms)} after it; CPU per 1,000 calls: server ${d.cpuPerK.server} ms (sync ${d.syncCpuPerK.server}), agent ${d.cpuPerK.agent} ms (sync ${d.syncCpuPerK.agent})`);
      syncBefore = syncAfter;
    }
    const drain = drains.slice().sort((a, b) => a.ratio - b.ratio)[Math.floor(drains.length / 2)]!;
    if (ONLY === 'drain') return;

    // 4. Schedules: an @every 1s schedule's ticks.
    const sch = await api.post('/api/functions/noop/schedules', { cron: '@every 1s' }, token);
    if (sch.status !== 201) throw new Error(`schedule: ${sch.text}`);
    const s0 = Date.now();
    await sleep((TICKS + 1) * 1000);
    await api.patch(`/api/functions/noop/schedules/${sch.body.schedule.id}`, { paused: true }, token);
    await drained(30_000);
    const ticks = (callsSince.all(functionId, s0) as CallRow[]).map((c) => {
      const at = Date.parse(Object.fromEntries(JSON.parse(c.headers) as [string, string][])['cpub-scheduled-time']!);
      return { queued: Number(c.created_at) - at, started: attemptStart(c) - at };
    });

    const load = loadavg().map((x) => +x.toFixed(2));
    const acceptRps = median(accept.map((r) => r.async.rps));
    const syncRps = median(accept.map((r) => r.sync.rps));
    const summary = {
      bench: 'async',
      rounds: ROUNDS,
      seconds: SECONDS,
      clients: CLIENTS,
      loadAverage: { before: loadAtStart, after: load },
      accepted: { rps: Math.round(acceptRps), p50Ms: +median(accept.map((r) => r.async.p50)).toFixed(2), p99Ms: +median(accept.map((r) => r.async.p99)).toFixed(2), notAccepted: accept.reduce((n, r) => n + r.async.non2xx, 0) },
      sync: { rps: Math.round(syncRps), p50Ms: +median(accept.map((r) => r.sync.p50)).toFixed(2), p99Ms: +median(accept.map((r) => r.sync.p99)).toFixed(2) },
      lowLoad: {
        calls: low.length,
        syncServerP50Ms: +pct(syncDur, 50).toFixed(2),
        asyncQueuedToSettledP50Ms: +pct(asyncTotal, 50).toFixed(2),
        asyncQueuedToSettledP99Ms: +pct(asyncTotal, 99).toFixed(2),
        addedP50Ms: +(pct(asyncTotal, 50) - pct(syncDur, 50)).toFixed(2),
        queueLatencyP50Ms: +pct(queueMs, 50).toFixed(2),
        queueLatencyP99Ms: +pct(queueMs, 99).toFixed(2),
      },
      drain: { ...drain, rounds: drains.map((d) => d.ratio) },
      schedule: { ticks: ticks.length, queuedP50Ms: +pct(ticks.map((t) => t.queued), 50).toFixed(1), startedP50Ms: +pct(ticks.map((t) => t.started), 50).toFixed(1), startedP99Ms: +pct(ticks.map((t) => t.started), 99).toFixed(1), startedMaxMs: Math.max(...ticks.map((t) => t.started)) },
    };
    console.log(`\nmedians of ${ROUNDS} interleaved rounds of ${SECONDS} s, wrk (1 thread) at ${CLIENTS} clients on the function URL; load average ${loadAtStart.join(' ')} before, ${load.join(' ')} after (a shared machine)`);
    console.log(`accepted (202, committed first) at ${CLIENTS} clients: ${summary.accepted.rps}/s, p50 ${fmt(summary.accepted.p50Ms)}, p99 ${fmt(summary.accepted.p99Ms)}   sync at 10 clients: ${summary.sync.rps}/s, p50 ${fmt(summary.sync.p50Ms)}, p99 ${fmt(summary.sync.p99Ms)}   (goal: accepted ≥ 5,000/s)`);
    const l = summary.lowLoad;
    console.log(`low load (${l.calls} async calls, one every 50 ms between sync ones): queued → settled p50 ${fmt(l.asyncQueuedToSettledP50Ms)} (p99 ${fmt(l.asyncQueuedToSettledP99Ms)}) against a sync call's ${fmt(l.syncServerP50Ms)}: dispatch adds ${fmt(l.addedP50Ms)} at p50 (goal ≤ 5 ms); queue latency (queued → attempt start) p50 ${fmt(l.queueLatencyP50Ms)}, p99 ${fmt(l.queueLatencyP99Ms)}`);
    console.log(`drain (the median of ${DRAIN_ROUNDS} rounds by ratio): ${drain.calls} calls held, then run at ${drain.rps}/s, against sync at 10 clients ${drain.syncRps}/s (the mean of a run just before and one just after): ratio ${drain.ratio} (rounds ${drains.map((d) => d.ratio).join(', ')}; goal ≈ 1); server CPU per 1,000 calls ${drain.cpuPerK.server} ms queued against ${drain.syncCpuPerK.server} ms sync`);
    const t = summary.schedule;
    console.log(`schedule @every 1s, ${t.ticks} ticks: queued ${t.queuedP50Ms} ms after the tick (p50); attempt started ${t.startedP50Ms} ms after (p50), p99 ${t.startedP99Ms} ms, max ${t.startedMaxMs} ms (goal: within 1 s)`);
    console.log(JSON.stringify(summary));
  } finally {
    db?.close();
    if (functionId) await api.del(`/api/functions/${functionId}`, undefined, token).catch(() => {});
    await agent.stop();
    if (functionId) {
      const images = spawnSync('podman', ['images', '-q', '--filter', `label=containerpub.function=${functionId}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
      if (images.length) spawnSync('podman', ['rmi', '-f', ...images], { stdio: 'ignore' });
    }
    await server.stop();
    rmSync(serverDir, { recursive: true, force: true });
    rmSync(agentDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
