// Per-call resource use read straight from a container's cgroup (cgroup v1 or v2): CPU time and peak memory.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export interface CgroupReader {
  /** CPU time used so far, ns. */
  cpuNs(): number;
  /** Peak memory since the last reset, bytes. */
  peakBytes(): number;
  /** Memory in use now, bytes. */
  memoryBytes(): number;
  /** Starts a new peak window (v1: write 0 to memory.max_usage_in_bytes). */
  resetPeak(): void;
  /** OOM kills in this cgroup so far; undefined when the kernel does not say (or the cgroup is gone). */
  oomKills(): number | undefined;
}

const oomKillCount = (text: string | undefined) => {
  const m = /oom_kill (\d+)/.exec(text ?? '');
  return m ? Number(m[1]) : undefined;
};

const read = (p: string) => {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** Finds the cgroup of a process; undefined where it cannot be read (e.g. rootless). */
export function cgroupOf(pid: number): CgroupReader | undefined {
  const lines = read(`/proc/${pid}/cgroup`)?.split('\n') ?? [];
  const v1 = (controller: string) => lines.map((l) => l.split(':')).find(([, ctrls]) => ctrls?.split(',').includes(controller))?.[2];
  const cpuPath = v1('cpuacct');
  const memPath = v1('memory');
  if (cpuPath !== undefined && memPath !== undefined) {
    const cpuDir = ['/sys/fs/cgroup/cpuacct', '/sys/fs/cgroup/cpu,cpuacct'].map((d) => join(d, cpuPath)).find((d) => existsSync(join(d, 'cpuacct.usage')));
    const memDir = join('/sys/fs/cgroup/memory', memPath);
    if (!cpuDir || !existsSync(join(memDir, 'memory.max_usage_in_bytes'))) return undefined;
    return {
      cpuNs: () => Number(read(join(cpuDir, 'cpuacct.usage')) ?? 0),
      peakBytes: () => Number(read(join(memDir, 'memory.max_usage_in_bytes')) ?? 0),
      memoryBytes: () => Number(read(join(memDir, 'memory.usage_in_bytes')) ?? 0),
      oomKills: () => oomKillCount(read(join(memDir, 'memory.oom_control'))),
      resetPeak: () => {
        try {
          writeFileSync(join(memDir, 'memory.max_usage_in_bytes'), '0');
        } catch {
          // not permitted: the peak then covers the container's life
        }
      },
    };
  }
  const unified = lines.find((l) => l.startsWith('0::'))?.slice(3);
  if (unified === undefined) return undefined;
  const dir = join('/sys/fs/cgroup', unified);
  if (!existsSync(join(dir, 'cpu.stat'))) return undefined;
  return {
    cpuNs: () => Number(/usage_usec (\d+)/.exec(read(join(dir, 'cpu.stat')) ?? '')?.[1] ?? 0) * 1000,
    peakBytes: () => Number(read(join(dir, 'memory.peak')) ?? read(join(dir, 'memory.current')) ?? 0),
    memoryBytes: () => Number(read(join(dir, 'memory.current')) ?? 0),
    oomKills: () => oomKillCount(read(join(dir, 'memory.events'))),
    resetPeak: () => {
      try {
        writeFileSync(join(dir, 'memory.peak'), '0');
      } catch {
        // older kernels cannot reset the peak
      }
    },
  };
}
