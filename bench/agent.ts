// `npm run bench -- agent`: the agent's cold start, warm Invoke latency and throughput over real gRPC, against a
// baseline in the same run — the same request sent straight to the container's unix socket — and the host
// memory of an idle warm container. See bench/README.md.
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { createAgentClient, type AgentClient } from '../proto/loader.js';
import { sendCredential } from '../proto/auth.js';
import { startAgentProcess } from '../tests/helpers/server.js';
import { fnArtifact, buildImageOverGrpc, invokeMessage } from '../tests/helpers/agent.js';
import { directCall, pct, streamInvoker, timed, warmContainerOf } from './lib.js';
import { NODE_PATH } from '../node-agent/src/images/runtime-image.js';

/** One container taking up to 16 calls at once, a whole CPU. */
const BENCH_LIMITS = { limits: { cpus: 1, concurrency: 16, maxInstances: 1 } };

const COLD = Number(process.env.BENCH_COLD ?? 15);
const SEQ = Number(process.env.BENCH_SEQ ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CREDENTIAL = 'bench-credential-0123456789abcdef';

const fmt = (ms: number) => `${ms.toFixed(3)} ms`;

type Reply = { outcome: string; status: number; timings: { coldStart: boolean; prewarmed: boolean; createMs: number; startMs: number; readyMs: number; runMs: number } | null };

/** The limits functions get by default (128 MB, 0.5 CPU): what cold starts are measured with. */
const DEFAULT_LIMITS = { memoryMb: 128, cpus: 0.5, concurrency: 1, maxInstances: 1 };

function invoke(client: AgentClient, functionId: string, image: string, concurrency = 1, limits: object = BENCH_LIMITS.limits): Promise<Reply> {
  return new Promise((resolve, reject) =>
    client.Invoke(
      invokeMessage(functionId, image, { limits: { ...limits, concurrency } }),
      { deadline: Date.now() + 15_000 },
      (err: grpc.ServiceError | null, r?: Reply) => (err ? reject(err) : r!.outcome !== 'OUTCOME_OK' ? reject(new Error(r!.outcome)) : resolve(r!)),
    ),
  );
}

interface Memory {
  cgroupMiB: number;
  anonMiB: number;
  pssMiB: number;
  rssMiB: number;
}

/** A container's memory: its cgroup's usage, and its process's private anonymous memory, PSS and RSS. */
function memoryOf(pid: number, memPath: string | undefined): Memory {
  const cgroupBytes = memPath ? Number(readFileSync(join('/sys/fs/cgroup/memory', memPath, 'memory.usage_in_bytes'), 'utf8')) : NaN;
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? NaN);
  return { cgroupMiB: cgroupBytes / 2 ** 20, anonMiB: kb('Pss_Anon') / 1024, pssMiB: kb('Pss') / 1024, rssMiB: kb('Rss') / 1024 };
}

