// Rollups: cover() tiles a window with rows of the coarsest sizes that fit where folded and minutes after, no gap
// and no overlap; rollupRows, foldRows and combineRollups add up.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { combineRollups, cover, DAY, foldRows, HOUR, MINUTE, rollupRows, type RolledCall } from './rollups.js';
import { Histogram } from './histogram.js';

const T0 = 1_800_000_000_000; // a whole hour

test('cover tiles [from, to): hours and days inside the folded part, minutes at its edges and after it', () => {
  const cases: [from: number, to: number, folded: number, finest: number][] = [
    [T0 + 5 * MINUTE, T0 + DAY + 5 * MINUTE + 1, Infinity, MINUTE],
    [T0 + 5 * MINUTE, T0 + DAY + 5 * MINUTE + 1, T0 + DAY - HOUR, MINUTE],
    [T0 - 13 * MINUTE, T0 + 30 * DAY + 7 * HOUR + 3 * MINUTE, T0 + 30 * DAY + 6 * HOUR, MINUTE],
    [T0 + 2 * MINUTE, T0 + 9 * MINUTE, T0, MINUTE],
    [T0 + 2 * MINUTE, T0 + 9 * MINUTE, 0, MINUTE],
    [T0 + 3 * HOUR + 7 * MINUTE, T0 + 7 * DAY + 1, T0 + 7 * DAY - HOUR, HOUR],
    [T0, T0 + HOUR, T0 + HOUR, MINUTE],
  ];
  for (const [from, to, folded, finest] of cases) {
    const pieces = cover(from, to, folded, finest);
    const start = from - (from % finest);
    assert.is(pieces[0]!.from, start, 'starts at from, rounded down to the finest size');
    for (let i = 1; i < pieces.length; i++) assert.is(pieces[i]!.from, pieces[i - 1]!.to, 'no gap, no overlap');
    const last = pieces[pieces.length - 1]!;
    assert.ok(last.to >= to && last.to - to < finest, 'ends with the slot holding to − 1');
    for (const p of pieces) {
      assert.ok(p.from % p.size === 0 && p.to % p.size === 0 && p.to > p.from, JSON.stringify(p));
      if (p.size > MINUTE) assert.ok(p.to <= folded, 'hours and days only where folded');
      if (p.from >= folded) assert.is(p.size, MINUTE, 'minutes after the folded part');
    }
    const rows = pieces.reduce((n, p) => n + (p.to - p.from) / p.size, 0);
    assert.ok(rows <= 60 + 24 + 31 + 24 + 60 + 80, `${rows} rows`);
  }
  const day = cover(T0 + 5 * MINUTE, T0 + DAY + 5 * MINUTE + 1, Infinity);
  assert.equal(
    day.map((p) => p.size),
    [MINUTE, HOUR, HOUR, MINUTE],
    '55 minutes, 15 hours to a day’s start and 8 after it, 6 minutes',
  );
});

test('rollupRows counts each call in its minute; foldRows sums minutes into hours and days; combine adds two rows up', () => {
  const call: RolledCall = { functionId: 'f', version: 1, startedAt: T0 + 61_000, status: 'timeout', coldStart: true, queued: true, retry: true, durationMs: 12, cpuMs: 3, peakMemoryBytes: 1000 };
  const rows = rollupRows([call, { ...call, status: 'success', coldStart: false, retry: false, durationMs: 0, peakMemoryBytes: 5000 }]);
  assert.equal(rows.map((r) => [r.size_ms, r.start]), [[MINUTE, T0 + MINUTE]]);
  const r = rows[0]!;
  assert.equal([r.calls, r.success, r.timeout, r.error, r.cold_starts, r.queued, r.retries, r.duration_sum_ms, r.cpu_sum_ms, r.memory_max_bytes], [2, 1, 1, 0, 1, 2, 1, 12, 6, 5000]);
  const both = combineRollups(r, r);
  assert.equal([both.calls, both.success, both.cold_starts, both.retries, both.memory_max_bytes], [4, 2, 2, 2, 5000]);
  const h = Histogram.decode(both.latency as Uint8Array);
  assert.equal([h.count, h.zero], [4, 2]);
  // Calls of two minutes of one hour and one of another version: folded, one hour row per version.
  const minutes = rollupRows([call, { ...call, startedAt: T0 + 5 * MINUTE }, { ...call, version: 2 }]);
  assert.equal(minutes.map((r) => [r.size_ms, r.start, r.version, r.calls]), [[MINUTE, T0 + MINUTE, 1, 1], [MINUTE, T0 + 5 * MINUTE, 1, 1], [MINUTE, T0 + MINUTE, 2, 1]]);
  const hours = foldRows(minutes, HOUR);
  assert.equal(hours.map((r) => [r.size_ms, r.start, r.version, r.calls]), [[HOUR, T0, 1, 2], [HOUR, T0, 2, 1]]);
  assert.is(Histogram.decode(hours[0]!.latency as Uint8Array).count, 2);
  assert.equal(foldRows(hours, DAY).map((r) => [r.size_ms, r.start, r.calls]), [[DAY, T0 - (T0 % DAY), 2], [DAY, T0 - (T0 % DAY), 1]]);
});

test.run();
