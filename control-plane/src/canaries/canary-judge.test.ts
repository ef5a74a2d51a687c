// Table-driven cases for a canary's verdict: each rule of canary-judge.ts, one row each.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { judge, MIN_CALLS, type VersionNumbers } from './canary-judge.js';

const v = (version: number, calls: number, errors: number, p95Ms: number | null = 20): VersionNumbers => ({ version, calls, errors, p95Ms });

const cases: { name: string; canary: VersionNumbers; baseline: VersionNumbers; ended?: boolean; want: 'wait' | 'rollback' | 'promote'; why?: RegExp }[] = [
  { name: 'too few calls: wait, even failing them all', canary: v(2, MIN_CALLS - 1, MIN_CALLS - 1), baseline: v(1, 500, 0), want: 'wait' },
  { name: '20 % failing against 0 %: rolled back', canary: v(2, 25, 5), baseline: v(1, 225, 0), want: 'rollback', why: /error rate is higher \(v2: 20\.0% errors \(5 of 25\)/ },
  { name: 'the same error rate as the baseline: held', canary: v(2, 100, 5), baseline: v(1, 900, 45), want: 'wait' },
  { name: 'slightly worse but within the margin: held', canary: v(2, 200, 6), baseline: v(1, 1800, 36), want: 'wait' },
  { name: 'worse by more than the margin but not significant yet: wait', canary: v(2, 20, 2), baseline: v(1, 30, 0), want: 'wait' },
  { name: 'baseline without calls: its own rate over 10 % rolls it back', canary: v(2, 30, 4), baseline: v(1, 0, 0, null), want: 'rollback' },
  { name: 'baseline without calls: 5 % is held', canary: v(2, 40, 2), baseline: v(1, 0, 0, null), want: 'wait' },
  { name: 'p95 over 1.5 × and + 50 ms: rolled back', canary: v(2, 50, 0, 400), baseline: v(1, 500, 0, 200), want: 'rollback', why: /p95 is slower/ },
  { name: 'p95 1.5 × but within 50 ms: held', canary: v(2, 50, 0, 60), baseline: v(1, 500, 0, 30), want: 'wait' },
  { name: 'the window ended and it held: promoted', canary: v(2, 100, 1), baseline: v(1, 900, 9), ended: true, want: 'promote', why: /held for its window/ },
  { name: 'the window ended with too few calls: promoted, saying so', canary: v(2, 3, 0), baseline: v(1, 30, 0), ended: true, want: 'promote', why: /too few to judge/ },
  { name: 'a failing canary is rolled back even when its window has ended', canary: v(2, 50, 20), baseline: v(1, 450, 0), ended: true, want: 'rollback' },
];

for (const c of cases) {
  test(c.name, () => {
    const r = judge({ canary: c.canary, baseline: c.baseline }, c.ended ?? false);
    assert.is(r.action, c.want);
    if (c.why && r.action !== 'wait') assert.match(r.reason, c.why);
  });
}

test.run();
