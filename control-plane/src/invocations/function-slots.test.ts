// A function's capacity on one replica: slots up to concurrency × maxInstances, then a line served in order, then
// 429 too_many_calls — at once when the call may not wait or the line is full, after the wait when it runs out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppError } from '../errors.js';
import { FunctionSlots } from './function-slots.js';

const fn = { id: 'f1', name: 'hello', concurrency: 2, max_instances: 1 };

async function refusal(p: Promise<void> | undefined): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, AppError);
    return err as AppError;
  }
  throw new Error('it was not refused');
}

test('slots up to the capacity are taken at once; beyond it calls wait and are served in order', async () => {
  const slots = new FunctionSlots();
  assert.is(slots.take(fn, 1000), undefined);
  assert.is(slots.take(fn, 1000), undefined);
  assert.is(slots.inFlightFor('f1'), 2);
  const order: string[] = [];
  const a = slots.take(fn, 1000)!.then(() => order.push('a'));
  const b = slots.take(fn, 1000)!.then(() => order.push('b'));
  assert.is(slots.waitingFor('f1'), 2);
  slots.release('f1', 10);
  slots.release('f1', 10);
  await Promise.all([a, b]);
  assert.equal(order, ['a', 'b'], 'first come, first served');
  assert.is(slots.inFlightFor('f1'), 2, 'a slot handed over stays taken');
  assert.is(slots.waitingFor('f1'), 0);
  slots.release('f1', 10);
  slots.release('f1', 10);
  assert.is(slots.inFlightFor('f1'), 0);
});

test('refused with 429: at once when it may not wait or the line is full, after the wait when it runs out', async () => {
  const slots = new FunctionSlots();
  slots.take(fn, 0);
  slots.take(fn, 0);
  const now = await refusal(slots.take(fn, 0));
  assert.is(now.code, 'too_many_calls');
  assert.match(now.detail, 'already has 2 calls in flight (concurrency 2 × 1 instances)');
  const waits = Array.from({ length: 20 }, () => slots.take(fn, 60_000)!.catch(() => {}));
  const full = await refusal(slots.take(fn, 60_000));
  assert.match(full.detail, 'and 20 waiting', 'the line holds 10 per slot');
  for (let i = 0; i < 20; i++) slots.release('f1', 10);
  await Promise.all(waits);
  const t0 = Date.now();
  const late = await refusal(slots.take(fn, 50));
  assert.ok(Date.now() - t0 >= 45, 'it waited');
  assert.match(late.detail, 'waited 50 ms for a slot');
  assert.is(slots.waitingFor('f1'), 0, 'a call that gave up leaves the line');
});

test.run();
