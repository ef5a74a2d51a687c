// `npm run bench -- streaming`: what streaming an answer costs. One stack (a real cpub-server with SQLite and a real
// cpub-agent, defaults), public functions called through their URL by one Node client (node:http, keep-alive):
//
// - time to first byte: a function that sends the first chunk of a streamed answer at once (the rest 20 ms later),
//   its first chunk saying how long the function took to make it (from its handler's start, by its own clock: the
//   function's own time to first byte); what the client waits beyond that is the platform's. Beside it, through the
//   same client and interleaved, the same function answering whole at once: a plain warm call's time to first byte
//   (it includes the execution record, written before a whole answer goes; a streamed answer's is written at its
//   end). BENCH_CALLS (300) each; medians and p99.
// - the host's floor: the same client and the same pattern (a round trip after ≈ 40 ms of quiet, then one at once)
//   through three plain Node processes relaying 100 bytes over unix sockets to an echo — the three round trips
//   between processes a call's first byte makes (client–server, server–agent, agent–function), with none of our
//   code: what waking the processes and moving the bytes costs on this host.
// - a long stream: BENCH_STREAM_MB (1024) MiB streamed in 64 KiB chunks through the chain to a client that reads
//   as fast as it can; the RSS of the server and agent processes (/proc/<pid>/status VmRSS) sampled every 50 ms:
//   before, the peak during, and the growth; and the rate.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { Agent, get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { startServer, startAgentProcess } from '../tests/helpers/server.js';
import { client } from '../tests/helpers/http.js';
import { fnArtifact } from '../tests/helpers/agent.js';
import { benchAccount, pct, startRelay } from './lib.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 300);
const STREAM_MB = Number(process.env.BENCH_STREAM_MB ?? 1024);
const JOIN = 'bench-join-token-0123456789abcdef';

const STREAMED = `() => {
  const t0 = performance.now();
  let i = 0;
  return new Response(new ReadableStream({
    async pull(c) {
      if (i) await new Promise((r) => setTimeout(r, 20));
      if (i++ === 2) return c.close();
      c.enqueue(new TextEncoder().encode('data: ' + (performance.now() - t0).toFixed(3) + '\\n\\n'));
    },
  }), { headers: { 'content-type': 'text/event-stream' } });
}`;

const WHOLE = `() => new Response('data: 0\\n\\n', { headers: { 'content-type': 'text/event-stream' } })`;

const BIG = `(req) => {
  const total = Number(new URL(req.url).searchParams.get('mb')) * 1048576;
  const chunk = new Uint8Array(65536).fill(120);
  let sent = 0;
  return new Response(new ReadableStream({
    pull(c) {
      if (sent >= total) return c.close();
      sent += chunk.length;
      c.enqueue(chunk);
    },
  }));
}`;

const rssMb = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
};

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/**
 * The host's floor (see the header): round trips through three plain Node processes, each after ≈ 40 ms of quiet
 * (as a whole answer follows a streamed one here) and then one at once (as a streamed call follows a whole one).
 */
