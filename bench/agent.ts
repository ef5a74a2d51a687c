// `npm run bench -- agent`: the agent's cold start, warm Invoke latency and throughput over real gRPC, against a
// baseline in the same run — the same request sent straight to the container's unix socket — and the host
// memory of an idle warm container. See bench/README.md.
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
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

/** One container taking up to 16 calls at once, a whole CPU. */
const BENCH_LIMITS = { limits: { cpus: 1, concurrency: 16, maxInstances: 1 } };

const COLD = Number(process.env.BENCH_COLD ?? 15);
const SEQ = Number(process.env.BENCH_SEQ ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CREDENTIAL = 'bench-credential-0123456789abcdef';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const fmt = (ms: number) => `${ms.toFixed(3)} ms`;

type Reply = { outcome: string; status: number; timings: { coldStart: boolean; createMs: number; startMs: number; readyMs: number; runMs: number } | null };

function invoke(client: AgentClient, functionId: string, image: string, concurrency = 1): Promise<Reply> {
  return new Promise((resolve, reject) =>
    client.Invoke(
      invokeMessage(functionId, image, { limits: { ...BENCH_LIMITS.limits, concurrency } }),
      { deadline: Date.now() + 15_000 },
      (err: grpc.ServiceError | null, r?: Reply) => (err ? reject(err) : r!.outcome !== 'OUTCOME_OK' ? reject(new Error(r!.outcome)) : resolve(r!)),
    ),
  );
}

/** One long-lived InvokeStream; calls are messages on it, matched by invocation id. */
function streamInvoker(client: AgentClient, functionId: string, image: string) {
  const call = client.InvokeStream();
  const waiting = new Map<string, (r: { outcome: string }) => void>();
  call.on('data', (r: { invocationId: string; outcome: string }) => waiting.get(r.invocationId)?.(r));
  call.on('error', () => {});
  const invokeOne = () =>
    new Promise<void>((resolve, reject) => {
      const invocationId = randomUUID();
      waiting.set(invocationId, (r) => {
        waiting.delete(invocationId);
        if (r.outcome === 'OUTCOME_OK') resolve();
        else reject(new Error(r.outcome));
      });
      call.write(invokeMessage(functionId, image, { invocationId, ...BENCH_LIMITS }));
    });
  return { invokeOne, close: () => call.end() };
}

function direct(socketPath: string, agent: Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const r = request({ socketPath, path: '/', method: 'GET', agent, headers: { 'cpub-invocation-id': randomUUID(), 'cpub-deadline': String(Date.now() + 10_000) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    r.on('error', reject);
    r.end();
  });
}

async function timed(fn: () => Promise<unknown>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

async function throughput(fn: () => Promise<unknown>, callers: number, seconds: number): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (Date.now() < end) {
        await fn();
        n++;
      }
    }),
  );
  return n / seconds;
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'cpub-bench-agent-'));
  const agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: dataDir, CPUB_AGENT_CREDENTIAL: CREDENTIAL, CPUB_AGENT_LOG_LEVEL: 'info' }, { logFile: join(dataDir, 'agent.log') }).catch(
    async (err) => {
      throw err;
    },
  );
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

    // Cold: the first Invoke of each version (no warm container) → response.
    const cold: number[] = [];
    const phases: { createMs: number; startMs: number; readyMs: number; runMs: number }[] = [];
    for (const [id, image] of images.slice(1)) {
      const t0 = performance.now();
      const r = await invoke(client, id, image);
      cold.push(performance.now() - t0);
      phases.push(r.timings!);
      if (!r.timings?.coldStart) throw new Error('expected a cold start');
    }

    const [warmId, warmImage] = images[0]!;
    await invoke(client, warmId, warmImage, 16);
    const runDir = join(dataDir, 'run');
    const sock = readdirSync(runDir).map((d) => join(runDir, d, 'fn.sock')).find((p) => existsSync(p) && p.includes(warmId.slice(0, 12)));
    if (!sock) throw new Error('warm container socket not found');
    const httpAgent = new Agent({ keepAlive: true, maxSockets: 64 });

    await timed(() => direct(sock, httpAgent), 200); // warm-up
    await timed(() => invoke(client, warmId, warmImage, 16), 200);
    const baseSeq = await timed(() => direct(sock, httpAgent), SEQ);
    const invSeq = await timed(() => invoke(client, warmId, warmImage, 16), SEQ);
    const base1 = await throughput(() => direct(sock, httpAgent), 1, SECONDS);
    const inv1 = await throughput(() => invoke(client, warmId, warmImage, 16), 1, SECONDS);
    const base16 = await throughput(() => direct(sock, httpAgent), 16, SECONDS);
    const inv16 = await throughput(() => invoke(client, warmId, warmImage, 16), 16, SECONDS);
    const stream = streamInvoker(client, warmId, warmImage);
    await timed(stream.invokeOne, 200);
    const strSeq = await timed(stream.invokeOne, SEQ);
    const str1 = await throughput(stream.invokeOne, 1, SECONDS);
    const str16 = await throughput(stream.invokeOne, 16, SECONDS);
    stream.close();

    // Host memory of an idle warm container: its cgroup's usage and its processes' RSS.
    const cid = spawnSync('podman', ['ps', '-q', '--no-trunc', '--filter', `label=containerpub.function=${warmId}`], { encoding: 'utf8' }).stdout.trim().split('\n')[0]!;
    const pid = Number(spawnSync('podman', ['inspect', '-f', '{{.State.Pid}}', cid], { encoding: 'utf8' }).stdout.trim());
    const memPath = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').map((l) => l.split(':')).find(([, c]) => c?.split(',').includes('memory'))?.[2];
    const cgroupBytes = memPath ? Number(readFileSync(join('/sys/fs/cgroup/memory', memPath, 'memory.usage_in_bytes'), 'utf8')) : NaN;
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
    // Private memory (USS): what this container's process costs the host beyond pages shared with others.
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(rollup)?.[1] ?? 0);
    const ussKb = kb('Private_Clean') + kb('Private_Dirty');
    const pssKb = kb('Pss');

    const p50 = (xs: number[]) => pct(xs, 50);
    console.log(`cold start (Invoke, no warm container → response), n=${cold.length}: p50 ${fmt(p50(cold))}, p95 ${fmt(pct(cold, 95))}   (goal p50 ≤ 200 ms)`);
    console.log(`  phases p50: create ${p50(phases.map((p) => p.createMs))} ms, start ${p50(phases.map((p) => p.startMs))} ms, ready ${p50(phases.map((p) => p.readyMs))} ms, run ${p50(phases.map((p) => p.runMs))} ms`);
    console.log(`warm, 1 caller, n=${SEQ}:   Invoke p50 ${fmt(p50(invSeq))} p99 ${fmt(pct(invSeq, 99))}   baseline (unix socket) p50 ${fmt(p50(baseSeq))} p99 ${fmt(pct(baseSeq, 99))}`);
    console.log(`                           InvokeStream p50 ${fmt(p50(strSeq))} p99 ${fmt(pct(strSeq, 99))}`);
    console.log(`  p50 above baseline: unary Invoke ${fmt(p50(invSeq) - p50(baseSeq))}, InvokeStream ${fmt(p50(strSeq) - p50(baseSeq))}   (goal ≤ 0.5 ms)`);
    console.log(`calls/s, 1 caller:   unary Invoke ${inv1.toFixed(0)}   InvokeStream ${str1.toFixed(0)}   baseline ${base1.toFixed(0)}`);
    console.log(`calls/s, 16 callers: unary Invoke ${inv16.toFixed(0)}   InvokeStream ${str16.toFixed(0)}   baseline ${base16.toFixed(0)}   (goal ≥ 5000 Invokes/s)`);
    console.log(
      `idle warm container: private (USS) ${(ussKb / 1024).toFixed(1)} MiB, PSS ${(pssKb / 1024).toFixed(1)} MiB, RSS ${(rssKb / 1024).toFixed(1)} MiB, cgroup usage ${(cgroupBytes / 2 ** 20).toFixed(1)} MiB   (goal ≤ 10 MB)`,
    );
    console.log(
      JSON.stringify({
        bench: 'agent',
        coldP50Ms: +p50(cold).toFixed(2),
        coldP95Ms: +pct(cold, 95).toFixed(2),
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
        idleCgroupMiB: +(cgroupBytes / 2 ** 20).toFixed(1),
        idleRssMiB: +(rssKb / 1024).toFixed(1),
        idleUssMiB: +(ussKb / 1024).toFixed(1),
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
