// `npm run bench -- tracing`: what tracing costs a warm call. Two stacks side by side on this host, each a real
// cpub-server (SQLite, defaults) and a real cpub-agent (its own Podman service): one with tracing off (no OTEL_*
// variable, the default), one with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local OTLP/HTTP sink (which answers 200
// and drops the spans; the exporter's defaults otherwise: http/protobuf, batches). Each deploys the same public no-op
// function with the default settings. Through the same client (wrk), in interleaved rounds (BENCH_ROUNDS, 15, of
// BENCH_SECONDS, 2): 1 caller (latency) and BENCH_CLIENTS (10: the default maxInstances, so no call is refused)
// callers (throughput), on each stack. Reports medians over rounds and the ratios on/off; the spread of the off
// stack's rounds is the noise they are read against. The sink counts the spans it got.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { startServer, startAgentProcess, type RunningServer } from '../tests/helpers/server.js';
import { client } from '../tests/helpers/http.js';
import { fnArtifact } from '../tests/helpers/agent.js';
import { benchAccount, containersOf, pct, processCpuMs, wrk, type WrkRun } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 10);
const JOIN = 'bench-join-token-0123456789abcdef';
const fmt = (ms: number) => `${ms.toFixed(3)} ms`;
const median = (xs: number[]) => pct(xs, 50);

interface Stack {
  name: 'off' | 'on';
  server: RunningServer;
  agent: RunningServer;
  dirs: string[];
  url: string;
  token: string;
  /** The function's id. */
  id: string;
  /** CPU its function's warm containers have used so far (their cgroups), ms: known once they are warm. */
  containers: () => number;
}

