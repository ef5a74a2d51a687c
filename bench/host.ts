// `npm run bench -- host`: what this host does to work that follows a wait. The same fixed work — a loop over
// registers alone, and a read of every cache line of BENCH_HOST_MIB (2) MiB of memory, about what a call's code and
// data touch in each of our processes — timed back to back and after 1, 5 and 40 ms of sleep, BENCH_HOST_SAMPLES
// (300) times each, in this one process, with nothing else of ours running. A call at 1 client runs after such a
// wait in every process of the chain: the ratio of the memory read after a wait to the same read back to back is
// what the caches lost meanwhile (other tenants' work on the same cores), and the register loop shows whether the
// core itself got slower (its clock). See bench/README.md.
import { loadavg } from 'node:os';
import { pct } from './lib.js';

const SAMPLES = Number(process.env.BENCH_HOST_SAMPLES ?? 300);
const MIB = Number(process.env.BENCH_HOST_MIB ?? 2);
const GAPS_MS = [0, 1, 5, 40];

const memory = new Uint32Array((MIB * 2 ** 20) / 4);
memory.fill(1);
let sink = 0;
/** Arithmetic on registers only: no memory but the stack. */
const registers = () => {
  let s = 0;
  for (let i = 0; i < 20_000; i++) s = (s * 31 + i) | 0;
  sink ^= s;
};
/** One read per 64-byte cache line of `memory`. */
const lines = () => {
  let s = 0;
  for (let i = 0; i < memory.length; i += 16) s += memory[i]!;
  sink ^= s;
};
const timed = (f: () => void) => {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1000;
};

async function main() {
  // The JIT's work done first, and the memory's pages mapped.
  for (let i = 0; i < 2000; i++) (registers(), lines());
  const load = loadavg().map((x) => +x.toFixed(2));
  const rows: Record<string, { registersUs: number; memoryUs: number; memoryP99Us: number }> = {};
  for (const gap of GAPS_MS) {
    const reg: number[] = [];
    const mem: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      await new Promise((r) => (gap ? setTimeout(r, gap) : setImmediate(r)));
      reg.push(timed(registers));
      mem.push(timed(lines));
    }
    rows[gap] = { registersUs: +pct(reg, 50).toFixed(1), memoryUs: +pct(mem, 50).toFixed(1), memoryP99Us: +pct(mem, 99).toFixed(1) };
  }
  const base = rows[0]!;
  console.log(`fixed work after a wait, ${SAMPLES} samples each, p50 (load average ${load.join(' ')})`);
  console.log(['wait'.padEnd(14), 'registers'.padStart(12), `${MIB} MiB read`.padStart(14), 'p99'.padStart(10), '÷ back to back'.padStart(15)].join('  '));
  for (const gap of GAPS_MS) {
    const r = rows[gap]!;
    console.log([(gap ? `${gap} ms` : 'back to back').padEnd(14), `${r.registersUs} µs`.padStart(12), `${r.memoryUs} µs`.padStart(14), `${r.memoryP99Us} µs`.padStart(10), `×${(r.memoryUs / base.memoryUs).toFixed(2)}`.padStart(15)].join('  '));
  }
  console.log(JSON.stringify({ bench: 'host', samples: SAMPLES, mib: MIB, loadAverage: load, afterWaitMs: rows, sink: sink & 1 }));
}

main().catch((err) => {
  console.error(`error: ${err.stack ?? err}`);
  process.exit(1);
});
