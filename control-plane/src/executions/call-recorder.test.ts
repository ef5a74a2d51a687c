// Group commit beside slow calls: CallRecorder counts, for ExecutionWriter, only the calls in flight that began
// lately. A row waits for the rows of calls about to end (two calls begun together are written in one group), never
// for a call held in flight for long — that wait would be added to every other call's answer while it runs. A queued
// call's row (its attempt's: no caller waits on it) waits for company whenever groups are being written. A stand-in
// database records the groups written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Batch, Db } from '../db/connect.js';
import type { Logger } from '../../../common/logger.js';
import type { CallWrite, ExecutionWriter } from './execution-writer.js';
import { CallRecorder } from './call-recorder.js';

const groups: number[] = [];
const db = { kysely: {}, recordDays: { ensure: async () => {} }, batchWriter: () => async (b: Batch) => void groups.push(b.merges.filter((m) => m.size_ms === 60_000).length) } as unknown as Db;
const recorder = new CallRecorder(db, {} as Logger);
const writer = (recorder as unknown as { writer: ExecutionWriter }).writer;
let version = 0;
/** A call's write (a rollup row only: a sampled call), of its own version so that no two merge into one row. */
const row = (): CallWrite => ({ call: { functionId: 'f', version: ++version, startedAt: Date.now(), status: 'success', coldStart: false, queued: false, retry: false, durationMs: 1, cpuMs: 0, peakMemoryBytes: 0 } });
/** Runs the microtasks due (no timer, no I/O): what a write does at once has happened after it. */
const settle = async () => {
  for (let i = 0; i < 50; i++) await Promise.resolve();
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Under load: rows a moment apart (many to a millisecond), from calls begun together. */
async function load(): Promise<void> {
  const calls = Array.from({ length: 40 }, () => recorder.begin());
  await Promise.all(calls.map(() => writer.write(row())));
  for (const c of calls) c.end();
}

/** `n` calls begun now (the groups written so far forgotten): what ends them. */
function inFlight(n: number): () => void {
  groups.length = 0;
  const calls = Array.from({ length: n }, () => recorder.begin());
  return () => calls.forEach((c) => c.end());
}
/** A row written, and whether it is yet. */
function watched(p: Promise<void>): { done: Promise<void>; written: () => boolean } {
  let written = false;
  const done = p.then(() => void (written = true));
  return { done, written: () => written };
}
const nextTurn = () => new Promise((r) => setImmediate(r));
/** A caller's row beside `n` calls in flight: whether it was written by the end of `wait`. */
async function writtenBy(n: number, wait: () => Promise<unknown>): Promise<boolean> {
  const end = inFlight(n);
  const w = watched(writer.write(row()));
  await wait();
  const at = w.written();
  await w.done;
  end();
  return at;
}

test('under load, two calls begun together: the first row waits for the second, and both are written in one group', async () => {
  await load();
  const end = inFlight(2);
  const first = watched(writer.write(row()));
  await settle();
  assert.not.ok(first.written(), 'the first row waits for the other call in flight');
  await writer.write(row());
  await first.done;
  end();
  assert.equal(groups, [2]);
});

test('beside a call held in flight for long, a row is written at once, under load or not', async () => {
  const held = recorder.begin();
  await sleep(120);
  await load();
  assert.ok(await writtenBy(1, settle), 'written at once, not after a wait for the held call');
  held.end();
  assert.equal(groups, [1]);
});

/** Not under load: rows a few to a millisecond. */
async function quiet(): Promise<void> {
  for (let i = 0; i < 30; i++) {
    const c = recorder.begin();
    await writer.write(row());
    c.end();
    await sleep(2);
  }
}

test('not under load (rows a few to a millisecond), a row is written at once beside calls begun together', async () => {
  await quiet();
  assert.ok(await writtenBy(2, nextTurn), 'written on the next turn: no wait for a group of two');
});

/** Not under load, and a group written just now. */
async function quietThenWritten(): Promise<void> {
  await quiet();
  const c = recorder.begin();
  await writer.write(row());
  c.end();
}

test("a queued call's row (no caller waits on it) waits for company whenever groups are being written, not only under load", async () => {
  await quietThenWritten();
  const end = inFlight(2);
  const queued = watched(writer.write(row(), true));
  await nextTurn();
  assert.not.ok(queued.written(), 'it waits for the row of the other call in flight');
  await writer.write(row(), true);
  await queued.done;
  end();
  assert.equal(groups, [2]);
});

test("a caller's row beside a queued call's waiting row is not held by that wait", async () => {
  await quietThenWritten();
  const end = inFlight(3);
  const queued = writer.write(row(), true);
  await settle();
  const caller = watched(writer.write(row()));
  await nextTurn();
  assert.ok(caller.written(), 'written on the next turn, with the queued row');
  await Promise.all([queued, caller.done]);
  end();
  assert.equal(groups, [2]);
});

test.run();
