// The call stream's batches (common/batcher.ts): what a turn sends goes as one message at its end; a message sent
// `now` goes at once (with what was held before it, in order); a batch stays under its size.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BATCH_BYTES, Batcher } from './batcher.js';

const turn = () => new Promise((r) => setImmediate(r));

test("a turn's messages go together at its end, in order", async () => {
  const sent: number[][] = [];
  const b = new Batcher<number>((items) => sent.push(items), () => 0);
  b.push(1, false);
  b.push(2, false);
  b.push(3, false);
  assert.equal(sent, [], 'nothing before the turn ends');
  await turn();
  assert.equal(sent, [[1, 2, 3]]);
  b.push(4, false);
  await turn();
  assert.equal(sent, [[1, 2, 3], [4]]);
});

test('a message sent now goes at once, after what was held', async () => {
  const sent: number[][] = [];
  const b = new Batcher<number>((items) => sent.push(items), () => 0);
  b.push(1, true);
  assert.equal(sent, [[1]]);
  b.push(2, false);
  b.push(3, true);
  assert.equal(sent, [[1], [2, 3]]);
  await turn();
  assert.equal(sent, [[1], [2, 3]], 'nothing left for the end of the turn');
});

test('a batch stays under BATCH_BYTES: a message that would pass it starts the next', async () => {
  const sent: number[][] = [];
  const half = BATCH_BYTES / 2;
  const b = new Batcher<number>((items) => sent.push(items), (n) => n);
  b.push(half, false);
  b.push(half, false);
  b.push(1, false);
  b.push(BATCH_BYTES * 3, false);
  await turn();
  assert.equal(sent, [[half, half], [1], [BATCH_BYTES * 3]]);
});

test.run();
