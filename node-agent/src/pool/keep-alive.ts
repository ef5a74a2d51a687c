// How long a version's containers stay warm after a call: a fixed idle timeout, or learned from the version's own
// call pattern by the hybrid histogram policy of "Serverless in the Wild" (Shahrad et al., USENIX ATC 2020):
//   - the times between its calls go into a histogram of 1-minute bins over 4 hours;
//   - when the histogram is representative (enough calls, bins far from flat: the coefficient of variation of the
//     bin counts at least 2) and most times fall inside its range, the 5th percentile (the head) says how long the
//     version surely stays idle and the 99th (the tail) how long it may: containers are released right after a call,
//     one is started again (prewarmed) at 90 % of the head, and kept until 110 % of the tail;
//   - a head in the first bin means calls can follow at once: nothing is released, containers stay until 110 % of
//     the tail after the last call;
//   - otherwise (too few calls, a flat histogram, times beyond its range) the fixed timeout applies.
// The learned keep-alive is held within the operator's bounds. `plan` turns the windows into what the pools do, and
// the scaling bench replays a trace through the same two functions.

export interface KeepAliveOptions {
  /** `fixed`: always the idle timeout. */
  mode: 'learned' | 'fixed';
  /** The idle timeout: fixed mode, and the fallback while a version's pattern is not known. */
  fixedMs: number;
  /** Bounds on a learned keep-alive. */
  minMs: number;
  maxMs: number;
  /** The histogram's bin (1 minute; tests shrink it to replay minutes in milliseconds). */
  binMs?: number;
}

/**
 * The agent's default bounds on a learned keep-alive: at least a minute, at most 12 minutes idle (a version whose
 * gaps are longer is released and prewarmed instead, which costs only the prewarm's window). The upper bound is the
 * trade-off `npm run bench -- scaling` measures: on its trace, 12 minutes cut cold starts by more than half for
 * under 20 % more memory-time than the fixed 5 minutes; an hour cuts more than 80 % for about 46 % more.
 */
export const DEFAULT_BOUNDS = { minMs: 60_000, maxMs: 720_000 };

export const BIN_MS = 60_000;
export const BINS = 240;
/** Calls before a pattern is trusted. */
export const MIN_SAMPLES = 10;
const CV_MIN = 2;
/** Past this share of times beyond the histogram's range, its percentiles say little: the fixed timeout applies. */
const OUT_OF_RANGE_MAX = 0.5;
const HEAD = 0.05;
const TAIL = 0.99;
const MARGIN = 0.1;

export interface Windows {
  /** How long after a call to start a container again (0: containers are not released after a call). */
  prewarmMs: number;
  /** How long a container stays warm: after the prewarm, or (prewarm 0) after the last call. */
  keepAliveMs: number;
  learned: boolean;
}

export class KeepAlive {
  private readonly bins = new Uint32Array(BINS);
  private inRange = 0;
  private outOfRange = 0;
  private last: number | undefined;
  private cached: Windows | undefined;

  private readonly binMs: number;

  constructor(private readonly opts: KeepAliveOptions) {
    this.binMs = opts.binMs ?? BIN_MS;
  }

  /** A call arrived at `at` (epoch ms). */
  observe(at: number): void {
    if (this.opts.mode === 'fixed') return;
    if (this.last !== undefined && at >= this.last) {
      const bin = Math.floor((at - this.last) / this.binMs);
      if (bin < BINS) {
        this.bins[bin]!++;
        this.inRange++;
      } else this.outOfRange++;
      this.cached = undefined;
    }
    this.last = at;
  }

  /** The windows the version's pattern gives now. */
  windows(): Windows {
    this.cached ??= this.compute();
    return this.cached;
  }

  private compute(): Windows {
    const fixed = { prewarmMs: 0, keepAliveMs: this.opts.fixedMs, learned: false };
    const n = this.inRange;
    if (this.opts.mode === 'fixed' || n < MIN_SAMPLES || this.outOfRange > OUT_OF_RANGE_MAX * (n + this.outOfRange)) return fixed;
    const mean = n / BINS;
    let sq = 0;
    for (const c of this.bins) sq += (c - mean) ** 2;
    if (Math.sqrt(sq / BINS) / mean < CV_MIN) return fixed;
    let head = -1;
    let tail = BINS - 1;
    for (let i = 0, seen = 0; i < BINS; i++) {
      seen += this.bins[i]!;
      if (head < 0 && seen >= HEAD * n) head = i;
      if (seen >= TAIL * n) {
        tail = i;
        break;
      }
    }
    const prewarmMs = head * this.binMs * (1 - MARGIN);
    const until = (tail + 1) * this.binMs * (1 + MARGIN);
    return { prewarmMs, keepAliveMs: Math.min(this.opts.maxMs, Math.max(this.opts.minMs, until - prewarmMs)), learned: true };
  }
}

/** What the pools do after a version's last call (arrived at `lastArrival`, its container last used at `lastUsed`). */
export interface Plan {
  /** Idle containers go after this. */
  idleUntil: number;
  /** When to start one again (prewarm), and until when it stays; null: no prewarm. */
  prewarmAt: number | null;
  prewarmUntil: number | null;
}

export function plan(w: Windows, lastArrival: number, lastUsed: number): Plan {
  if (w.prewarmMs === 0) return { idleUntil: lastUsed + w.keepAliveMs, prewarmAt: null, prewarmUntil: null };
  return { idleUntil: lastUsed, prewarmAt: lastArrival + w.prewarmMs, prewarmUntil: lastArrival + w.prewarmMs + w.keepAliveMs };
}

/** Whether an idle container may stay at `now` under its plan. */
export function keeps(p: Plan, now: number): boolean {
  return (p.prewarmAt !== null && now >= p.prewarmAt && now < p.prewarmUntil!) || now <= p.idleUntil;
}
