// A split's pick: by weight, at random or by the caller's sticky value (the same value, the same version).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pickWeighted, stickyBucket } from './aliases.service.js';

test('a 90/10 split picked at random 10,000 times sends 10 % ± 3 % to the second version', () => {
  let second = 0;
  for (let i = 0; i < 10_000; i++) if (pickWeighted({ '1': 90, '2': 10 }, Math.floor(Math.random() * 100)) === 2) second++;
  assert.ok(second >= 700 && second <= 1300, `${second} of 10,000`);
});

test('buckets: versions in ascending order, each over its share of 0–99; a weight of 0 gets nothing', () => {
  const w = { '3': 20, '1': 50, '7': 30, '9': 0 };
  assert.equal([0, 49, 50, 69, 70, 99].map((b) => pickWeighted(w, b)), [1, 1, 3, 3, 7, 7]);
});

test('sticky: a value always lands in the same bucket of a function, values spread over all buckets', () => {
  assert.is(stickyBucket('f1', 'alice'), stickyBucket('f1', 'alice'));
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) seen.add(stickyBucket('f1', `user-${i}`));
  assert.is(seen.size, 100);
});

test.run();
