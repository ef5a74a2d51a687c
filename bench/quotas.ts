// `npm run bench -- quotas`: a team over its memory quota, and the team beside it. A real cpub-server (SQLite, the
// defaults a user gets), a real cpub-agent and Podman; two teams, each with a public function (128 MB, one call per
// container). The noisy team's quota is BENCH_QUOTA_MB (256: two instances) and its function holds each call
// BENCH_HOLD_MS (50); BENCH_NOISY_CLIENTS callers hammer it. The quiet team's function answers at once and is
// called by BENCH_QUIET_CLIENTS (2) callers, through the same client (wrk), alone (the baseline) and while the noisy
// team is over its quota, in interleaved rounds. Reports the quiet team's p50 and p99 in both, their ratios, and
// what the noisy team got: its calls answered, and its refusals (429 quota_exceeded, checked on one). The noisy callers
// call again at once after a refusal; BENCH_NOISY_CLIENTS is a list (16,150): 16 wait for room under the quota, 150
// are more than may wait (100), so some are refused at once, again and again.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, startAgentProcess } from '../tests/helpers/server.js';
import { client } from '../tests/helpers/http.js';
import { fnArtifact } from '../tests/helpers/agent.js';
import { benchAccount, pct, wrk, type WrkRun } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const QUOTA_MB = Number(process.env.BENCH_QUOTA_MB ?? 256);
const HOLD_MS = Number(process.env.BENCH_HOLD_MS ?? 50);
const NOISY = (process.env.BENCH_NOISY_CLIENTS ?? '16,150').split(',').map(Number);
const QUIET = Number(process.env.BENCH_QUIET_CLIENTS ?? 2);
const JOIN = 'bench-join-token-0123456789abcdef';

const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
const median = (xs: number[]) => pct(xs, 50);

