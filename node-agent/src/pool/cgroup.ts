// Per-call resource use read straight from a container's cgroup (cgroup v1 or v2): CPU time and peak memory.
// The files are read on every call, so each is opened once and re-read with pread at offset 0 (cgroup files
// regenerate their content on every read from the start): one syscall instead of open, fstat, read, close.
import { closeSync, existsSync, openSync, readFileSync, readSync, writeSync, constants } from 'node:fs';
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
  /** Closes the files kept open. */
  close(): void;
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

const scratch = Buffer.alloc(4096);

/**
 * One cgroup file kept open; reads and writes never throw (a removed cgroup reads as undefined). A read may
 * answer from the last one when that is under `maxAgeMs` old: with many short calls in one container, every
 * call's start and end would otherwise each cost a read, for figures reported in whole milliseconds.
 */
class CgroupFile {
  private fd: number | undefined;
  private failed = false;
  private last: { at: number; text: string | undefined } | undefined;

  constructor(
    private readonly path: string,
    private readonly writable = false,
    private readonly maxAgeMs = 0,
  ) {}

  private open(): number | undefined {
    if (this.fd === undefined && !this.failed) {
      try {
        this.fd = openSync(this.path, this.writable ? constants.O_RDWR : constants.O_RDONLY);
      } catch {
        this.failed = true;
      }
    }
    return this.fd;
  }

  read(): string | undefined {
    const now = this.maxAgeMs ? performance.now() : 0;
    if (this.last && now - this.last.at < this.maxAgeMs) return this.last.text;
    const fd = this.open();
    if (fd === undefined) return undefined;
    let text: string | undefined;
    try {
      const n = readSync(fd, scratch, 0, scratch.length, 0);
      text = scratch.toString('latin1', 0, n).trim();
    } catch {
      text = undefined;
    }
    if (this.maxAgeMs) this.last = { at: now, text };
    return text;
  }

  write(text: string): void {
    this.last = undefined;
    const fd = this.open();
    if (fd === undefined) return;
    try {
      writeSync(fd, text, 0);
    } catch {
      // not permitted (or the cgroup is gone): the peak then covers the container's life
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.failed = true;
  }
}

function reader(files: { cpu: CgroupFile; peak: CgroupFile; usage: CgroupFile }, cpuNs: (text: string | undefined) => number, oomFile: string): CgroupReader {
  return {
    cpuNs: () => cpuNs(files.cpu.read()),
    peakBytes: () => Number(files.peak.read() ?? files.usage.read() ?? 0),
    memoryBytes: () => Number(files.usage.read() ?? 0),
    oomKills: () => oomKillCount(read(oomFile)),
    resetPeak: () => files.peak.write('0'),
    close: () => Object.values(files).forEach((f) => f.close()),
  };
}

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
    return reader(
      {
        cpu: new CgroupFile(join(cpuDir, 'cpuacct.usage'), false, 1),
        peak: new CgroupFile(join(memDir, 'memory.max_usage_in_bytes'), true, 1),
        usage: new CgroupFile(join(memDir, 'memory.usage_in_bytes')),
      },
      (t) => Number(t ?? 0),
      join(memDir, 'memory.oom_control'),
    );
  }
  const unified = lines.find((l) => l.startsWith('0::'))?.slice(3);
  if (unified === undefined) return undefined;
  const dir = join('/sys/fs/cgroup', unified);
  if (!existsSync(join(dir, 'cpu.stat'))) return undefined;
  return reader(
    { cpu: new CgroupFile(join(dir, 'cpu.stat'), false, 1), peak: new CgroupFile(join(dir, 'memory.peak'), true, 1), usage: new CgroupFile(join(dir, 'memory.current')) },
    (t) => Number(/usage_usec (\d+)/.exec(t ?? '')?.[1] ?? 0) * 1000,
    join(dir, 'memory.events'),
  );
}
