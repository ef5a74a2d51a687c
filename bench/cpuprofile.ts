// `npm run bench -- cpuprofile <file.cpuprofile> [--windows <file>] [--setting one64] [--run url] [--proc server|agent] [--cpu-per-1k <ms>] [--top 30]`:
// where a process's CPU went per call, from a V8 profile (`node --cpu-prof`) of cpub-server or cpub-agent during
// `npm run bench -- invoke`. With --windows (the file BENCH_PROFILE_WINDOWS named), only the samples taken during
// those measured runs count, and every figure is also given in ms per 1,000 calls. See bench/README.md.
import { readFileSync } from 'node:fs';
import type { RunWindow } from './lib.js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const file = argv[0];
if (!file || file.startsWith('--')) {
  console.error('usage: npm run bench -- cpuprofile <file.cpuprofile> [--windows <file>] [--setting <name>] [--run url|api|…] [--proc server|agent] [--cpu-per-1k <ms>] [--top N]');
  process.exit(2);
}
const top = Number(opt('top') ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
let windows: RunWindow[] | undefined;
if (opt('windows')) {
  windows = (JSON.parse(readFileSync(opt('windows')!, 'utf8')) as RunWindow[]).filter((w) => (!opt('setting') || w.setting === opt('setting')) && (!opt('run') || w.run === opt('run')));
  if (!windows.length) throw new Error('no run in the windows file matches --setting/--run');
}

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** Where a frame's code lives: an npm package, a Node module, a file of ours, or V8's own pseudo-frames. */
function category(n: Node): string {
  const { url, functionName } = n.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native: V8 builtins, C++)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  const dist = url.indexOf('/dist/');
  return dist >= 0 ? url.slice(dist + '/dist/'.length) : url;
}
const label = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${category(n)}:${n.callFrame.lineNumber + 1}`;

// Each sample stands for the time until the next one.
const self = new Map<string, number>();
const total = new Map<string, number>();
const cats = new Map<string, number>();
let busyUs = 0;
let idleUs = 0;
let t = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i]!;
  const dt = profile.timeDeltas[i + 1] ?? 0;
  if (windows && !windows.some((w) => t >= w.t0Us && t < w.t1Us)) continue;
  const n = byId.get(profile.samples[i]!)!;
  if (n.callFrame.functionName === '(idle)') {
    idleUs += dt;
    continue;
  }
  busyUs += dt;
  self.set(label(n), (self.get(label(n)) ?? 0) + dt);
  cats.set(category(n), (cats.get(category(n)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
    const l = label(byId.get(id)!);
    if (seen.has(l)) continue;
    seen.add(l);
    total.set(l, (total.get(l) ?? 0) + dt);
  }
}

const calls = windows?.reduce((n, w) => n + w.calls, 0);
const procMs = windows && opt('proc') ? windows.reduce((n, w) => n + (opt('proc') === 'agent' ? w.agentMs : w.serverMs), 0) : undefined;
// A sample stands for the wall time to the next one (on a busy machine that includes waiting for a core), and the
// profiler's own thread adds CPU to the process: with --cpu-per-1k (the process's CPU per 1,000 calls measured in a
// run without the profiler), each share of the samples is also given as that share of it.
const cpuPer1k = opt('cpu-per-1k') !== undefined ? Number(opt('cpu-per-1k')) : undefined;
const scale = cpuPer1k !== undefined && calls ? (cpuPer1k * calls) / busyUs : undefined;
const ms = (us: number) => (us / 1000).toFixed(0).padStart(7);
const per1000 = (us: number) => (calls ? ((us / 1000 / calls) * 1000).toFixed(1).padStart(7) : '');
const head = `${'ms'.padStart(7)}  ${calls ? `${'/1k'.padStart(7)}  ` : ''}${scale ? `${'≈cpu/1k'.padStart(7)}  ` : ''}${'%'.padStart(5)}`;
const row = (us: number) => `${ms(us)}  ${calls ? `${per1000(us)}  ` : ''}${scale ? `${per1000(us * scale)}  ` : ''}${((us / busyUs) * 100).toFixed(1).padStart(5)}`;

console.log(`${file}: main thread busy ${(busyUs / 1000).toFixed(0)} ms, idle ${(idleUs / 1000).toFixed(0)} ms` + (windows ? ` during ${windows.length} run(s) with ${calls} calls answered` : ''));
if (calls) console.log(`main thread busy per 1,000 calls: ${per1000(busyUs).trim()} ms (samples' wall time)` + (procMs !== undefined ? `; the process's CPU (all threads, /proc, profiler included): ${((procMs / calls) * 1000).toFixed(1)} ms` : '') + (cpuPer1k !== undefined ? `; ≈cpu/1k spreads ${cpuPer1k} ms (measured without the profiler) by each share of the samples` : ''));
const show = (title: string, m: Map<string, number>, n: number) => {
  console.log(`\n${title}\n${head}  where`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${row(us)}  ${k}`);
};
show('self time by package or file', cats, top);
show('self time by function', self, top);
show('total time (self and callees) by function', total, top);