async function main() {
  const serverDir = mkdtempSync(join(tmpdir(), 'cpub-bench-server-'));
  const agentDir = mkdtempSync(join(tmpdir(), 'cpub-bench-agent-'));
  const server = await startServer({ CPUB_DATA_DIR: serverDir, CPUB_JOIN_TOKEN: JOIN }, { logFile: join(serverDir, 'server.log') });
  const agent = await startAgentProcess({ CPUB_AGENT_DATA_DIR: agentDir, CPUB_AGENT_SERVER: server.url, CPUB_AGENT_JOIN_TOKEN: JOIN }, { logFile: join(agentDir, 'agent.log') });
  const api = client(server.url);
  try {
    const { token } = await benchAccount(api);
    const deploy = async (team: string, body: string) => {
      const created = await api.call('POST', '/api/functions', { body: { name: 'fn', auth: 'public', team }, token });
      if (created.status !== 201) throw new Error(`create in ${team}: ${created.text}`);
      const art = await fnArtifact(body);
      const dep = await fetch(`${server.url}/api/functions/fn/deployments?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'cpub-team': team, 'content-type': 'application/gzip' }, body: new Uint8Array(readFileSync(art.path)) });
      if (dep.status !== 201) throw new Error(`deploy in ${team}: ${dep.status} ${await dep.text()}`);
      return `${server.url}/fn/${team}/fn`;
    };
    for (const team of ['noisy', 'quiet']) {
      const r = await api.post('/api/teams', { name: team, handle: team }, token);
      if (r.status !== 201) throw new Error(`team ${team}: ${r.text}`);
    }
    const noisy = await deploy('noisy', `async () => { await new Promise((r) => setTimeout(r, ${HOLD_MS})); return new Response('held'); }`);
    const quiet = await deploy('quiet', `() => new Response('ok')`);
    const q = await api.call('PUT', '/api/teams/noisy/quotas', { body: { memoryMb: QUOTA_MB }, token });
    if (q.status !== 200) throw new Error(`quota: ${q.text}`);
    console.log(`server ${server.url} (SQLite), agent ${agent.url}; team noisy: memoryMb quota ${QUOTA_MB} (${QUOTA_MB / 128} instances of 128 MB), each call held ${HOLD_MS} ms, ${NOISY.join(' or ')} callers calling again at once after a refusal; team quiet: no quota, ${QUIET} callers; ${ROUNDS} rounds of ${SECONDS} s`);

    // Warm-up: both functions' containers, the connections, the JIT.
    await wrk(quiet, { connections: QUIET, seconds: 2 });
    await wrk(noisy, { connections: 2, seconds: 2 });
    const refused = await (async () => {
      // More at once than may wait for room (100): some are refused at once.
      const calls = await Promise.all(Array.from({ length: 150 }, () => fetch(noisy).then(async (r) => ({ status: r.status, body: await r.text() }))));
      return calls.find((c) => c.status === 429);
    })();
    if (!refused) throw new Error('the noisy team was never refused: is its quota set?');
    const problem = JSON.parse(refused.body) as { code: string; quota: string; limit: number; used: number; detail: string };
    if (problem.code !== 'quota_exceeded' || problem.quota !== 'memoryMb') throw new Error(`refused with ${refused.body}`);
    console.log(`a noisy call over the quota: 429 ${problem.code} (quota ${problem.quota}, limit ${problem.limit}, used ${problem.used}): "${problem.detail}"`);
    const loadAtStart = loadavg().map((x) => +x.toFixed(2));

    const results = [];
    const modes = [{ name: 'within its quota', connections: QUOTA_MB / 128 }, ...NOISY.map((n) => ({ name: `over its quota`, connections: n }))];
    for (const mode of modes) {
    const alone: WrkRun[] = [];
    const loaded: WrkRun[] = [];
    const noisyRuns: WrkRun[] = [];
    console.log(`the noisy team ${mode.name} (${mode.connections} callers):`);
    for (let i = 0; i < ROUNDS; i++) {
      alone.push(await wrk(quiet, { connections: QUIET, seconds: SECONDS }));
      const [quietRun, noisyRun] = await Promise.all([wrk(quiet, { connections: QUIET, seconds: SECONDS }), wrk(noisy, { connections: mode.connections, seconds: SECONDS })]);
      loaded.push(quietRun);
      noisyRuns.push(noisyRun);
      console.log(
        `round ${i + 1}/${ROUNDS}: quiet alone p50 ${fmt(alone[i]!.p50)} p99 ${fmt(alone[i]!.p99)}; beside the noisy team p50 ${fmt(quietRun.p50)} p99 ${fmt(quietRun.p99)}; noisy ${noisyRun.requests} calls, ${noisyRun.non2xx} refused`,
      );
    }
    const p50Alone = median(alone.map((r) => r.p50));
    const p99Alone = median(alone.map((r) => r.p99));
    const p50Loaded = median(loaded.map((r) => r.p50));
    const p99Loaded = median(loaded.map((r) => r.p99));
    const noisyCalls = noisyRuns.reduce((a, r) => a + r.requests, 0);
    const noisyRefused = noisyRuns.reduce((a, r) => a + r.non2xx, 0);
    const ran = noisyCalls - noisyRefused;
    const aloneP50s = alone.map((r) => r.p50);
    console.log(`quiet team alone: p50 ${fmt(p50Alone)}, p99 ${fmt(p99Alone)} (medians of ${ROUNDS} rounds; the p50 of a round alone ranged ${fmt(Math.min(...aloneP50s))} to ${fmt(Math.max(...aloneP50s))}: the noise)`);
    console.log(`quiet team beside the noisy one ${mode.name}: p50 ${fmt(p50Loaded)} (×${(p50Loaded / p50Alone).toFixed(2)}), p99 ${fmt(p99Loaded)} (×${(p99Loaded / p99Alone).toFixed(2)})`);
    console.log(`noisy team: ${noisyCalls} calls, ${ran} answered (${((ran / (ROUNDS * SECONDS)) | 0)}/s: ${QUOTA_MB / 128} instances × ${HOLD_MS} ms holds at most ${Math.round(((QUOTA_MB / 128) * 1000) / HOLD_MS)}/s), ${noisyRefused} refused 429 quota_exceeded`);
    results.push({ noisy: mode.name, noisyClients: mode.connections, quiet: { alone: { p50: +p50Alone.toFixed(3), p99: +p99Alone.toFixed(3), p50Range: [Math.min(...aloneP50s), Math.max(...aloneP50s)] }, loaded: { p50: +p50Loaded.toFixed(3), p99: +p99Loaded.toFixed(3) }, p50Ratio: +(p50Loaded / p50Alone).toFixed(2), p99Ratio: +(p99Loaded / p99Alone).toFixed(2) }, noisyCalls: { calls: noisyCalls, answered: ran, refused: noisyRefused } });
    }
    console.log(JSON.stringify({ bench: 'quotas', rounds: ROUNDS, seconds: SECONDS, quotaMb: QUOTA_MB, noisyClients: NOISY, quietClients: QUIET, results, loadAtStart }));
  } finally {
    await agent.stop();
    await server.stop();
    rmSync(serverDir, { recursive: true, force: true });
    rmSync(agentDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
