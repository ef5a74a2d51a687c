// `npm run bench -- fleet`: calls per second through one cpub-server with 1, 2 and 3 agents (separate
// processes on this one machine), the server's CPU per 1,000 calls, how the functions spread over the nodes,
// and the time from kill -9 of an agent (and from SIGSTOP, the heartbeat TTL's case) to its `down` status.
// See bench/README.md.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, startAgentProcess, type RunningServer } from '../tests/helpers/server.js';
import { client, type Client } from '../tests/helpers/http.js';
import { fnArtifact } from '../tests/helpers/agent.js';
import { processCpuMs, wrk } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const FUNCTIONS = Number(process.env.BENCH_FUNCTIONS ?? 3);
const JOIN = 'bench-join-token-fleet-0123456789';
/** Each function: one container taking up to 64 calls at once, a whole CPU (a smaller quota throttles it: the container, not the fleet, would be measured). */
const LIMITS = { memoryMb: 128, cpus: 1, timeoutMs: 30_000, concurrency: 64, maxInstances: 1 };

type NodeView = { id: string; name: string; status: string; warm: { functionId: string }[] };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Fleet {
  /** Ids of the functions this run made: their images are removed when it ends. */
  functionIds: string[];
  server: RunningServer;
  agents: RunningServer[];
  api: Client;
  token: string;
  dirs: string[];
}

async function startFleet(agentCount: number): Promise<Fleet> {
  const serverDir = mkdtempSync(join(tmpdir(), 'cpub-bench-fleet-'));
  const server = await startServer({ CPUB_DATA_DIR: serverDir, CPUB_JOIN_TOKEN: JOIN }, { logFile: join(serverDir, 'server.log') });
  const api = client(server.url);
  await api.post('/api/auth/register', { email: 'bench@example.com', password: 'bench-password-1' });
  const token = (await api.post('/api/auth/login', { email: 'bench@example.com', password: 'bench-password-1' })).body.accessToken as string;
  const agents: RunningServer[] = [];
  const dirs = [serverDir];
  for (let i = 0; i < agentCount; i++) {
    const dir = mkdtempSync(join(tmpdir(), `cpub-bench-fleet-agent${i}-`));
    dirs.push(dir);
    agents.push(await startAgentProcess({ CPUB_AGENT_DATA_DIR: dir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN, CPUB_AGENT_STEM_CELLS: '0' }, { logFile: join(dir, 'agent.log') }));
  }
  for (const end = Date.now() + 60_000; ; ) {
    const nodes = (await api.get<{ nodes: NodeView[] }>('/api/nodes', token)).body.nodes;
    if (nodes.filter((n) => n.status === 'up').length === agentCount) break;
    if (Date.now() > end) throw new Error('the agents did not come up');
    await new Promise((r) => setTimeout(r, 200));
  }
  return { functionIds: [], server, agents, api, token, dirs };
}

