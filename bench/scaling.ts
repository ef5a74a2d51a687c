// `npm run bench -- scaling`: the learned keep-alive against the fixed 5-minute idle timeout, on a bursty call trace.
// The trace is generated (seeded) with the inter-arrival shapes "Serverless in the Wild" (USENIX ATC 2020) reports
// for Azure Functions: timers (periodic, CV ≈ 0), bursty event-driven functions (bursts seconds apart, gaps of
// minutes to an hour between them), HTTP-like Poisson arrivals whose rates span orders of magnitude, and rare
// functions called hours apart. A day of it is replayed in simulated time through the agent's own policy code
// (node-agent/src/pool/keep-alive.ts: KeepAlive, plan, keeps — what Pools runs), with the agent's defaults (learned
// within 1–12 minutes, falling back to the 5-minute timeout; BENCH_KEEP_ALIVE_MAX, e.g. 1h, moves the upper bound). Reported per policy: the cold-start rate and the
// warm-container memory-time (container-hours of 128 MB containers), then the learned policy's ratios to the fixed
// one, the median over BENCH_SEEDS traces with their range.
import { DEFAULT_BOUNDS, KeepAlive, keeps, plan, type KeepAliveOptions } from '../node-agent/src/pool/keep-alive.js';
import { duration } from '../common/settings.js';
import { pct } from './lib.js';

const FUNCTIONS = Number(process.env.BENCH_FUNCTIONS ?? 400);
const HOURS = Number(process.env.BENCH_HOURS ?? 24);
const SEEDS = Number(process.env.BENCH_SEEDS ?? 5);
const FIXED_MS = 5 * 60_000;
/** The agent's defaults (node-agent/src/config.ts). */
const LEARNED: KeepAliveOptions = { mode: 'learned', fixedMs: FIXED_MS, minMs: DEFAULT_BOUNDS.minMs, maxMs: process.env.BENCH_KEEP_ALIVE_MAX ? duration.parse(process.env.BENCH_KEEP_ALIVE_MAX) : DEFAULT_BOUNDS.maxMs };
/** A call's run time: the container is busy, in both policies alike. */
const CALL_MS = 200;
const MIN = 60_000;

type Shape = 'timer' | 'bursty' | 'poisson' | 'rare';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One function's call times (ms from 0) over `endMs`, of a shape. */
function trace(shape: Shape, r: () => number, endMs: number): number[] {
  const exp = (mean: number) => -Math.log(1 - r()) * mean;
  const logUniform = (lo: number, hi: number) => Math.exp(Math.log(lo) + r() * (Math.log(hi) - Math.log(lo)));
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const out: number[] = [];
  let t = r() * 30 * MIN;
  if (shape === 'timer') {
    // Periods the paper's timers use most: minutes to an hour; a second of jitter.
    const period = [1, 2, 5, 5, 10, 10, 15, 30, 60][Math.floor(r() * 9)]! * MIN;
    for (; t < endMs; t += period + (r() - 0.5) * 1000) out.push(t);
  } else if (shape === 'bursty') {
    // Bursts of a few calls seconds apart; between bursts, a gap around the function's own median (5–60 minutes).
    const median = logUniform(5 * MIN, 60 * MIN);
    while (t < endMs) {
      const n = 1 + Math.floor(exp(4));
      for (let i = 0; i < n && t < endMs; i++, t += 1000 + exp(4000)) out.push(t);
      t += median * Math.exp(0.5 * normal());
    }
  } else {
    // Poisson: HTTP-like, mean gaps from 10 s to 2 h; rare: 2 to 12 h.
    const mean = shape === 'poisson' ? logUniform(10_000, 120 * MIN) : logUniform(120 * MIN, 720 * MIN);
    for (t = exp(mean); t < endMs; t += exp(mean)) out.push(t);
  }
  return out;
}

interface Tally {
  calls: number;
  cold: number;
  /** Container-ms warm (idle or busy). */
  aliveMs: number;
}

