// `npm run bench -- invoke`: warm calls through the whole chain — function URL (and POST …/invoke) on a real
// cpub-server, gRPC to a real cpub-agent, Podman — against the same function's warm container driven straight
// through its socket, both with wrk, in interleaved rounds; with the CPU the server and the agent processes spend
// per 1,000 calls and the execution rows written; and the host's floor for a chain of three processes: the same socket
// behind two plain Node relays. Then cold starts end to end. See bench/README.md.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import SQLite from 'better-sqlite3';
import { startServer, startAgentProcess } from '../tests/helpers/server.js';
import { client } from '../tests/helpers/http.js';
import { fnArtifact } from '../tests/helpers/agent.js';
import { benchAccount, containersOf, monotonicUs, pct, processCpuMs, profileWindows, startRelay, wrk, type WrkRun } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARM = Number(process.env.BENCH_WARM ?? 8);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 32);
const COLD = Number(process.env.BENCH_COLD ?? 10);
/** Also measure POST /api/functions/<name>/invoke (the API's call path) at CLIENTS clients: BENCH_API=0 leaves it out. */
const API = process.env.BENCH_API !== '0';
/** Also measure the host's floor (two plain Node relays in front of the socket): BENCH_FLOOR=0 leaves it out. */
const FLOOR = process.env.BENCH_FLOOR !== '0';
const JOIN = 'bench-join-token-0123456789abcdef';

/**
 * The function settings measured (BENCH_SETTINGS, comma-separated names). Every function is public and answers
 * `ok`; the rest is what `POST /api/functions` is given.
 */
const SETTINGS: Record<string, { label: string; limits: Record<string, number> }> = {
  default: { label: 'the defaults a user gets (128 MB, 0.5 CPU, 1 call at a time per container, ≤ 10 containers: at most 10 calls in flight, the rest are 429s)', limits: {} },
  half64: { label: 'the default 0.5 CPU, one container taking up to 64 calls at once (concurrency 64, maxInstances 1)', limits: { concurrency: 64, maxInstances: 1 } },
  one64: { label: 'cpus: 1, one container taking up to 64 calls at once (concurrency 64, maxInstances 1)', limits: { cpus: 1, concurrency: 64, maxInstances: 1 } },
  cpu1: { label: 'cpus: 1, otherwise the defaults (at most 10 calls in flight, the rest are 429s)', limits: { cpus: 1 } },
};
const chosen = (process.env.BENCH_SETTINGS ?? 'default,half64,one64').split(',').filter(Boolean);
for (const s of chosen) if (!SETTINGS[s]) throw new Error(`unknown setting ${s}: one of ${Object.keys(SETTINGS).join(', ')}`);

const fmt = (ms: number) => `${ms.toFixed(3)} ms`;
const median = (xs: number[]) => pct(xs, 50);

/** One measured wrk run and what each process spent meanwhile. */
interface Window extends WrkRun {
  /**
   * CPU ms of the cpub-server process, the cpub-agent process (on the floor's runs: the first relay and the second, in
   * their places) and the function's containers (cgroups) during the run.
   */
  serverMs: number;
  agentMs: number;
  containerMs: number;
  /** Execution rows written for the function during the run. */
  rows: number;
}

const per1000 = (ms: number, w: Window) => (ms / Math.max(1, w.requests - w.non2xx)) * 1000;

