// A canary's verdict from what was seen of it and of the version it would replace, over the same minutes (the
// rollups): a pure function, so every rule is a table-driven case (canary-judge.test.ts).
//   - Nothing is judged before the canary has MIN_CALLS calls: a few calls prove nothing either way.
//   - Errors: rolled back when its error rate is over the baseline's by more than ERROR_MARGIN and the difference
//     is significant (a one-sided two-proportion z-test at 99 %, z ≥ 2.33); with too few baseline calls to test
//     against, when its own rate is over MAX_ALONE.
//   - Latency: rolled back when its p95 is over both 1.5 × the baseline's and the baseline's + 50 ms (both versions
//     with MIN_CALLS calls).
//   - Promoted when its window ends and neither rule fired (saying so when it had too few calls to judge).

export const MIN_CALLS = 20;
export const ERROR_MARGIN = 0.02;
const Z_99 = 2.33;
const MAX_ALONE = 0.1;

export interface VersionNumbers {
  version: number;
  calls: number;
  /** Calls that failed in the function: error, timeout, OOM, crash, agent lost. */
  errors: number;
  /** The 95th percentile of its call durations, ms; null without calls. */
  p95Ms: number | null;
}

export interface Seen {
  canary: VersionNumbers;
  baseline: VersionNumbers;
}

export type Verdict = { action: 'wait' } | { action: 'rollback' | 'promote'; reason: string };

const pct = (n: number) => `${(n * 100).toFixed(1)}%`;
const rate = (v: VersionNumbers) => (v.calls ? v.errors / v.calls : 0);
const about = (v: VersionNumbers) => `${pct(rate(v))} errors (${v.errors} of ${v.calls})${v.p95Ms === null ? '' : `, p95 ${Math.round(v.p95Ms)} ms`}`;

/** One-sided z of "a fails more often than b" (pooled two-proportion test). */
export function zScore(a: VersionNumbers, b: VersionNumbers): number {
  const pooled = (a.errors + b.errors) / (a.calls + b.calls);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.calls + 1 / b.calls));
  if (se === 0) return rate(a) > rate(b) ? Infinity : 0;
  return (rate(a) - rate(b)) / se;
}

export function judge(seen: Seen, ended: boolean): Verdict {
  const { canary: c, baseline: b } = seen;
  const versus = `v${c.version}: ${about(c)}; v${b.version}: ${about(b)}`;
  if (c.calls >= MIN_CALLS) {
    const worse = rate(c) - rate(b) > ERROR_MARGIN;
    if (b.calls >= MIN_CALLS ? worse && zScore(c, b) >= Z_99 : rate(c) > MAX_ALONE) return { action: 'rollback', reason: `its error rate is higher (${versus})` };
    if (b.calls >= MIN_CALLS && c.p95Ms !== null && b.p95Ms !== null && c.p95Ms > Math.max(1.5 * b.p95Ms, b.p95Ms + 50)) return { action: 'rollback', reason: `its p95 is slower (${versus})` };
  }
  if (!ended) return { action: 'wait' };
  if (c.calls < MIN_CALLS) return { action: 'promote', reason: `its window ended with ${c.calls} calls, too few to judge (${versus})` };
  return { action: 'promote', reason: `it held for its window (${versus})` };
}