/** Replays one function's calls under a policy: which are cold, and how long a container is alive. */
function replay(calls: number[], endMs: number, learned: boolean): Tally {
  const ka = new KeepAlive(learned ? LEARNED : { ...LEARNED, mode: 'fixed' });
  const t: Tally = { calls: calls.length, cold: 0, aliveMs: 0 };
  for (let i = 0; i < calls.length; i++) {
    const at = calls[i]!;
    const next = calls[i + 1] ?? endMs;
    if (i === 0) t.cold++;
    ka.observe(at);
    const done = at + CALL_MS;
    const p = plan(ka.windows(), at, done);
    // The gap after this call: busy while it runs, then what the plan keeps; the next call is warm when a container
    // is kept at its arrival (the agent's reaper, every few seconds, is taken as exact).
    const end = Math.max(done, next);
    let alive = CALL_MS;
    if (p.prewarmAt === null) alive += Math.max(0, Math.min(end, p.idleUntil) - done);
    else alive += Math.max(0, Math.min(end, p.prewarmUntil!) - Math.max(done, Math.min(end, p.prewarmAt)));
    t.aliveMs += alive;
    if (i + 1 < calls.length && next > done && !keeps(p, next)) t.cold++;
  }
  return t;
}

function run(seed: number) {
  const r = rng(seed);
  const endMs = HOURS * 3_600_000;
  const shapes: Shape[] = ['timer', 'timer', 'bursty', 'bursty', 'bursty', 'poisson', 'poisson', 'poisson', 'poisson', 'rare'];
  const by = new Map<Shape, { fixed: Tally; learned: Tally; functions: number }>();
  for (let f = 0; f < FUNCTIONS; f++) {
    const shape = shapes[Math.floor(r() * shapes.length)]!;
    const calls = trace(shape, r, endMs);
    if (!calls.length) continue;
    const row = by.get(shape) ?? { fixed: { calls: 0, cold: 0, aliveMs: 0 }, learned: { calls: 0, cold: 0, aliveMs: 0 }, functions: 0 };
    row.functions++;
    for (const [k, tally] of [['fixed', replay(calls, endMs, false)], ['learned', replay(calls, endMs, true)]] as const) {
      row[k].calls += tally.calls;
      row[k].cold += tally.cold;
      row[k].aliveMs += tally.aliveMs;
    }
    by.set(shape, row);
  }
  const sum = (k: 'fixed' | 'learned') => [...by.values()].reduce((a, row) => ({ calls: a.calls + row[k].calls, cold: a.cold + row[k].cold, aliveMs: a.aliveMs + row[k].aliveMs }), { calls: 0, cold: 0, aliveMs: 0 });
  return { seed, by, fixed: sum('fixed'), learned: sum('learned') };
}

const hours = (ms: number) => ms / 3_600_000;
const rate = (t: Tally) => (t.calls ? t.cold / t.calls : 0);

function main() {
  const runs = Array.from({ length: SEEDS }, (_, i) => run(i + 1));
  for (const x of runs) {
    console.log(
      `seed ${x.seed}: ${x.fixed.calls.toLocaleString('en')} calls; fixed 5 min: ${(rate(x.fixed) * 100).toFixed(2)}% cold, ${hours(x.fixed.aliveMs).toFixed(0)} container-h; learned: ${(rate(x.learned) * 100).toFixed(2)}% cold, ${hours(x.learned.aliveMs).toFixed(0)} container-h`,
    );
  }
  const first = runs[0]!;
  console.log(`\nby shape (seed ${first.seed}):`);
  for (const [shape, row] of first.by) {
    console.log(
      `  ${shape.padEnd(8)} ${String(row.functions).padStart(4)} functions ${row.fixed.calls.toLocaleString('en').padStart(9)} calls: cold ${row.fixed.cold} → ${row.learned.cold}, container-h ${hours(row.fixed.aliveMs).toFixed(1)} → ${hours(row.learned.aliveMs).toFixed(1)}`,
    );
  }
  const cut = runs.map((x) => 1 - x.learned.cold / x.fixed.cold);
  const mem = runs.map((x) => x.learned.aliveMs / x.fixed.aliveMs);
  const range = (xs: number[], f: (v: number) => string) => `${f(pct(xs, 50))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
  console.log(`\nlearned keep-alive against the fixed 5-minute timeout, ${SEEDS} traces of ${FUNCTIONS} functions over ${HOURS} h:`);
  console.log(`  cold starts cut by ${range(cut, (v) => `${(v * 100).toFixed(1)}%`)}`);
  console.log(`  warm-container memory-time ×${range(mem, (v) => v.toFixed(3))}`);
  console.log(JSON.stringify({ bench: 'scaling', functions: FUNCTIONS, hours: HOURS, seeds: SEEDS, coldCut: cut.map((v) => +v.toFixed(4)), memoryRatio: mem.map((v) => +v.toFixed(4)), medianColdCut: +pct(cut, 50).toFixed(4), medianMemoryRatio: +pct(mem, 50).toFixed(4) }));
}

main();