/** The memory of a running container, by its id; undefined when it is not running. */
function containerMemory(id: string): Memory | undefined {
  const pid = Number(spawnSync('podman', ['inspect', '-f', '{{.State.Pid}}', id], { encoding: 'utf8' }).stdout.trim());
  if (!pid) return undefined;
  return memoryOf(pid, readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').map((l) => l.split(':')).find(([, c]) => c?.split(',').includes('memory'))?.[2]);
}

/** A container running `node -e script` from `image`, isolated and limited as the agent runs function containers. */
function floorContainer(image: string, script: string): string {
  const r = spawnSync('podman', ['run', '-d', '--runtime', 'runc', '--memory', '128m', '--memory-swap', '128m', '--cpus', '1', '--pids-limit', '128', '--network', 'none', '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--user', '65534:65534', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096', '--log-driver', 'none', '-e', 'MALLOC_ARENA_MAX=1', '-e', 'MALLOC_TRIM_THRESHOLD_=65536', '--label', 'containerpub.bench=floor', '--entrypoint', NODE_PATH, image, '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`floor container: ${r.stderr}`);
  return r.stdout.trim();
}

/** CPU time (µs) used so far by the agent process, the warm container's cgroup and this process. */
interface CpuMeters {
  agent: () => number;
  container: () => number;
}
let meters: CpuMeters = { agent: () => 0, container: () => 0 };
const cpuSpent: Record<string, { agent: number; container: number; client: number }> = {};

function processCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime + stime, in clock ticks (100/s)
}

/** Calls per second with `callers` concurrent callers; records each side's CPU µs per call under `label`. */
async function throughput(label: string, fn: () => Promise<unknown>, callers: number, seconds: number): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let n = 0;
  const a0 = meters.agent();
  const k0 = meters.container();
  const c0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (Date.now() < end) {
        await fn();
        n++;
      }
    }),
  );
  const c = process.cpuUsage(c0);
  cpuSpent[label] = { agent: (meters.agent() - a0) / n, container: (meters.container() - k0) / n, client: (c.user + c.system) / n };
  return n / seconds;
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'cpub-bench-agent-'));
  const agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: dataDir, CPUB_AGENT_CREDENTIAL: CREDENTIAL, CPUB_AGENT_LOG_LEVEL: 'info' }, { logFile: join(dataDir, 'agent.log'), nodeArgs: (process.env.BENCH_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean) });
  const client = createAgentClient(agent.url, grpc.credentials.createInsecure(), { interceptors: [sendCredential(CREDENTIAL)] });
  const ids: string[] = [];
  try {
    const art = await fnArtifact(`async () => new Response('ok')`);
    console.log(`agent ${agent.url}; building ${COLD + 1} function images…`);
    const images: [string, string][] = [];
    for (let i = 0; i <= COLD; i++) {
      const id = randomUUID();
      ids.push(id);
      images.push([id, await buildImageOverGrpc(client, id, art)]);
    }

    // Cold: the first Invoke of each version (no warm container) → response. Calls come 1 s apart, as cold
    // starts do (not back to back): a stem taken by one is replaced before the next.
    const coldStarts = async (c: AgentClient, wantPrewarmed: boolean) => {
      const ms: number[] = [];
      const phases: Reply['timings'][] = [];
      for (const [id, image] of images.slice(1)) {
        await new Promise((r) => setTimeout(r, 1000));
        const t0 = performance.now();
        const r = await invoke(c, id, image, 1, DEFAULT_LIMITS);
        ms.push(performance.now() - t0);
        phases.push(r.timings!);
        if (!r.timings?.coldStart) throw new Error('expected a cold start');
      }
      const prewarmed = phases.filter((p) => p!.prewarmed).length;
      if (wantPrewarmed ? prewarmed === 0 : prewarmed > 0) throw new Error(`${prewarmed} of ${phases.length} cold starts used a stem`);
      return { ms, phases: phases.map((p) => p!), prewarmed };
    };
    const stemCold = await coldStarts(client, true);
    // The same versions cold on a second agent that keeps no stems: create and start on the call's path.
    const bareDir = mkdtempSync(join(tmpdir(), 'cpub-bench-agent-'));
    const bare = await startAgentProcess({ CPUB_AGENT_DATA_DIR: bareDir, CPUB_AGENT_CREDENTIAL: CREDENTIAL, CPUB_AGENT_STEM_CELLS: '0' }, { logFile: join(bareDir, 'agent.log') });
    const bareClient = createAgentClient(bare.url, grpc.credentials.createInsecure(), { interceptors: [sendCredential(CREDENTIAL)] });
    const scratchCold = await coldStarts(bareClient, false).finally(async () => {
      bareClient.close();
      await bare.stop();
      rmSync(bareDir, { recursive: true, force: true });
    });

    const [warmId, warmImage] = images[0]!;
    await invoke(client, warmId, warmImage, 16);
    // The warm container (possibly a claimed stem, so not findable by label): its id from the agent's Watch.
    const cid = await warmContainerOf(client, warmId);
    const [pidText, runDir] = spawnSync('podman', ['inspect', '-f', '{{.State.Pid}} {{range .Mounts}}{{if eq .Destination "/run/cpub"}}{{.Source}}{{end}}{{end}}', cid], { encoding: 'utf8' }).stdout.trim().split(' ');
    const pid = Number(pidText);
    const sock = join(runDir ?? '', 'fn.sock');
    if (!existsSync(sock)) throw new Error(`warm container socket not found at ${sock}`);
    const httpAgent = new Agent({ keepAlive: true, maxSockets: 64 });
    const cgroupLine = (controller: string) => readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').map((l) => l.split(':')).find(([, c]) => c?.split(',').includes(controller))?.[2];
    const memPath = cgroupLine('memory');
    const cpuPath = cgroupLine('cpuacct');
    const cpuFile = ['/sys/fs/cgroup/cpuacct', '/sys/fs/cgroup/cpu,cpuacct'].map((d) => join(d, cpuPath ?? '', 'cpuacct.usage')).find((f) => cpuPath && existsSync(f));
    meters = { agent: () => processCpuUs(agent.proc.pid!), container: () => (cpuFile ? Number(readFileSync(cpuFile, 'utf8')) / 1000 : NaN) };

    await timed(() => directCall(sock, httpAgent), 200); // warm-up
    await timed(() => invoke(client, warmId, warmImage, 16), 200);
    const baseSeq = await timed(() => directCall(sock, httpAgent), SEQ);
    const invSeq = await timed(() => invoke(client, warmId, warmImage, 16), SEQ);
    const base1 = await throughput('base1', () => directCall(sock, httpAgent), 1, SECONDS);
    const inv1 = await throughput('inv1', () => invoke(client, warmId, warmImage, 16), 1, SECONDS);
    const base16 = await throughput('base16', () => directCall(sock, httpAgent), 16, SECONDS);
    const inv16 = await throughput('inv16', () => invoke(client, warmId, warmImage, 16), 16, SECONDS);
    const stream = streamInvoker(client, (invocationId) => invokeMessage(warmId, warmImage, { invocationId, ...BENCH_LIMITS }));
    await timed(stream.invokeOne, 200);
    const strSeq = await timed(stream.invokeOne, SEQ);
    const str1 = await throughput('str1', stream.invokeOne, 1, SECONDS);
    const str16 = await throughput('str16', stream.invokeOne, 16, SECONDS);
    stream.close();

    // Host memory of an idle warm container, right after the load and once it has settled (V8 gives back its
    // grown young generation after some idle seconds), and of a stem that never ran a call.
    const afterLoad = memoryOf(pid, memPath);
    // Floors in the same run, idle as long: Node alone (no shim, no calls) from the same image, the same
    // isolation as function containers, and Node having made one Request and one Response (Node loads its fetch
    // classes, undici, on first use; every function's handler takes a Request and returns a Response).
    const floors = [
      ['Node alone', 'setInterval(() => {}, 1e9)'],
      ['Node with Request/Response loaded', `new Request('http://x/', { method: 'POST', body: 'x' }); new Response('ok'); setInterval(() => {}, 1e9)`],
    ].map(([label, script]) => ({ label: label!, id: floorContainer(spawnSync('podman', ['inspect', '-f', '{{.ImageName}}', cid], { encoding: 'utf8' }).stdout.trim(), script!) }));
    let settled = afterLoad;
    for (let i = 0; i < 12; i++) {
      await new Promise((r) => setTimeout(r, 2500));
      const m = memoryOf(pid, memPath);
      if (m.cgroupMiB < settled.cgroupMiB) settled = m;
    }
    const floorMem = floors.map((f) => ({ label: f.label, mem: containerMemory(f.id) }));
    for (const f of floors) spawnSync('podman', ['rm', '-f', '-t', '0', f.id]);
    const stemId = spawnSync('podman', ['ps', '-q', '--no-trunc', '--filter', 'name=^cpub-stem-', '--filter', 'label=containerpub.stem=true'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
    const stemMem = stemId ? containerMemory(stemId) : undefined;

    const p50 = (xs: number[]) => pct(xs, 50);
    const cold = stemCold.ms;
    for (const [label, c] of [
      [`cold start (Invoke, no warm container → response), stems on (default)`, stemCold],
      [`cold start, stems off (--stem-cells 0: create + start on the call's path)`, scratchCold],
    ] as const) {
      console.log(`${label}, n=${c.ms.length}: p50 ${fmt(p50(c.ms))}, p95 ${fmt(pct(c.ms, 95))}   ${c.prewarmed} of ${c.ms.length} from a stem`);
      const ph = c.phases;
      console.log(`  phases p50: create ${p50(ph.map((p) => p.createMs))} ms, start ${p50(ph.map((p) => p.startMs))} ms, ready/load ${p50(ph.map((p) => p.readyMs))} ms, run ${p50(ph.map((p) => p.runMs))} ms`);
    }
    console.log(`  goal: cold start p50 ≤ 200 ms`);
    console.log(`warm, 1 caller, n=${SEQ}:   Invoke p50 ${fmt(p50(invSeq))} p99 ${fmt(pct(invSeq, 99))}   baseline (unix socket) p50 ${fmt(p50(baseSeq))} p99 ${fmt(pct(baseSeq, 99))}`);
    console.log(`                           InvokeStream p50 ${fmt(p50(strSeq))} p99 ${fmt(pct(strSeq, 99))}`);
    console.log(`  p50 above baseline: unary Invoke ${fmt(p50(invSeq) - p50(baseSeq))}, InvokeStream ${fmt(p50(strSeq) - p50(baseSeq))}   (goal ≤ 0.5 ms)`);
    console.log(`calls/s, 1 caller:   unary Invoke ${inv1.toFixed(0)}   InvokeStream ${str1.toFixed(0)}   baseline ${base1.toFixed(0)}`);
    console.log(`calls/s, 16 callers: unary Invoke ${inv16.toFixed(0)}   InvokeStream ${str16.toFixed(0)}   baseline ${base16.toFixed(0)}   (goal ≥ 5000 Invokes/s)`);
    const us = (label: string) => {
      const c = cpuSpent[label]!;
      return `agent ${c.agent.toFixed(0)}, container ${c.container.toFixed(0)}, caller ${c.client.toFixed(0)}`;
    };
    console.log(`CPU µs per call at 16 callers: baseline ${us('base16')} | unary Invoke ${us('inv16')} | InvokeStream ${us('str16')}`);
    const mem = (m: Memory) => `cgroup ${m.cgroupMiB.toFixed(1)} MiB, private (anon) ${m.anonMiB.toFixed(1)} MiB, PSS ${m.pssMiB.toFixed(1)} MiB, RSS ${m.rssMiB.toFixed(1)} MiB`;
    console.log(`warm container right after the load:   ${mem(afterLoad)}`);
    console.log(`the same, idle for 30 s (lowest seen):  ${mem(settled)}   (goal ≤ 10 MB)`);
    if (stemMem) console.log(`a stem (idle, never called):           ${mem(stemMem)}`);
    for (const f of floorMem) if (f.mem) console.log(`floor, ${f.label}:`.padEnd(39) + ` ${mem(f.mem)}`);
    console.log(
      JSON.stringify({
        bench: 'agent',
        coldP50Ms: +p50(cold).toFixed(2),
        coldP95Ms: +pct(cold, 95).toFixed(2),
        coldNoStemP50Ms: +p50(scratchCold.ms).toFixed(2),
        coldNoStemP95Ms: +pct(scratchCold.ms, 95).toFixed(2),
        warmP50Ms: +p50(invSeq).toFixed(3),
        warmP99Ms: +pct(invSeq, 99).toFixed(3),
        baseP50Ms: +p50(baseSeq).toFixed(3),
        baseP99Ms: +pct(baseSeq, 99).toFixed(3),
        invokePerSec1: Math.round(inv1),
        invokePerSec16: Math.round(inv16),
        streamP50Ms: +p50(strSeq).toFixed(3),
        streamP99Ms: +pct(strSeq, 99).toFixed(3),
        streamPerSec1: Math.round(str1),
        streamPerSec16: Math.round(str16),
        basePerSec16: Math.round(base16),
        idleCgroupMiB: +settled.cgroupMiB.toFixed(1),
        idleAnonMiB: +settled.anonMiB.toFixed(1),
        afterLoadCgroupMiB: +afterLoad.cgroupMiB.toFixed(1),
        stemCgroupMiB: stemMem ? +stemMem.cgroupMiB.toFixed(1) : null,
        floorNodeCgroupMiB: floorMem[0]?.mem ? +floorMem[0].mem.cgroupMiB.toFixed(1) : null,
        floorFetchCgroupMiB: floorMem[1]?.mem ? +floorMem[1].mem.cgroupMiB.toFixed(1) : null,
        cpuUsPerCall16: cpuSpent,
      }),
    );
    httpAgent.destroy();
  } finally {
    for (const id of ids) await new Promise((r) => client.Remove({ functionId: id, version: 0 }, () => r(null)));
    client.close();
    await agent.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`error: ${err.stack ?? err}`);
  process.exit(1);
});
