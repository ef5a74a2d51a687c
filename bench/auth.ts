// `npm run bench -- auth`: requests per second of an authenticated GET /api/users/me against GET /health on the
// same server in the same run (goal: ratio ≥ 0.7), and login latency p50/p99. Load from wrk. See bench/README.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../tests/helpers/server.js';
import { client } from '../tests/helpers/http.js';
import { pct, wrk, type WrkRun } from './lib.js';

const load = (url: string, headers: Record<string, string> = {}) => wrk(url, { connections: CONNECTIONS, seconds: DURATION_S, headers });

const DURATION_S = Number(process.env.BENCH_DURATION ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const LOGINS = Number(process.env.BENCH_LOGINS ?? 40);

const median = (xs: number[]) => pct(xs, 50);

async function main() {
  const logDir = mkdtempSync(join(tmpdir(), 'cpub-bench-'));
  const server = await startServer({ CPUB_LOG_LEVEL: 'info' }, { logFile: join(logDir, 'server.log') });
  try {
    const api = client(server.url);
    const creds = { email: 'bench@example.com', password: 'bench-password-1' };
    if ((await api.post('/api/auth/register', creds)).status !== 201) throw new Error('register failed');
    const { accessToken } = (await api.post('/api/auth/login', creds)).body as { accessToken: string };

    console.log(`server ${server.url} (SQLite, log level info), wrk ${CONNECTIONS} connections, ${ROUNDS} rounds × ${DURATION_S} s per endpoint, interleaved`);
    const health: WrkRun[] = [];
    const me: WrkRun[] = [];
    await load(`${server.url}/health`); // warm-up (JIT)
    await load(`${server.url}/api/users/me`, { authorization: `Bearer ${accessToken}` });
    for (let i = 0; i < ROUNDS; i++) {
      health.push(await load(`${server.url}/health`));
      me.push(await load(`${server.url}/api/users/me`, { authorization: `Bearer ${accessToken}` }));
    }
    const bad = [...health, ...me].reduce((a, r) => a + r.non2xx, 0);
    if (bad > 0) throw new Error(`${bad} requests failed during the load`);

    const logins: number[] = [];
    for (let i = 0; i < LOGINS; i++) {
      const t0 = performance.now();
      const r = await api.post('/api/auth/login', creds);
      logins.push(performance.now() - t0);
      if (r.status !== 200) throw new Error(`login ${i} answered ${r.status}`);
    }
    logins.sort((a, b) => a - b);

    const row = (name: string, runs: WrkRun[]) =>
      `${name.padEnd(22)} ${median(runs.map((r) => r.rps)).toFixed(0).padStart(8)} req/s (median of ${runs.length}: ${runs.map((r) => r.rps.toFixed(0)).join(' ')})   latency p50 ${median(runs.map((r) => r.p50)).toFixed(2)} ms, p99 ${median(runs.map((r) => r.p99)).toFixed(2)} ms`;
    // Each round's ratio pairs two back-to-back runs, so slow drift of the machine cancels out.
    const ratio = median(me.map((r, i) => r.rps / health[i]!.rps));
    console.log(row('GET /health', health));
    console.log(row('GET /api/users/me', me));
    console.log(`ratio users/me ÷ health: ${ratio.toFixed(2)}  (goal ≥ 0.70)  ${ratio >= 0.7 ? 'MET' : 'NOT MET'}`);
    console.log(`login (${LOGINS} sequential):   p50 ${pct(logins, 50).toFixed(1)} ms, p99 ${pct(logins, 99).toFixed(1)} ms`);
    console.log(
      JSON.stringify({
        bench: 'auth',
        healthRps: median(health.map((r) => r.rps)),
        meRps: median(me.map((r) => r.rps)),
        ratio: Number(ratio.toFixed(3)),
        loginP50Ms: Number(pct(logins, 50).toFixed(1)),
        loginP99Ms: Number(pct(logins, 99).toFixed(1)),
      }),
    );
  } finally {
    await server.stop();
    rmSync(logDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});