async function hostFloor(calls: number): Promise<{ afterQuiet: number[]; atOnce: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-bench-floor-'));
  const sock = (i: number) => join(dir, `hop${i}.sock`);
  const procs: ChildProcess[] = [];
  try {
    for (const i of [3, 2, 1]) procs.push((await startRelay(sock(i), i < 3 ? sock(i + 1) : undefined)).proc);
    const socket = connect(sock(1));
    let failed: Error | undefined;
    socket.on('error', (err) => (failed = err));
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const message = Buffer.alloc(100, 120);
    // A relay that died or hangs fails the bench in 5 s instead of leaving it waiting.
    const roundTrip = () =>
      new Promise<number>((resolve, reject) => {
        const t0 = performance.now();
        let got = 0;
        const timer = setTimeout(() => reject(failed ?? new Error('a round trip through the relays took over 5 s')), 5000);
        const on = (d: Buffer) => {
          if ((got += d.length) < message.length) return;
          socket.off('data', on);
          clearTimeout(timer);
          resolve(performance.now() - t0);
        };
        socket.on('data', on);
        socket.write(message);
      });
    for (let i = 0; i < 20; i++) await roundTrip();
    const afterQuiet: number[] = [];
    const atOnce: number[] = [];
    for (let i = 0; i < calls; i++) {
      await new Promise((r) => setTimeout(r, 40));
      afterQuiet.push(await roundTrip());
      atOnce.push(await roundTrip());
    }
    socket.destroy();
    return { afterQuiet, atOnce };
  } finally {
    for (const p of procs) p.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One GET through node:http: ms to the end, and the bytes read (the long stream). */
function timedGet(url: string): Promise<{ total: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let bytes = 0;
    get(url, { agent }, (res) => {
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => (res.complete ? resolve({ total: performance.now() - t0, bytes }) : reject(new Error(`${url}: cut`))));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/**
 * A GET on a kept-alive raw socket (no HTTP client's own cost in the figure): ms to the first byte of the body, and the
 * body's first bytes. Reads to the end of the answer (a chunked body's last chunk, or Content-Length).
 */
function rawGet(socket: Socket, path: string): Promise<{ ttfb: number; first: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let ttfb = 0;
    let first = '';
    let buf = '';
    const on = (d: Buffer) => {
      buf += d.toString('latin1');
      const headEnd = buf.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = buf.slice(0, headEnd);
      let body = buf.slice(headEnd + 4);
      const chunked = /\r\ntransfer-encoding: chunked/i.test(head);
      if (chunked) body = body.replace(/^[0-9a-f]+\r\n/i, '');
      if (!ttfb && body.length > 0) {
        ttfb = performance.now() - t0;
        first = body.slice(0, 64);
      }
      const length = /\r\ncontent-length: (\d+)/i.exec(head);
      const done = chunked ? buf.endsWith('\r\n0\r\n\r\n') : length ? buf.length - headEnd - 4 >= Number(length[1]) : false;
      if (!done) return;
      socket.off('data', on);
      socket.off('error', reject);
      resolve({ ttfb, first });
    };
    socket.on('data', on);
    socket.once('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`);
  });
}

async function main() {
  const serverDir = mkdtempSync(join(tmpdir(), 'cpub-bench-streaming-'));
  const agentDir = mkdtempSync(join(tmpdir(), 'cpub-bench-streaming-agent-'));
  const server = await startServer({ CPUB_DATA_DIR: serverDir, CPUB_JOIN_TOKEN: JOIN }, { logFile: join(serverDir, 'server.log') });
  const node = await startAgentProcess({ CPUB_AGENT_DATA_DIR: agentDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN }, { logFile: join(agentDir, 'agent.log') });
  try {
    const api = client(server.url);
    const { token, handle } = await benchAccount(api);
    for (const [name, code, settings] of [['streamed', STREAMED, {}], ['whole', WHOLE, {}], ['big', BIG, { responseLimitMb: Math.max(100, STREAM_MB + 1), timeoutMs: 300_000 }]] as const) {
      const created = await api.call('POST', '/api/functions', { body: { name, auth: 'public', ...settings }, token });
      if (created.status !== 201) throw new Error(`create: ${created.text}`);
      const art = await fnArtifact(code);
      const dep = await fetch(`${server.url}/api/functions/${name}/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
      if (dep.status !== 201) throw new Error(`deploy: ${dep.status} ${await dep.text()}`);
    }
    const url = (name: string) => `${server.url}/fn/${handle}/${name}`;
    console.log(`one stack (server + agent, SQLite, defaults); one client (node:http, keep-alive); ${CALLS} calls of each, interleaved`);
    const { hostname, port } = new URL(server.url);
    const socket = connect(Number(port), hostname);
    socket.setNoDelay(true);
    await new Promise((r) => socket.once('connect', r));
    const path = (name: string) => `/fn/${handle}/${name}`;
    for (let i = 0; i < 20; i++) {
      await rawGet(socket, path('streamed'));
      await rawGet(socket, path('whole'));
    }
    const streamed: number[] = [];
    const own: number[] = [];
    const whole: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const r = await rawGet(socket, path('streamed'));
      const m = /^data: ([\d.]+)/.exec(r.first);
      if (!m) throw new Error(`the first chunk was ${JSON.stringify(r.first)}`);
      own.push(Number(m[1]));
      streamed.push(r.ttfb - Number(m[1]));
      whole.push((await rawGet(socket, path('whole'))).ttfb);
    }
    socket.destroy();
    const f = (ms: number) => `${ms.toFixed(2)} ms`;
    console.log(`\n| time to first byte | p50 | p99 |`);
    console.log('|---|---|---|');
    console.log(`| streamed, above the function's own | ${f(pct(streamed, 50))} | ${f(pct(streamed, 99))} |`);
    console.log(`| (the function's own: its handler's start to its first chunk) | ${f(pct(own, 50))} | ${f(pct(own, 99))} |`);
    console.log(`| a whole answer (a plain warm call) | ${f(pct(whole, 50))} | ${f(pct(whole, 99))} |`);
    const floor = await hostFloor(CALLS);
    console.log(`| the host's floor: 3 round trips between plain Node processes, at once after another | ${f(pct(floor.atOnce, 50))} | ${f(pct(floor.atOnce, 99))} |`);
    console.log(`| the host's floor, after 40 ms of quiet | ${f(pct(floor.afterQuiet, 50))} | ${f(pct(floor.afterQuiet, 99))} |`);

    // The long stream, with the processes' memory sampled throughout.
    await timedGet(`${url('big')}?mb=8`); // a warm container, and the paths warmed
    const pids = { server: server.proc.pid!, agent: node.proc.pid! };
    const before = { server: rssMb(pids.server), agent: rssMb(pids.agent) };
    const peak = { ...before };
    const sampler = setInterval(() => {
      peak.server = Math.max(peak.server, rssMb(pids.server));
      peak.agent = Math.max(peak.agent, rssMb(pids.agent));
    }, 50);
    const big = await timedGet(`${url('big')}?mb=${STREAM_MB}`);
    clearInterval(sampler);
    if (big.bytes !== STREAM_MB * 2 ** 20) throw new Error(`the stream had ${big.bytes} bytes, not ${STREAM_MB} MiB`);
    const growth = { server: peak.server - before.server, agent: peak.agent - before.agent };
    console.log(`\n${STREAM_MB} MiB streamed in ${(big.total / 1000).toFixed(1)} s (${(STREAM_MB / (big.total / 1000)).toFixed(0)} MiB/s)`);
    console.log(`| process | RSS before | peak during | growth |`);
    console.log('|---|---|---|---|');
    for (const p of ['server', 'agent'] as const) console.log(`| ${p} | ${before[p].toFixed(1)} MiB | ${peak[p].toFixed(1)} MiB | ${growth[p].toFixed(1)} MiB |`);
    console.log(
      JSON.stringify({
        bench: 'streaming',
        calls: CALLS,
        ttfbMs: { streamedAboveFunction: { p50: +pct(streamed, 50).toFixed(2), p99: +pct(streamed, 99).toFixed(2) }, functionOwn: { p50: +pct(own, 50).toFixed(3), p99: +pct(own, 99).toFixed(3) }, wholeAnswer: { p50: +pct(whole, 50).toFixed(2), p99: +pct(whole, 99).toFixed(2) }, hostFloor: { atOnce: { p50: +pct(floor.atOnce, 50).toFixed(3), p99: +pct(floor.atOnce, 99).toFixed(3) }, afterQuiet: { p50: +pct(floor.afterQuiet, 50).toFixed(3), p99: +pct(floor.afterQuiet, 99).toFixed(3) } } },
        stream: { mb: STREAM_MB, seconds: +(big.total / 1000).toFixed(2), rssGrowthMb: { server: +growth.server.toFixed(1), agent: +growth.agent.toFixed(1) } },
        loadavg: loadavg(),
      }),
    );
  } finally {
    agent.destroy();
    await node.stop();
    await server.stop();
    rmSync(serverDir, { recursive: true, force: true });
    rmSync(agentDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