async function stopFleet(f: Fleet): Promise<void> {
  for (const a of f.agents) {
    a.proc.kill('SIGCONT');
    await a.stop();
  }
  await f.server.stop();
  for (const d of f.dirs) rmSync(d, { recursive: true, force: true });
  // The agents are gone; the images they built for this run's functions would stay in the host's store.
  for (const id of f.functionIds) {
    const images = spawnSync('podman', ['images', '-q', '--filter', `label=containerpub.function=${id}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    if (images.length) spawnSync('podman', ['rmi', '-f', ...images], { stdio: 'ignore' });
  }
}

async function waitForStatus(f: Fleet, id: string, status: string, from: number): Promise<number> {
  for (;;) {
    const n = (await f.api.get<NodeView>(`/api/nodes/${id}`, f.token)).body;
    if (n.status === status) return Date.now() - from;
    if (Date.now() - from > 60_000) throw new Error(`node ${id} not ${status} after 60 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function main() {
  const results: { agents: number; rps: number; p50: number; p99: number; cpuMsPer1000: number; agentCpuMsPer1000: number; spread: number[]; errors: number }[] = [];
  let killToDownMs = NaN;
  let stopToDownMs = NaN;
  for (const agentCount of [1, 2, 3]) {
    const f = await startFleet(agentCount);
    try {
      const handle = (await f.api.get('/api/users/me', f.token)).body.handle as string;
      const art = await fnArtifact(`() => new Response('ok')`);
      const paths: string[] = [];
      for (let i = 0; i < FUNCTIONS; i++) {
        const name = `noop-${i}`;
        const created = await f.api.post('/api/functions', { name, auth: 'public', ...LIMITS }, f.token);
        if (created.status !== 201) throw new Error(`create ${name}: ${created.text}`);
        f.functionIds.push(created.body.function.id as string);
        const res = await fetch(`${f.server.url}/api/functions/${name}/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${f.token}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
        if (res.status !== 201) throw new Error(`deploy ${name}: ${res.status} ${await res.text()}`);
        paths.push(`/fn/${handle}/${name}`);
      }
      await wrk(f.server.url, { connections: 8, seconds: 2, paths }); // warm-up: a container per function, the JIT
      await new Promise((r) => setTimeout(r, 1500)); // a heartbeat after the warm-up: where the warm containers are
      const nodes = (await f.api.get<{ nodes: NodeView[] }>('/api/nodes', f.token)).body.nodes;
      const spread = nodes.map((n) => n.warm.length);
      const pid = f.server.proc.pid!;
      const agentsCpu = () => f.agents.reduce((n, a) => n + processCpuMs(a.proc.pid!), 0);
      const rounds: { rps: number; p50: number; p99: number; requests: number; non2xx: number; cpuMs: number; agentCpuMs: number }[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const [cpu0, agents0] = [processCpuMs(pid), agentsCpu()];
        const w = await wrk(f.server.url, { connections: CONNECTIONS, seconds: SECONDS, paths });
        rounds.push({ ...w, cpuMs: processCpuMs(pid) - cpu0, agentCpuMs: agentsCpu() - agents0 });
      }
      const row = {
        agents: agentCount,
        rps: median(rounds.map((r) => r.rps)),
        p50: median(rounds.map((r) => r.p50)),
        p99: median(rounds.map((r) => r.p99)),
        cpuMsPer1000: median(rounds.map((r) => (r.cpuMs / r.requests) * 1000)),
        agentCpuMsPer1000: median(rounds.map((r) => (r.agentCpuMs / r.requests) * 1000)),
        spread,
        errors: rounds.reduce((n, r) => n + r.non2xx, 0),
      };
      results.push(row);
      console.log(
        `${agentCount} agent(s): ${row.rps.toFixed(0)} calls/s at ${CONNECTIONS} connections (median of ${ROUNDS} × ${SECONDS} s), p50 ${row.p50.toFixed(2)} ms p99 ${row.p99.toFixed(2)} ms; ` +
          `CPU per 1,000 calls: server ${row.cpuMsPer1000.toFixed(0)} ms, agents ${row.agentCpuMsPer1000.toFixed(0)} ms; warm functions per node ${spread.join('/')}; errors ${row.errors}`,
      );
      if (agentCount === 3) {
        // Detection: kill -9 (the port then refuses connections) and SIGSTOP (a hung agent: the heartbeat TTL).
        const [killed, stopped] = nodes;
        const ids = new Map(f.agents.map((a, i) => [readFileSync(join(f.dirs[i + 1]!, 'node-id'), 'utf8').trim(), a]));
        const t0 = Date.now();
        ids.get(killed!.id)!.proc.kill('SIGKILL');
        killToDownMs = await waitForStatus(f, killed!.id, 'down', t0);
        const t1 = Date.now();
        ids.get(stopped!.id)!.proc.kill('SIGSTOP');
        stopToDownMs = await waitForStatus(f, stopped!.id, 'down', t1);
        ids.get(stopped!.id)!.proc.kill('SIGCONT');
        console.log(`kill -9 of an agent → its node down: ${killToDownMs} ms; SIGSTOP (hung, heartbeat TTL 10 s) → down: ${stopToDownMs} ms   (goal ≤ 10,000 ms)`);
      }
    } finally {
      await stopFleet(f);
    }
  }
  const one = results[0]!;
  for (const r of results.slice(1)) console.log(`${r.agents} agents ÷ 1 agent: calls/s × ${(r.rps / one.rps).toFixed(2)}, server CPU per call × ${(r.cpuMsPer1000 / one.cpuMsPer1000).toFixed(2)}`);
  console.log(JSON.stringify({ bench: 'fleet', connections: CONNECTIONS, functions: FUNCTIONS, results, killToDownMs, stopToDownMs }));
}

main().catch((err) => {
  console.error(`error: ${err.stack ?? err}`);
  process.exit(1);
});
