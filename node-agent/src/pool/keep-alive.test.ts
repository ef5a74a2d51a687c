// The learned keep-alive (keep-alive.ts): the hybrid histogram policy's windows for each shape of calls, the
// fallbacks to the fixed timeout, the operator's bounds, and what the pools do with the windows.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeepAlive, keeps, plan, MIN_SAMPLES, type KeepAliveOptions } from './keep-alive.js';

const MIN = 60_000;
const learned: KeepAliveOptions = { mode: 'learned', fixedMs: 5 * MIN, minMs: MIN, maxMs: 60 * MIN };

/** A policy that saw calls at these gaps (ms), after a first call at 0. */
function after(gaps: number[], opts = learned): KeepAlive {
  const k = new KeepAlive(opts);
  let at = 1_000_000;
  k.observe(at);
  for (const g of gaps) k.observe((at += g));
  return k;
}
const times = (n: number, gap: number) => Array.from({ length: n }, () => gap);

test('fixed mode, or too few calls: the idle timeout', () => {
  assert.equal(after(times(50, 10 * MIN), { ...learned, mode: 'fixed' }).windows(), { prewarmMs: 0, keepAliveMs: 5 * MIN, learned: false });
  assert.equal(after(times(MIN_SAMPLES - 1, 10 * MIN)).windows(), { prewarmMs: 0, keepAliveMs: 5 * MIN, learned: false });
});

test('a timer every 10 minutes: released after each call, started again at 9 minutes, kept until 12.1', () => {
  const w = after(times(20, 10 * MIN + 500)).windows();
  assert.ok(w.learned);
  assert.is(w.prewarmMs, 9 * MIN);
  assert.is(Math.round(w.keepAliveMs), Math.round(11 * MIN * 1.1 - 9 * MIN));
});

test('calls seconds apart: nothing released, kept 66 s after the last call (the first bin, and the margin)', () => {
  const w = after(times(100, 5000)).windows();
  assert.equal([w.prewarmMs, Math.round(w.keepAliveMs), w.learned], [0, 66_000, true]);
});

test('bursts every ~20 minutes: the head is the burst (no release), the tail the gap', () => {
  const gaps = Array.from({ length: 10 }, () => [...times(9, 3000), 20 * MIN]).flat();
  const w = after(gaps).windows();
  assert.equal([w.prewarmMs, w.learned], [0, true]);
  assert.is(Math.round(w.keepAliveMs), Math.round(21 * MIN * 1.1));
});

test('a flat histogram (no pattern) and times beyond its range: the idle timeout', () => {
  assert.is(after(Array.from({ length: 480 }, (_, i) => (i % 240) * MIN + 1000)).windows().learned, false, 'uniform over the range');
  assert.is(after(times(30, 6 * 60 * MIN)).windows().learned, false, 'every 6 hours');
});

test('the operator’s bounds hold a learned keep-alive', () => {
  assert.is(after(times(100, 5000), { ...learned, minMs: 3 * MIN }).windows().keepAliveMs, 3 * MIN);
  const gaps = Array.from({ length: 10 }, () => [...times(9, 3000), 200 * MIN]).flat();
  assert.is(after(gaps, { ...learned, maxMs: 30 * MIN }).windows().keepAliveMs, 30 * MIN);
});

test('plan: no prewarm keeps idle containers for the keep-alive; a prewarm releases them at once and keeps one in its window', () => {
  const p0 = plan({ prewarmMs: 0, keepAliveMs: 1000, learned: true }, 0, 50);
  assert.equal([keeps(p0, 1050), keeps(p0, 1051)], [true, false]);
  const p1 = plan({ prewarmMs: 9000, keepAliveMs: 4000, learned: true }, 0, 50);
  assert.equal([keeps(p1, 50), keeps(p1, 51), keeps(p1, 8999), keeps(p1, 9000), keeps(p1, 12_999), keeps(p1, 13_000)], [true, false, false, true, true, false]);
});

test.run();
