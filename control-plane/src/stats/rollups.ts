// Rollups: the numbers of a function version's calls per minute, written by the execution writer in the
// transaction of the records they summarise (a crash loses neither alone), and folded into hours and days once an
// hour is settled (rollup-folder.ts); read by every statistic, whose cost so follows the number of buckets, never
// the number of calls. Counts by status, cold starts, sums of duration and CPU (for means), the peak memory, and a
// latency histogram (histogram.ts) that merges across rows.
import type { ExecutionStatus } from '../db/schema.js';
import { EXECUTION_STATUSES } from '../../../proto/outcomes.js';
import { bucketOf, Histogram, mergeEncoded } from './histogram.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const SIZES = [MINUTE, HOUR, DAY] as const;
/**
 * Ten-second rows, written beside the minute ones and kept two hours: what alert rules with short windows read
 * (an error rate over 30 s), never folded, never read by the statistics.
 */
export const RECENT = 10_000;
export const RECENT_RETENTION = 2 * 3_600_000;
/**
 * How long after an hour ends it is folded: a call is recorded when it ends (at most the longest timeout, 15 min,
 * after it started), so by then no call of that hour is still to come.
 */
export const SETTLE_MS = 20 * MINUTE;

/** How long rows of each size are kept (minutes once folded): minutes for the edges of the last day, hours for a month, days for a year. */
export const ROLLUP_RETENTION: Record<number, number> = { [MINUTE]: 2 * DAY, [HOUR]: 35 * DAY, [DAY]: 400 * DAY };

const COUNTS = ['calls', ...EXECUTION_STATUSES, 'cold_starts', 'queued', 'retries', 'duration_sum_ms', 'cpu_sum_ms'] as const;
export const ROLLUP_KEY = ['function_id', 'size_ms', 'start', 'version'] as const;
/** The columns a rollup row adds up (the peak memory is a maximum; the latency histogram merges). */
export const ROLLUP_SUMS = COUNTS;

/** What a rollup needs of a call. */
export interface RolledCall {
  functionId: string;
  version: number;
  startedAt: number;
  status: ExecutionStatus;
  coldStart: boolean;
  /** An attempt of an async call; retry: not its first. */
  queued: boolean;
  retry: boolean;
  durationMs: number;
  cpuMs: number;
  peakMemoryBytes: number;
}

type Row = Record<string, unknown>;

/** The minute rows (one per function, version and minute; or of another `size`) that add `calls` to the rollups. */
export function rollupRows(calls: readonly RolledCall[], size: number = MINUTE): Row[] {
  const minutes = new Map<string, { row: Record<string, number | string>; latency: Histogram }>();
  for (const c of calls) {
    const start = c.startedAt - (c.startedAt % size);
    const key = `${c.functionId}|${start}|${c.version}`;
    let m = minutes.get(key);
    if (!m) {
      m = { row: { function_id: c.functionId, size_ms: size, start, version: c.version, memory_max_bytes: 0 }, latency: new Histogram() };
      for (const k of COUNTS) m.row[k] = 0;
      minutes.set(key, m);
    }
    const row = m.row as Record<string, number>;
    row.calls! += 1;
    row[c.status]! += 1;
    if (c.coldStart) row.cold_starts! += 1;
    if (c.queued) row.queued! += 1;
    if (c.retry) row.retries! += 1;
    row.duration_sum_ms! += c.durationMs;
    row.cpu_sum_ms! += c.cpuMs;
    if (c.peakMemoryBytes > row.memory_max_bytes!) row.memory_max_bytes = c.peakMemoryBytes;
    m.latency.addBucket(bucketOf(c.durationMs));
  }
  return [...minutes.values()].map((m) => ({ ...m.row, latency: m.latency.encode() }));
}

/** Rows of a finer size summed into rows of `size` (one per function, version and slot of that size). */
export function foldRows(rows: readonly Row[], size: number): Row[] {
  const out = new Map<string, Row>();
  for (const r of rows) {
    const start = Number(r.start) - (Number(r.start) % size);
    const key = `${r.function_id as string}|${start}|${r.version as number}`;
    const part = { ...r, size_ms: size, start };
    const seen = out.get(key);
    out.set(key, seen ? combineRollups(seen, part) : part);
  }
  return [...out.values()];
}

/** A stored rollup row with `add` folded in. */
export function combineRollups(stored: Row, add: Row): Row {
  const out: Row = { ...add };
  for (const k of COUNTS) out[k] = Number(stored[k]) + Number(add[k]);
  out.memory_max_bytes = Math.max(Number(stored.memory_max_bytes), Number(add.memory_max_bytes));
  out.latency = mergeEncoded(stored.latency as Uint8Array, add.latency as Uint8Array);
  return out;
}

/** Rows read back, summed: what a period or a bucket of the statistics is made of. */
export class Totals {
  calls = 0;
  success = 0;
  coldStarts = 0;
  queued = 0;
  retries = 0;
  durationSumMs = 0;
  cpuSumMs = 0;
  memoryMaxBytes = 0;
  readonly latency = new Histogram();

  add(r: { [K in 'calls' | 'success' | 'cold_starts' | 'queued' | 'retries' | 'duration_sum_ms' | 'cpu_sum_ms' | 'memory_max_bytes']: number } & { latency: Uint8Array }): void {
    this.calls += Number(r.calls);
    this.success += Number(r.success);
    this.coldStarts += Number(r.cold_starts);
    this.queued += Number(r.queued);
    this.retries += Number(r.retries);
    this.durationSumMs += Number(r.duration_sum_ms);
    this.cpuSumMs += Number(r.cpu_sum_ms);
    this.memoryMaxBytes = Math.max(this.memoryMaxBytes, Number(r.memory_max_bytes));
    this.latency.merge(Histogram.decode(r.latency as Uint8Array));
  }
}

/**
 * The rows to read for [from, to) when the hours before `folded` (a whole hour) have been folded into hour and day
 * rows: the folded part with as few rows as the sizes allow (minutes up to the first whole hour, hours up to the
 * first whole day, days, then hours and minutes again), the rest from minute rows. `from` is rounded down to
 * `finest` (minute rows are gone past their retention, so long periods start on a whole hour).
 */
export function cover(from: number, to: number, folded: number, finest: number = MINUTE): { size: number; from: number; to: number }[] {
  const sizes = SIZES.filter((s) => s >= finest);
  const out: { size: number; from: number; to: number }[] = [];
  let at = from - (from % sizes[0]!);
  const end = Math.min(to, folded);
  if (at < end) {
    // Up: the finest sizes until the next boundary of a coarser one.
    let i = 0;
    for (; i < sizes.length - 1; i++) {
      const next = Math.min(end, Math.ceil(at / sizes[i + 1]!) * sizes[i + 1]!);
      if (next >= end) break;
      if (next > at) out.push({ size: sizes[i]!, from: at, to: next });
      at = next;
    }
    // Down: the coarsest size that fits, then finer ones for the rest.
    for (; i >= 0; i--) {
      const s = sizes[i]!;
      const stop = i === 0 ? Math.ceil(end / s) * s : end - (end % s);
      if (stop > at) out.push({ size: s, from: at, to: stop });
      at = Math.max(at, stop);
    }
  }
  // Not folded yet: minute rows (recent, so kept).
  if (at < to) out.push({ size: MINUTE, from: at - (at % MINUTE), to: Math.ceil(to / MINUTE) * MINUTE });
  return out;
}
