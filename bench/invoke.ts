// `npm run bench -- invoke`: warm calls through the whole chain — function URL and POST …/invoke on a real
// cpub-server, gRPC to a real cpub-agent, Podman — against two baselines measured in the same run (the same
// function's warm Invoke straight to the agent over gRPC, and a request straight to its container's socket),
// and cold starts end to end. See bench/README.md.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { createAgentClient } from '../proto/loader.js';
import { sendCredential } from '../proto/auth.js';
import { startServer, startAgentProcess } from '../tests/helpers/server.js';
import { client } from '../tests/helpers/http.js';
import { fnArtifact, invokeMessage } from '../tests/helpers/agent.js';
import { functionImageTag } from '../node-agent/src/images/function-image.js';
import { directCall, pct, streamInvoker, timed, warmContainerOf, wrk, type WrkRun } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARM = Number(process.env.BENCH_WARM ?? 8);
const SEQ = Number(process.env.BENCH_SEQ ?? 1000);
const COLD = Number(process.env.BENCH_COLD ?? 10);
const JOIN = 'bench-join-token-0123456789abcdef';
const fmt = (ms: number) => `${ms.toFixed(3)} ms`;
/** The no-op function's settings: one container taking up to 64 calls at once, a whole CPU. */
const LIMITS = { memoryMb: 128, cpus: 1, timeoutMs: 30_000, concurrency: 64, maxInstances: 1 };


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
  const serverDir = mkdtempSync(join(tmpdir(), 'cpub-bench-server-'));
  const agentDir = mkdtempSync(join(tmpdir(), 'cpub-bench-agent-'));
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const server = await startServer({ CPUB_DATA_DIR: serverDir, CPUB_JOIN_TOKEN: JOIN }, { logFile: join(serverDir, 'server.log'), nodeArgs });
  const agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: agentDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN }, { logFile: join(agentDir, 'agent.log') });
  const api = client(server.url);
  const functionIds: string[] = [];
  let grpcClient: ReturnType<typeof createAgentClient> | undefined;
  let token = '';
  try {
    await api.post('/api/auth/register', { email: 'bench@example.com', password: 'bench-password-1' });
    token = (await api.post('/api/auth/login', { email: 'bench@example.com', password: 'bench-password-1' })).body.accessToken as string;
    const handle = (await api.get('/api/users/me', token)).body.handle as string;
    for (const end = Date.now() + 30_000; (await api.get('/api/nodes', token)).body.nodes?.[0]?.status !== 'up'; ) {
      if (Date.now() > end) throw new Error('the agent did not come up');
      await new Promise((r) => setTimeout(r, 200));
    }
    const deploy = async (name: string, limits: object) => {
      const created = await api.post('/api/functions', { name, auth: 'public', ...limits }, token);
      if (created.status !== 201) throw new Error(`create ${name}: ${created.text}`);
      functionIds.push(created.body.function.id);
      const art = await fnArtifact(`() => new Response('ok')`);
      const res = await fetch(`${server.url}/api/functions/${name}/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
      if (res.status !== 201) throw new Error(`deploy ${name}: ${res.status} ${await res.text()}`);
      return { id: created.body.function.id as string, digest: ((await res.json()) as { deployment: { digest: string } }).deployment.digest };
    };

    console.log(`server ${server.url} (SQLite, log level info), agent ${agent.url}; deploying…`);
    const noop = await deploy('noop', LIMITS);
    const url = `${server.url}/fn/${handle}/noop`;
    const invokeUrl = `${server.url}/api/functions/noop/invoke`;
    const auth = { authorization: `Bearer ${token}` };
    // Warm-up: the container, the connections, and the JIT of every process on the path (a server's first
    // seconds of load run unoptimised code; what a user sees is the steady state).
    await wrk(url, { connections: 32, seconds: WARM / 2 });
    await wrk(invokeUrl, { connections: 32, seconds: WARM / 2, headers: auth, post: '{}' });

    // Baselines in the same run: the agent over gRPC (InvokeStream, as the control plane calls it), and the container's socket.
    const credential = readFileSync(join(agentDir, 'node-credential'), 'utf8').trim();
    grpcClient = createAgentClient(agent.url, grpc.credentials.createInsecure(), { interceptors: [sendCredential(credential)] });
    const image = functionImageTag(noop.id, noop.digest);
    // As the control plane sends them: messages on one InvokeStream.
    const stream = streamInvoker(grpcClient, (invocationId) => invokeMessage(noop.id, image, { invocationId, functionName: 'noop', limits: { ...LIMITS, network: false } }));
    const viaGrpc = stream.invokeOne;
    const cid = await warmContainerOf(grpcClient, noop.id);
    const runDir = spawnSync('podman', ['inspect', '-f', '{{range .Mounts}}{{if eq .Destination "/run/cpub"}}{{.Source}}{{end}}{{end}}', cid], { encoding: 'utf8' }).stdout.trim();
    const httpAgent = new Agent({ keepAlive: true, maxSockets: 64 });
    const direct = () => directCall(join(runDir, 'fn.sock'), httpAgent);
    await timed(direct, 500);
    await timed(viaGrpc, 500);
    await throughput(viaGrpc, 32, 2);

    // Rounds, each measuring every path in turn, so a slow spell of this shared machine falls on all of them.
    const before = (await api.get('/api/functions/noop/stats?period=1h', token)).body.invocations as number;
    const rounds: { url1: WrkRun; url32: WrkRun; url64: WrkRun; api1: WrkRun; api32: WrkRun; grpcSeq: number[]; grpc32: number; directSeq: number[]; direct32: number }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const url1 = await wrk(url, { connections: 1, seconds: SECONDS });
      const url32 = await wrk(url, { connections: 32, seconds: SECONDS });
      const url64 = await wrk(url, { connections: 64, seconds: SECONDS });
      const api1 = await wrk(invokeUrl, { connections: 1, seconds: SECONDS, headers: auth, post: '{}' });
      const api32 = await wrk(invokeUrl, { connections: 32, seconds: SECONDS, headers: auth, post: '{}' });
      const grpcSeq = await timed(viaGrpc, SEQ);
      const grpc32 = await throughput(viaGrpc, 32, SECONDS);
      const directSeq = await timed(direct, SEQ);
      const direct32 = await throughput(direct, 32, SECONDS);
      rounds.push({ url1, url32, url64, api1, api32, grpcSeq, grpc32, directSeq, direct32 });
      console.log(`round ${i + 1}/${ROUNDS}: URL p50 ${fmt(url1.p50)}, ${url32.rps.toFixed(0)}/s at 32, ${url64.rps.toFixed(0)}/s at 64   …/invoke ${fmt(api1.p50)}, ${api32.rps.toFixed(0)}/s   gRPC ${fmt(pct(grpcSeq, 50))}, ${grpc32.toFixed(0)}/s   socket ${fmt(pct(directSeq, 50))}, ${direct32.toFixed(0)}/s`);
    }
    const after = (await api.get('/api/functions/noop/stats?period=1h', token)).body.invocations as number;
    stream.close();
    httpAgent.destroy();
    const med = (f: (r: (typeof rounds)[number]) => number) => pct(rounds.map(f), 50);
    const url1 = { p50: med((r) => r.url1.p50), p99: med((r) => r.url1.p99), rps: med((r) => r.url1.rps) };
    const url32 = { rps: med((r) => r.url32.rps) };
    const url64 = { rps: med((r) => r.url64.rps) };
    const api1 = { p50: med((r) => r.api1.p50), p99: med((r) => r.api1.p99), rps: med((r) => r.api1.rps) };
    const api32 = { rps: med((r) => r.api32.rps) };
    const grpcSeq = rounds.flatMap((r) => r.grpcSeq);
    const directSeq = rounds.flatMap((r) => r.directSeq);
    const grpc32 = med((r) => r.grpc32);
    const direct32 = med((r) => r.direct32);
    // The latency goal, per round (the URL and the socket measured moments apart), then the median.
    const above = med((r) => r.url1.p50 - pct(r.directSeq, 50));

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

    const written = after - before;
    const all = rounds.flatMap((r) => [r.url1, r.url32, r.url64, r.api1, r.api32]);
    const calls = all.reduce((n, w) => n + w.requests, 0);
    const errors = all.reduce((n, w) => n + w.non2xx, 0);
    console.log(`medians of ${ROUNDS} rounds:`);
    console.log(`warm, 1 client:   function URL p50 ${fmt(url1.p50)} p99 ${fmt(url1.p99)}   POST …/invoke p50 ${fmt(api1.p50)} p99 ${fmt(api1.p99)}`);
    console.log(`                  agent over gRPC p50 ${fmt(pct(grpcSeq, 50))} p99 ${fmt(pct(grpcSeq, 99))}   container socket p50 ${fmt(pct(directSeq, 50))} p99 ${fmt(pct(directSeq, 99))}`);
    console.log(`  URL p50 above the container socket: ${fmt(above)}   (goal ≤ 1 ms)`);
    console.log(`calls/s, 1 client:    URL ${url1.rps.toFixed(0)}   …/invoke ${api1.rps.toFixed(0)}`);
    console.log(`calls/s, 32 clients:  URL ${url32.rps.toFixed(0)}   …/invoke ${api32.rps.toFixed(0)}   agent over gRPC ${grpc32.toFixed(0)}   container socket ${direct32.toFixed(0)}   (goal ≥ 3000 with an execution row each)`);
    console.log(`calls/s, 64 clients:  URL ${url64.rps.toFixed(0)}   (for comparison with the issue's prototype: 3.1–4.4k at 64, unary gRPC)`);
    console.log(`execution rows written for the ${calls} calls above: ${written}; non-2xx or socket errors: ${errors}`);
    console.log(`cold start end to end (first URL call of a new function), n=${cold.length}: p50 ${fmt(pct(cold, 50))}, p95 ${fmt(pct(cold, 95))}   (goal p50 ≤ 250 ms)`);
    console.log(
      JSON.stringify({
        bench: 'invoke',
        rounds: ROUNDS,
        urlAboveSocketP50Ms: +above.toFixed(3),
        url1P50Ms: url1.p50,
        url1P99Ms: url1.p99,
        api1P50Ms: api1.p50,
        api1P99Ms: api1.p99,
        grpcP50Ms: +pct(grpcSeq, 50).toFixed(3),
        grpcP99Ms: +pct(grpcSeq, 99).toFixed(3),
        directP50Ms: +pct(directSeq, 50).toFixed(3),
        directP99Ms: +pct(directSeq, 99).toFixed(3),
        urlPerSec1: Math.round(url1.rps),
        urlPerSec32: Math.round(url32.rps),
        urlPerSec64: Math.round(url64.rps),
        apiPerSec1: Math.round(api1.rps),
        apiPerSec32: Math.round(api32.rps),
        grpcPerSec32: Math.round(grpc32),
        directPerSec32: Math.round(direct32),
        calls,
        executionRows: written,
        errors,
        coldP50Ms: +pct(cold, 50).toFixed(2),
        coldP95Ms: +pct(cold, 95).toFixed(2),
      }),
    );
  } finally {
    grpcClient?.close();
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

main().catch((err) => {
  console.error(`error: ${err.stack ?? err}`);
  process.exit(1);
});
