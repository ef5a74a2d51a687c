// The latency histogram: percentiles within its stated accuracy of the exact nearest-rank percentile, on data
// shaped like call durations; merging equals adding everything to one; bytes round-trip.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Histogram, mergeEncoded, RELATIVE_ACCURACY } from './histogram.js';

/** A repeatable stream of numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function exact(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

const SHAPES: [string, (r: () => number) => number][] = [
  ['fast whole ms (0–3)', (r) => Math.floor(r() * 4)],
  ['log-normal around 40 ms', (r) => Math.round(Math.exp(Math.log(40) + (r() + r() + r() - 1.5) * 1.5))],
  ['bimodal warm/cold', (r) => (r() < 0.05 ? 200 + Math.round(r() * 800) : 1 + Math.round(r() * 5))],
  ['long tail to 30 s', (r) => Math.round(1 / Math.max(r(), 1e-5) ** 0.9)],
];

for (const [name, shape] of SHAPES) {
  test(`percentiles within ${RELATIVE_ACCURACY * 100} % of exact: ${name}`, () => {
    const r = rng(name.length);
    const values = Array.from({ length: 20_000 }, () => shape(r));
    const h = new Histogram();
    for (const v of values) h.add(v);
    const sorted = [...values].sort((a, b) => a - b);
    assert.is(h.count, values.length);
    for (const q of [0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1]) {
      const e = exact(sorted, q);
      const got = h.quantile(q);
      assert.ok(Math.abs(got - e) <= RELATIVE_ACCURACY * e + 1e-9, `q ${q}: ${got} vs exact ${e}`);
    }
  });
}

test('merging histograms equals one histogram of all the values; bytes round-trip', () => {
  const r = rng(7);
  const all = new Histogram();
  const parts = [new Histogram(), new Histogram(), new Histogram()];
  for (let i = 0; i < 5000; i++) {
    const v = Math.round(Math.exp(r() * 8)) - 1;
    all.add(v);
    parts[i % 3]!.add(v);
  }
  const merged = parts.map((p) => Histogram.decode(p.encode())).reduce((a, b) => a.merge(b), new Histogram());
  assert.is(merged.zero, all.zero);
  assert.equal(new Map([...merged.counts].sort()), new Map([...all.counts].sort()));
  assert.equal(merged.encode(), all.encode());
  const encoded = parts.map((p) => p.encode()).reduce((a, b) => mergeEncoded(a, b), Buffer.alloc(0));
  assert.equal(encoded, all.encode(), 'merging the encodings gives the encoding of the merge');
  assert.equal(mergeEncoded(new Histogram().encode(), parts[0]!.encode()), parts[0]!.encode());
  assert.is(Histogram.decode(new Histogram().encode()).count, 0);
  assert.is(new Histogram().quantile(0.5), 0, 'empty: 0');
  assert.throws(() => Histogram.decode(Buffer.from([5, 2])), /truncated/);
});

test('a steady minute is a few dozen bytes', () => {
  const h = new Histogram();
  for (let i = 0; i < 60_000; i++) h.add(1 + (i % 4));
  assert.ok(h.encode().length < 16, `${h.encode().length} bytes`);
});

test.run();