async function main() {
  const serverDir = mkdtempSync(join(tmpdir(), 'cpub-bench-server-'));
  const agentDir = mkdtempSync(join(tmpdir(), 'cpub-bench-agent-'));
  const args = (v: string | undefined) => (v ?? '').split(' ').filter(Boolean);
  // Both are processes of their own (tests/helpers/server.ts spawns `node bin/…`): their /proc/<pid>/stat is theirs alone.
  // BENCH_OTLP=<url>: both trace every call to that OTLP endpoint (to profile tracing; `npm run bench -- tracing` measures its cost).
  const otel = process.env.BENCH_OTLP ? { OTEL_EXPORTER_OTLP_ENDPOINT: process.env.BENCH_OTLP } : {};
  const server = await startServer({ CPUB_DATA_DIR: serverDir, CPUB_JOIN_TOKEN: JOIN, ...otel }, { logFile: join(serverDir, 'server.log'), nodeArgs: args(process.env.BENCH_SERVER_NODE_ARGS) });
  const agent = await startAgentProcess(
    { CPUB_AGENT_DATA_DIR: agentDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN, ...otel },
    { logFile: join(agentDir, 'agent.log'), nodeArgs: args(process.env.BENCH_AGENT_NODE_ARGS) },
  );
  const api = client(server.url);
  const functionIds: string[] = [];
  let db: SQLite.Database | undefined;
  let token = '';
  const relays: { proc: { kill(): boolean } }[] = [];
  try {
    const account = await benchAccount(api);
    token = account.token;
    const handle = account.handle;
    const art = await fnArtifact(`() => new Response('ok')`);
    const deploy = async (name: string, limits: object) => {
      const created = await api.post('/api/functions', { name, auth: 'public', ...limits }, token);
      if (created.status !== 201) throw new Error(`create ${name}: ${created.text}`);
      functionIds.push(created.body.function.id);
      const res = await fetch(`${server.url}/api/functions/${name}/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
      if (res.status !== 201) throw new Error(`deploy ${name}: ${res.status} ${await res.text()}`);
      return created.body.function.id as string;
    };
    // The server's database, read-only, to count the execution rows each run wrote (SQLite in WAL mode: a reader never blocks the server).
    db = new SQLite(join(serverDir, 'containerpub.db'), { readonly: true, fileMustExist: true });
    // (Records keep the function's number, from record_numbers.)
    const countRows = db.prepare("SELECT count(*) AS n FROM executions WHERE fn = (SELECT no FROM record_numbers WHERE kind = 'function' AND name = ?)").pluck();

    console.log(`server ${server.url} (pid ${server.proc.pid}, SQLite, log level info), agent ${agent.url} (pid ${agent.proc.pid}); deploying ${chosen.join(', ')}…`);
    const auth = { authorization: `Bearer ${token}` };
    const fns: { key: string; id: string; url: string; invokeUrl: string; socket: string; containers: () => number; ids: string[]; floor?: { url: string; pids: [number, number]; target: string } }[] = [];
    for (const key of chosen) {
      const name = `noop-${key}`;
      const id = await deploy(name, SETTINGS[key]!.limits);
      const url = `${server.url}/fn/${handle}/${name}`;
      const invokeUrl = `${server.url}/api/functions/${name}/invoke`;
      // Warm-up: the containers the load needs, the connections, and the JIT of every process on the path (a
      // Node process's first seconds of load run unoptimised code; what a user sees is the steady state).
      await wrk(url, { connections: CLIENTS, seconds: WARM / 2 });
      if (API) await wrk(invokeUrl, { connections: CLIENTS, seconds: WARM / 4, headers: auth, post: '{}' });
      fns.push({ key, id, url, invokeUrl, ...containersOf(id) });
    }
    // The host's floor for a chain of three processes: wrk → a relay (TCP, as wrk → server) → a relay (TCP, as server
    // → agent) → the container's socket, each relay a plain Node process passing bytes on as they come (bench/lib.ts
    // RELAY) — the hops the chain makes and the least a process between them does, with none of our code.
    // The second relay connects to the socket a file names (written before each round: see below).
    if (FLOOR)
      for (const f of fns) {
        const target = join(serverDir, `floor-${f.key}`);
        writeFileSync(target, f.socket);
        const second = await startRelay('tcp', `file:${target}`);
        const first = await startRelay('tcp', `tcp:${second.port}`);
        relays.push(second, first);
        f.floor = { url: `http://127.0.0.1:${first.port}/`, pids: [first.proc.pid!, second.proc.pid!], target };
      }
    // The baselines' JIT (the shims', the relays') warm too.
    for (const f of fns) {
      await wrk('/', { connections: CLIENTS, seconds: WARM / 4, unixSocket: f.socket, headers: SHIM_HEADERS });
      if (f.floor) await wrk(f.floor.url, { connections: CLIENTS, seconds: WARM / 4, headers: SHIM_HEADERS });
    }

    // With BENCH_PROFILE_WINDOWS=<file>, each measured run's start and end (CLOCK_MONOTONIC, µs: the clock of a
    // .cpuprofile's timestamps) go to that file, for bench/cpuprofile.ts to take only those samples.
    const ran = profileWindows();
    const measure = async (f: (typeof fns)[number], name: string, run: () => Promise<WrkRun>, [sp, ap] = [server.proc.pid!, agent.proc.pid!]): Promise<Window> => {
      const [s0, a0, c0, r0] = [processCpuMs(sp), processCpuMs(ap), f.containers(), countRows.get(f.id) as number];
      const t0Us = monotonicUs();
      const w = await run();
      const t1Us = monotonicUs();
      const out = { ...w, serverMs: processCpuMs(sp) - s0, agentMs: processCpuMs(ap) - a0, containerMs: f.containers() - c0, rows: (countRows.get(f.id) as number) - r0 };
      ran({ setting: f.key, run: name, t0Us, t1Us, calls: w.requests - w.non2xx, serverMs: out.serverMs, agentMs: out.agentMs });
      return out;
    };

    // The function's containers warm now: the baseline's socket (and the floor's), and whose CPU counts.
    const takeWarm = (f: (typeof fns)[number], warm = containersOf(f.id)) => {
      Object.assign(f, warm);
      if (f.floor) writeFileSync(f.floor.target, f.socket);
    };

    const loadAtStart = loadavg().map((x) => +x.toFixed(2));
    // Rounds, each taking every path of every setting in turn, so a slow spell of this shared machine falls on all of them.
    type Round = { url1: Window; sock1: Window; url: Window; sock: Window; api?: Window; floor1?: Window; floor?: Window };
    const rounds = new Map<string, Round[]>(chosen.map((k) => [k, []]));
    for (let i = 0; i < ROUNDS; i++) {
      for (const f of fns) {
        // The agent may have stopped a container idle while the other settings ran (its learned keep-alive) and
        // started another: a call brings one up if none is warm, and the baseline takes the one warm now.
        await (await fetch(f.url)).arrayBuffer();
        takeWarm(f);
        const url1 = await measure(f, 'url1', () => wrk(f.url, { connections: 1, seconds: SECONDS }));
        const sock1 = await measure(f, 'socket1', () => wrk('/', { connections: 1, seconds: SECONDS, unixSocket: f.socket, headers: SHIM_HEADERS }));
        // Warm calls are what is measured: the containers the load needs, started again if the agent stopped them
        // while the runs at 1 client and the other settings' left them idle (its learned keep-alive keeps an idle
        // container ≥ 60 s; `npm run bench -- scaling` measures that policy) — and new ones warmed up as at the start.
        await wrk(f.url, { connections: CLIENTS, seconds: 2 });
        const now = containersOf(f.id);
        if (now.ids.some((id) => !f.ids.includes(id))) {
          await wrk(f.url, { connections: CLIENTS, seconds: WARM / 2 });
          takeWarm(f);
        } else takeWarm(f, now);
        const url = await measure(f, 'url', () => wrk(f.url, { connections: CLIENTS, seconds: SECONDS }));
        const sock = await measure(f, 'socket', () => wrk('/', { connections: CLIENTS, seconds: SECONDS, unixSocket: f.socket, headers: SHIM_HEADERS }));
        const apiRun = API ? await measure(f, 'api', () => wrk(f.invokeUrl, { connections: CLIENTS, seconds: SECONDS, headers: auth, post: '{}' })) : undefined;
        const fl = f.floor;
        const floor1 = fl && (await measure(f, 'floor1', () => wrk(fl.url, { connections: 1, seconds: SECONDS, headers: SHIM_HEADERS }), fl.pids));
        const floor = fl && (await measure(f, 'floor', () => wrk(fl.url, { connections: CLIENTS, seconds: SECONDS, headers: SHIM_HEADERS }), fl.pids));
        rounds.get(f.key)!.push({ url1, sock1, url, sock, ...(apiRun ? { api: apiRun } : {}), ...(floor1 && floor ? { floor1, floor } : {}) });
        console.log(
          `round ${i + 1}/${ROUNDS} ${f.key}: 1 client: URL p50 ${fmt(url1.p50)}, socket ${fmt(sock1.p50)}   ${CLIENTS} clients: URL ${url.rps.toFixed(0)}/s${url.non2xx ? ` (${url.non2xx} non-2xx)` : ''} (server ${per1000(url.serverMs, url).toFixed(0)} ms, agent ${per1000(url.agentMs, url).toFixed(0)} ms per 1,000; rows ${url.rows}/${url.requests - url.non2xx}), socket ${sock.rps.toFixed(0)}/s` +
            (apiRun ? `, …/invoke ${apiRun.rps.toFixed(0)}/s` : '') +
            (floor1 && floor ? `   floor: 1 client p50 ${fmt(floor1.p50)}, ${CLIENTS} clients ${floor.rps.toFixed(0)}/s` : ''),
        );
      }
    }

    // Summary: per setting, medians over rounds of each figure.
    const summary: Record<string, unknown> = {};
    // kind: the chain (CPU of the server and agent, rows), the floor (CPU of its two relays), or the socket.
    const line = (label: string, ws: Window[], kind: 'chain' | 'floor' | 'socket') => {
      const chain = kind === 'chain';
      const procs = kind !== 'socket';
      const m = (f: (w: Window) => number) => median(ws.map(f));
      const okRps = (w: Window) => (w.rps * (w.requests - w.non2xx)) / Math.max(1, w.requests);
      const cols = [label.padEnd(22), m(okRps).toFixed(0).padStart(7), fmt(m((w) => w.p50)).padStart(10), fmt(m((w) => w.p99)).padStart(10)];
      cols.push(procs ? m((w) => per1000(w.serverMs, w)).toFixed(0).padStart(8) : '—'.padStart(8), procs ? m((w) => per1000(w.agentMs, w)).toFixed(0).padStart(8) : '—'.padStart(8), m((w) => per1000(w.containerMs, w)).toFixed(0).padStart(8));
      const ok = ws.reduce((n, w) => n + w.requests - w.non2xx, 0);
      const rows = ws.reduce((n, w) => n + w.rows, 0);
      const bad = ws.reduce((n, w) => n + w.non2xx, 0);
      cols.push(chain ? `${rows}/${ok}`.padStart(15) : ''.padStart(15), String(bad).padStart(7));
      console.log(cols.join('  '));
      return {
        rps: Math.round(m(okRps)),
        p50Ms: +m((w) => w.p50).toFixed(3),
        p99Ms: +m((w) => w.p99).toFixed(3),
        ...(chain ? { serverCpuMsPer1000: Math.round(m((w) => per1000(w.serverMs, w))), agentCpuMsPer1000: Math.round(m((w) => per1000(w.agentMs, w))) } : {}),
        ...(kind === 'floor' ? { relayCpuMsPer1000: [Math.round(m((w) => per1000(w.serverMs, w))), Math.round(m((w) => per1000(w.agentMs, w)))] } : {}),
        containerCpuMsPer1000: Math.round(m((w) => per1000(w.containerMs, w))),
        calls200: ok,
        rows: chain ? rows : undefined,
        failed: bad,
      };
    };
    const load = loadavg().map((x) => +x.toFixed(2));
    console.log(`\nmedians of ${ROUNDS} interleaved rounds of ${SECONDS} s (wrk, 1 thread); calls/s and CPU count the calls answered 200 (CPU in ms per 1,000 of them: /proc/<pid>/stat of cpub-server and cpub-agent, the function's containers' cgroups); load average ${loadAtStart.join(' ')} before the rounds, ${load.join(' ')} after: this machine is shared`);
    for (const key of chosen) {
      const rs = rounds.get(key)!;
      console.log(`\n${key}: ${SETTINGS[key]!.label}`);
      console.log(['path'.padEnd(22), 'calls/s'.padStart(7), 'p50'.padStart(10), 'p99'.padStart(10), 'server'.padStart(8), 'agent'.padStart(8), 'contnr'.padStart(8), 'rows/200s'.padStart(15), 'non-2xx'.padStart(7)].join('  '));
      const s = {
        url: line(`URL, ${CLIENTS} clients`, rs.map((r) => r.url), 'chain'),
        socket: line(`socket, ${CLIENTS} clients`, rs.map((r) => r.sock), 'socket'),
        api: API ? line(`…/invoke, ${CLIENTS} clients`, rs.map((r) => r.api!), 'chain') : undefined,
        floor: FLOOR ? line(`floor, ${CLIENTS} clients`, rs.map((r) => r.floor!), 'floor') : undefined,
        url1: line('URL, 1 client', rs.map((r) => r.url1), 'chain'),
        socket1: line('socket, 1 client', rs.map((r) => r.sock1), 'socket'),
        floor1: FLOOR ? line('floor, 1 client', rs.map((r) => r.floor1!), 'floor') : undefined,
        // The latency goal, per round (chain and socket measured moments apart), then the median.
        aboveP50Ms1: +median(rs.map((r) => r.url1.p50 - r.sock1.p50)).toFixed(3),
        aboveP50Ms: +median(rs.map((r) => r.url.p50 - r.sock.p50)).toFixed(3),
        ratio: +median(rs.map((r) => r.url.rps / r.sock.rps)).toFixed(3),
        ...(FLOOR ? { floorAboveP50Ms1: +median(rs.map((r) => r.floor1!.p50 - r.sock1.p50)).toFixed(3), floorRatio: +median(rs.map((r) => r.floor!.rps / r.sock.rps)).toFixed(3) } : {}),
      };
      console.log(`URL p50 − socket p50: ${fmt(s.aboveP50Ms1)} at 1 client (goal ≤ 0.5 ms), ${fmt(s.aboveP50Ms)} at ${CLIENTS}; URL calls/s ÷ socket calls/s at ${CLIENTS}: ${s.ratio}`);
      if (FLOOR)
        console.log(`the floor (two plain Node relays before the socket; its CPU columns are theirs): p50 − socket p50 ${fmt(s.floorAboveP50Ms1!)} at 1 client; floor calls/s ÷ socket calls/s at ${CLIENTS}: ${s.floorRatio}`);
      summary[key] = s;
    }
    console.log(`goals at ${CLIENTS} clients: server ≤ 150 and agent ≤ 150 ms of CPU per 1,000 calls, ≥ 5,000 calls/s with a row each`);

    // Cold starts end to end: the first call of freshly deployed functions (default limits), one a second.
    const cold: number[] = [];
    const names = Array.from({ length: COLD }, (_, i) => `cold-${i}`);
    for (const name of names) await deploy(name, {});
    for (const name of names) {
      await new Promise((r) => setTimeout(r, 1000));
      const t0 = performance.now();
      const res = await fetch(`${server.url}/fn/${handle}/${name}`);
      await res.arrayBuffer();
      cold.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`cold call of ${name}: ${res.status}`);
    }
    if (cold.length) console.log(`cold start end to end (first URL call of a new function, default limits), n=${cold.length}: p50 ${fmt(pct(cold, 50))}, p95 ${fmt(pct(cold, 95))}   (goal p50 ≤ 250 ms)`);
    console.log(
      JSON.stringify({
        bench: 'invoke',
        rounds: ROUNDS,
        seconds: SECONDS,
        clients: CLIENTS,
        loadAverage: { before: loadAtStart, after: load },
        settings: summary,
        ...(cold.length ? { coldP50Ms: +pct(cold, 50).toFixed(2), coldP95Ms: +pct(cold, 95).toFixed(2) } : {}),
      }),
    );
  } finally {
    db?.close();
    for (const r of relays) r.proc.kill();
    for (const id of functionIds) await api.del(`/api/functions/${id}`, undefined, token).catch(() => {});
    await agent.stop();
    for (const id of functionIds) {
      const images = spawnSync('podman', ['images', '-q', '--filter', `label=containerpub.function=${id}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
      if (images.length) spawnSync('podman', ['rmi', '-f', ...images], { stdio: 'ignore' });
    }
    await server.stop();
    rmSync(serverDir, { recursive: true, force: true });
    rmSync(agentDir, { recursive: true, force: true });
  }
}

/** What the agent sends the shim with every call (an id and a deadline); fixed here, as wrk sends the same request each time. */
const SHIM_HEADERS = { 'cpub-invocation-id': '00000000-0000-7000-8000-000000000000', 'cpub-deadline': String(Date.now() + 24 * 3600_000) };

main().catch((err) => {
  console.error(`error: ${err.stack ?? err}`);
  process.exit(1);
});
