// `npm run bench -- runtimes`: the Python runtime beside the Node one, on one agent (real gRPC, Podman, defaults:
// stems on, 128 MB, 0.5 CPU). For each runtime, a hello-world function:
// - cold starts: BENCH_COLD (10) versions, each called once, 1 s apart (a stem taken is replaced before the next);
// - warm calls: BENCH_SEQ (1000) sequential calls on the agent's InvokeStream (what the control plane uses), the
//   runtimes interleaved in blocks of 100 so both meet the same machine; the agent's own round trip and the
//   shim's work together are the call's overhead (the function does nothing).
// Reports p50 and p99 of each and the ratios Python ÷ Node.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { createAgentClient, type AgentClient } from '../proto/loader.js';
import { sendCredential } from '../proto/auth.js';
import { startAgentProcess } from '../tests/helpers/server.js';
import { makeArtifact, buildImageOverGrpc, invokeMessage } from '../tests/helpers/agent.js';
import { pct, streamInvoker, timed } from './lib.js';

const COLD = Number(process.env.BENCH_COLD ?? 10);
const SEQ = Number(process.env.BENCH_SEQ ?? 1000);
const CREDENTIAL = 'bench-credential-0123456789abcdef';
const LIMITS = { memoryMb: 128, cpus: 0.5, concurrency: 1, maxInstances: 1 };

const SOURCES = {
  node: { 'containerpub.json': JSON.stringify({ name: 'hello', entry: 'index.mjs' }), 'index.mjs': `export default () => new Response('hello');\n` },
  python: { 'containerpub.json': JSON.stringify({ name: 'hello', entry: 'handler.py', runtime: 'python' }), 'handler.py': `from cpub import Response\n\n\ndef handler(request, ctx):\n    return Response("hello")\n` },
} as const;

type Timings = { coldStart: boolean; prewarmed: boolean; createMs: number; startMs: number; readyMs: number; runMs: number };

function invokeOnce(client: AgentClient, functionId: string, image: string): Promise<Timings> {
  return new Promise((resolve, reject) =>
    client.Invoke(invokeMessage(functionId, image, { limits: LIMITS }), { deadline: Date.now() + 30_000 }, (err, r) =>
      err ? reject(err) : r!.outcome !== 'OUTCOME_OK' ? reject(new Error(`${r!.outcome}: ${r!.error}`)) : resolve(r!.timings as Timings),
    ),
  );
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'cpub-bench-runtimes-'));
  const agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: dataDir, CPUB_AGENT_CREDENTIAL: CREDENTIAL }, { logFile: join(dataDir, 'agent.log') });
  const client = createAgentClient(agent.url, grpc.credentials.createInsecure(), { interceptors: [sendCredential(CREDENTIAL)] });
  try {
    const images: Record<string, [string, string][]> = { node: [], python: [] };
    for (const runtime of ['node', 'python'] as const) {
      const art = await makeArtifact(SOURCES[runtime]);
      for (let i = 0; i <= COLD; i++) {
        const id = randomUUID();
        images[runtime]!.push([id, await buildImageOverGrpc(client, id, art)]);
      }
    }
    console.log(`agent ${agent.url}: ${COLD + 1} hello-world versions per runtime built; defaults (stems on, 128 MB, 0.5 CPU)`);
    // Each runtime's first cold start starts its stems (Node's exist from the agent's start).
    const cold: Record<string, { ms: number[]; load: number[]; stems: number }> = { node: { ms: [], load: [], stems: 0 }, python: { ms: [], load: [], stems: 0 } };
    for (const runtime of ['node', 'python'] as const) await invokeOnce(client, ...images[runtime]![0]!);
    for (let i = 1; i <= COLD; i++) {
      for (const runtime of ['node', 'python'] as const) {
        await new Promise((r) => setTimeout(r, 1000));
        const [id, image] = images[runtime]![i]!;
        const t0 = performance.now();
        const t = await invokeOnce(client, id, image);
        cold[runtime]!.ms.push(performance.now() - t0);
        cold[runtime]!.load.push(t.readyMs);
        if (t.prewarmed) cold[runtime]!.stems++;
      }
    }
    const streams = Object.fromEntries((['node', 'python'] as const).map((runtime) => [runtime, streamInvoker(client, (invocationId) => invokeMessage(images[runtime]![0]![0], images[runtime]![0]![1], { invocationId, limits: LIMITS }))]));
    for (const s of Object.values(streams)) await timed(s.invokeOne, 200); // warm-up
    const warm: Record<string, number[]> = { node: [], python: [] };
    for (let done = 0; done < SEQ; done += 100) for (const runtime of ['node', 'python'] as const) warm[runtime]!.push(...(await timed(streams[runtime]!.invokeOne, Math.min(100, SEQ - done))));
    for (const s of Object.values(streams)) s.close();

    const f = (ms: number) => `${ms.toFixed(2)} ms`;
    console.log(`\n| runtime | cold start p50 | p99 | of which loading into the stem, p50 | from a stem | warm call p50 | p99 |`);
    console.log('|---|---|---|---|---|---|---|');
    for (const runtime of ['node', 'python'] as const) {
      const c = cold[runtime]!;
      console.log(`| ${runtime} | ${f(pct(c.ms, 50))} | ${f(pct(c.ms, 99))} | ${f(pct(c.load, 50))} | ${c.stems} of ${c.ms.length} | ${f(pct(warm[runtime]!, 50))} | ${f(pct(warm[runtime]!, 99))} |`);
    }
    const ratio = pct(warm.python!, 50) / pct(warm.node!, 50);
    console.log(`\npython ÷ node: warm call p50 ×${ratio.toFixed(2)} (goal ≤ ×1.5); python cold start from a stem p50 ${f(pct(cold.python!.ms, 50))} (goal ≤ 60 ms)`);
    console.log(JSON.stringify({ bench: 'runtimes', cold: Object.fromEntries(Object.entries(cold).map(([k, c]) => [k, { p50: +pct(c.ms, 50).toFixed(2), p99: +pct(c.ms, 99).toFixed(2), loadP50: pct(c.load, 50), fromStem: c.stems, n: c.ms.length }])), warm: Object.fromEntries(Object.entries(warm).map(([k, w]) => [k, { p50: +pct(w, 50).toFixed(3), p99: +pct(w, 99).toFixed(3) }])), warmRatio: +ratio.toFixed(3), loadavg: loadavg() }));
  } finally {
    client.close();
    await agent.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