async function stack(name: 'off' | 'on', env: Record<string, string>): Promise<Stack> {
  const serverDir = mkdtempSync(join(tmpdir(), `cpub-bench-tracing-${name}-`));
  const agentDir = mkdtempSync(join(tmpdir(), `cpub-bench-tracing-${name}-agent-`));
  const server = await startServer({ CPUB_DATA_DIR: serverDir, CPUB_JOIN_TOKEN: JOIN, ...env }, { logFile: join(serverDir, 'server.log') });
  const agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: agentDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN, ...env }, { logFile: join(agentDir, 'agent.log') });
  const api = client(server.url);
  const { token, handle } = await benchAccount(api);
  const created = await api.call('POST', '/api/functions', { body: { name: 'noop', auth: 'public' }, token });
  if (created.status !== 201) throw new Error(`create: ${created.text}`);
  const art = await fnArtifact(`() => new Response('ok')`);
  const dep = await fetch(`${server.url}/api/functions/noop/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
  if (dep.status !== 201) throw new Error(`deploy: ${dep.status} ${await dep.text()}`);
  const id = (created.body as { function: { id: string } }).function.id;
  return { name, server, agent, dirs: [serverDir, agentDir], url: `${server.url}/fn/${handle}/noop`, token, id: (created.body as { function: { id: string } }).function.id, containers: () => 0 };
}

async function main() {
  let spans = 0;
  const sink = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      spans++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const otlp = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const stacks: Stack[] = [];
  try {
    stacks.push(await stack('off', {}));
    // BENCH_AA=1: the second stack with tracing off too — the spread between two stacks that differ in nothing.
    stacks.push(await stack('on', process.env.BENCH_AA === '1' ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: otlp }));
    console.log(`two stacks (server + agent, SQLite, defaults): tracing off, and on (OTLP/HTTP to a local sink at ${otlp}); ${ROUNDS} rounds of ${SECONDS} s, 1 and ${CLIENTS} callers, wrk`);
    for (const s of stacks) {
      await wrk(s.url, { connections: CLIENTS, seconds: 3 }); // warm-up: containers, connections, the JIT
      await wrk(s.url, { connections: 1, seconds: 2 });
      s.containers = containersOf(s.id).containers;
    }
    type Run = WrkRun & { cpuPerK: { server: number; agent: number; containers: number } };
    // The on stack also serves calls whose caller's traceparent says "not sampled": the same processes, each call's
    // context taken and passed on (to the agent, the function), but no span recorded or exported — what recording
    // and exporting cost, measured without a second stack's differences.
    const variants: { name: string; stack: Stack; headers: Record<string, string> }[] = [
      { name: 'off', stack: stacks[0]!, headers: {} },
      { name: 'on', stack: stacks[1]!, headers: {} },
      { name: 'on, not sampled', stack: stacks[1]!, headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' } },
    ];
    const runs: Record<string, { one: Run[]; many: Run[] }> = Object.fromEntries(variants.map((v) => [v.name, { one: [], many: [] }]));
    // With the CPU the stack's server and agent spent per 1,000 calls (/proc, every thread: the SDK's worker too).
    const run = async ({ stack: s, headers }: (typeof variants)[number], connections: number): Promise<Run> => {
      const cpu = () => ({ server: processCpuMs(s.server.proc.pid!), agent: processCpuMs(s.agent.proc.pid!), containers: s.containers() });
      const c0 = cpu();
      const w = await wrk(s.url, { connections, seconds: SECONDS, headers });
      const c1 = cpu();
      const calls = Math.max(1, w.requests - w.non2xx);
      const perK = (ms: number) => (ms / calls) * 1000;
      return { ...w, cpuPerK: { server: perK(c1.server - c0.server), agent: perK(c1.agent - c0.agent), containers: perK(c1.containers - c0.containers) } };
    };
    for (let i = 0; i < ROUNDS; i++) {
      // Alternate which goes first, so none always follows another's load; the variants' runs of each kind back to
      // back, so a round's ratios compare runs seconds apart (this machine's pace drifts by tens of per cent over
      // tens of seconds: an A/A run of 5 rounds of 5 s gave ×0.87–×1.13 between two identical stacks).
      const order = i % 2 ? [...variants].reverse() : variants;
      for (const v of order) runs[v.name]!.many.push(await run(v, CLIENTS));
      for (const v of order) runs[v.name]!.one.push(await run(v, 1));
      const r = (n: string) => `${n}: 1 caller p50 ${fmt(runs[n]!.one[i]!.p50)}, ${CLIENTS} callers ${Math.round(runs[n]!.many[i]!.rps)}/s (CPU/1k: server ${Math.round(runs[n]!.many[i]!.cpuPerK.server)}, agent ${Math.round(runs[n]!.many[i]!.cpuPerK.agent)} ms)`;
      console.log(`round ${i + 1}/${ROUNDS}: ${variants.map((v) => r(v.name)).join('; ')}`);
    }
    const sum = (n: string) => ({
      p50: median(runs[n]!.one.map((r) => r.p50)),
      p99: median(runs[n]!.one.map((r) => r.p99)),
      rps1: median(runs[n]!.one.map((r) => r.rps)),
      rps: median(runs[n]!.many.map((r) => r.rps)),
      manyP50: median(runs[n]!.many.map((r) => r.p50)),
      failed: runs[n]!.one.concat(runs[n]!.many).reduce((a, r) => a + r.non2xx, 0),
      // CPU per 1,000 calls at CLIENTS callers: the server's and the agent's, medians over rounds.
      serverCpuPerK: median(runs[n]!.many.map((r) => r.cpuPerK.server)),
      agentCpuPerK: median(runs[n]!.many.map((r) => r.cpuPerK.agent)),
      // And at 1 caller, where each call runs alone (its code cold: several times the CPU a call under load costs),
      // with the function's containers: what a call's latency is made of.
      one: {
        server: median(runs[n]!.one.map((r) => r.cpuPerK.server)),
        agent: median(runs[n]!.one.map((r) => r.cpuPerK.agent)),
        containers: median(runs[n]!.one.map((r) => r.cpuPerK.containers)),
      },
    });
    const off = sum('off');
    const on = sum('on');
    const unsampled = sum('on, not sampled');
    const offP50s = runs.off!.one.map((r) => r.p50);
    const offRps = runs.off!.many.map((r) => r.rps);
    console.log(`\n| tracing | 1 caller p50 | p99 | calls/s | ${CLIENTS} callers calls/s | p50 | server CPU / 1k calls | agent CPU / 1k calls |`);
    console.log('|---|---|---|---|---|---|---|---|');
    for (const [n, x] of [['off', off], ['on', on], ['on, not sampled', unsampled]] as const) console.log(`| ${n} | ${fmt(x.p50)} | ${fmt(x.p99)} | ${Math.round(x.rps1)} | ${Math.round(x.rps)} | ${fmt(x.manyP50)} | ${Math.round(x.serverCpuPerK)} ms | ${Math.round(x.agentCpuPerK)} ms |`);
    console.log(`\n| tracing | CPU a call at 1 caller: server | agent | the function's container |`);
    console.log('|---|---|---|---|');
    for (const [n, x] of [['off', off], ['on', on], ['on, not sampled', unsampled]] as const) console.log(`| ${n} | ${Math.round(x.one.server)} µs | ${Math.round(x.one.agent)} µs | ${Math.round(x.one.containers)} µs |`);
    // Each round's own ratio (its two stacks measured back to back), the median of those: this machine's pace drifts
    // over a run far more than within a round.
    const paired = (f: (r: Run) => number, k: 'one' | 'many', a = 'on', b = 'off') => median(runs[a]![k].map((r, i) => f(r) / f(runs[b]![k][i]!)));
    const pairedP50 = paired((r) => r.p50, 'one');
    const pairedRps = paired((r) => r.rps, 'many');
    const recording = { p50: paired((r) => r.p50, 'one', 'on', 'on, not sampled'), rps: paired((r) => r.rps, 'many', 'on', 'on, not sampled') };
    // CPU a call (server + agent, µs) more than the other variant's, in each round's runs: the median over rounds.
    const cpuOf = (r: Run) => r.cpuPerK.server + r.cpuPerK.agent;
    const pairedCpu = (a: string, b: string) => Math.round(median(runs[a]!.many.map((r, i) => cpuOf(r) - cpuOf(runs[b]!.many[i]!))));
    const sign = (n: number) => (n < 0 ? `−${-n}` : `+${n}`);
    console.log(`\neach round's on ÷ off, the median over rounds: 1 caller p50 ×${pairedP50.toFixed(3)}; ${CLIENTS} callers calls/s ×${pairedRps.toFixed(3)}; CPU per call, server + agent, ${CLIENTS} callers: ${sign(pairedCpu('on', 'off'))} µs`);
    console.log(`each round's on ÷ on-not-sampled (recording and exporting the spans, on one stack): 1 caller p50 ×${recording.p50.toFixed(3)}; ${CLIENTS} callers calls/s ×${recording.rps.toFixed(3)}; CPU per call, server + agent, ${CLIENTS} callers: ${sign(pairedCpu('on', 'on, not sampled'))} µs`);
    console.log(`on ÷ off of the medians: 1 caller p50 ×${(on.p50 / off.p50).toFixed(3)}, p99 ×${(on.p99 / off.p99).toFixed(3)}; ${CLIENTS} callers calls/s ×${(on.rps / off.rps).toFixed(3)}; CPU per call, server + agent, ${CLIENTS} callers: ${sign(Math.round(on.serverCpuPerK + on.agentCpuPerK - off.serverCpuPerK - off.agentCpuPerK))} µs`);
    // The figures count only if every span was exported: the server's count of spans its worker had to drop (the
    // bench's account is the first, so an admin, who may read /metrics).
    const metrics = await (await fetch(`${stacks[1]!.server.url}/metrics`, { headers: { authorization: `Bearer ${stacks[1]!.token}` } })).text();
    const dropped = Number(/^cpub_trace_spans_dropped_total (\d+)/m.exec(metrics)?.[1] ?? NaN);
    // The agent has no /metrics: a worker that fell behind says so once, in its log.
    const agentDropped = /spans are being dropped/.test(readFileSync(join(stacks[1]!.dirs[1]!, 'agent.log'), 'utf8'));
    console.log(`spans the on stack's server dropped (its worker too far behind): ${dropped}; its agent: ${agentDropped ? 'some (its log says so)' : 'none (its log says nothing of it)'}`);
    console.log(`noise (the off stack's rounds): 1 caller p50 ${fmt(Math.min(...offP50s))}–${fmt(Math.max(...offP50s))}; ${CLIENTS} callers ${Math.round(Math.min(...offRps))}–${Math.round(Math.max(...offRps))}/s; non-2xx: off ${off.failed}, on ${on.failed}, not sampled ${unsampled.failed}; OTLP requests the sink got: ${spans}`);
    console.log(JSON.stringify({ bench: 'tracing', rounds: ROUNDS, seconds: SECONDS, clients: CLIENTS, off, on, unsampled, recording, ratios: { p50: +(on.p50 / off.p50).toFixed(3), p99: +(on.p99 / off.p99).toFixed(3), rps: +(on.rps / off.rps).toFixed(3), pairedP50: +pairedP50.toFixed(3), pairedRps: +pairedRps.toFixed(3), pairedCpuUs: pairedCpu('on', 'off'), recordingCpuUs: pairedCpu('on', 'on, not sampled') }, otlpRequests: spans, droppedSpans: dropped, agentDroppedSpans: agentDropped, loadavg: loadavg() }));
  } finally {
    for (const s of stacks) {
      await s.agent.stop();
      await s.server.stop();
      for (const d of s.dirs) rmSync(d, { recursive: true, force: true });
    }
    sink.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
