// The relay of a streamed answer (stream-relay.ts) against a fake of the mux client: chunks pass to the taker and
// credit passes back only as it gives it; frames that came before the relay was attached are not lost; the size
// limit cuts (and cancels the sender); the idle timeout runs only while the sender may send; the deadline covers the
// whole stream; read whole, credit is given back at once and the buffered limit applies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MuxClient } from './mux-client.js';
import { Relay, relay, type RelayOptions } from './stream-relay.js';
import { STREAM_WINDOW } from '../../../proto/loader.js';
import type { StreamControl, StreamSink } from './types.js';

function fakeMux() {
  const said: string[] = [];
  return { said, mux: { credit: (_id: number, n: number) => said.push(`credit ${n}`), cancel: () => said.push('cancel') } as unknown as MuxClient };
}

function sink() {
  const got: Buffer[] = [];
  let control: StreamControl | undefined;
  const s: StreamSink = {
    head: (_status, _headers, c, first) => {
      control = c;
      if (first.length) got.push(Buffer.concat([Buffer.from('[head]'), first]));
    },
    chunk: (d) => got.push(d),
  };
  return { s, got, control: () => control! };
}

const opts = (o: Partial<RelayOptions>): RelayOptions => ({ mux: fakeMux().mux, id: 1, status: 200, headers: [], deadlineMs: Date.now() + 5000, idleMs: 5000, sink: undefined, maxBytes: 1000, wholeMax: 1000, ...o });

test('chunks reach the taker, frames that came before it was attached too; credit goes back only as the taker gives it', async () => {
  const { mux, said } = fakeMux();
  const k = sink();
  const from = new Relay();
  from.data(Buffer.from('early'));
  const done = relay(from, opts({ mux, sink: k.s }));
  from.data(Buffer.from('-late'));
  assert.is(Buffer.concat(k.got).toString(), '[head]early-late', 'what came before goes with the head');
  assert.equal(said, [], 'no credit until the taker passes bytes on');
  k.control().grant(10);
  assert.equal(said, ['credit 10']);
  from.end({ l: 'log', e: undefined });
  const r = await done;
  assert.is(r.bytes, 10);
  assert.is(r.end.l, 'log');
  assert.is(r.body.length, 0, 'streamed: nothing kept here');
});

test('past its limit the stream is cut: the sender is told to stop, and the rest is dropped', async () => {
  const { mux, said } = fakeMux();
  const k = sink();
  const from = new Relay();
  const done = relay(from, opts({ mux, sink: k.s, maxBytes: 8 }));
  from.data(Buffer.from('12345'));
  from.data(Buffer.from('67890'));
  from.data(Buffer.from('more'));
  assert.equal(said, ['cancel']);
  assert.is(Buffer.concat(k.got).toString(), '12345');
  from.end({});
  const r = await done;
  assert.match(r.cut ?? '', /passed its limit of 8 bytes/);
});

test('a shim that sends past its credit is cut, not buffered', async () => {
  const { mux, said } = fakeMux();
  const k = sink();
  const from = new Relay();
  const done = relay(from, opts({ mux, sink: k.s, maxBytes: STREAM_WINDOW * 4 }));
  from.data(Buffer.alloc(STREAM_WINDOW));
  assert.equal(said, []);
  from.data(Buffer.alloc(1));
  assert.equal(said, ['cancel']);
  assert.is(k.got.length, 1, 'the byte past the window is not passed on');
  from.end({});
  assert.match((await done).cut ?? '', /more of its streamed answer than it had credit for/);
});

test('the idle timeout runs while the sender may send, not while it waits for credit', async () => {
  // Credit used up: the function waits on its taker, however long, and that is not idling.
  const { mux, said } = fakeMux();
  const k = sink();
  const from = new Relay();
  const done = relay(from, opts({ mux, sink: k.s, idleMs: 50, maxBytes: STREAM_WINDOW * 2 }));
  from.data(Buffer.alloc(STREAM_WINDOW));
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(said, [], 'not cut while the taker holds the credit');
  // With credit back, 50 ms of silence is idle.
  k.control().grant(100);
  const err = await done.then(() => undefined, (e: Error) => e);
  assert.is(err?.name, 'TimeoutError');
  assert.match(err!.message, /sent nothing of its streamed answer for 50 ms/);
  assert.equal(said, ['credit 100', 'cancel']);
});

test('the deadline covers the whole stream', async () => {
  const { mux, said } = fakeMux();
  const from = new Relay();
  const done = relay(from, opts({ mux, sink: sink().s, deadlineMs: Date.now() + 60 }));
  const tick = setInterval(() => from.data(Buffer.from('x')), 10);
  const err = await done.then(() => undefined, (e: Error) => e);
  clearInterval(tick);
  assert.is(err?.name, 'TimeoutError');
  assert.ok(said.includes('cancel'));
});

test('read whole (no taker): credit goes back at once, the body is kept, and past the buffered limit it is cut', async () => {
  const { mux, said } = fakeMux();
  const from = new Relay();
  const done = relay(from, opts({ mux, wholeMax: 6 }));
  from.data(Buffer.from('abc'));
  from.data(Buffer.from('def'));
  assert.equal(said, ['credit 3', 'credit 3']);
  from.end({});
  const r = await done;
  assert.is(r.body.toString(), 'abcdef');
  const big = new Relay();
  const over = relay(big, opts({ mux, wholeMax: 2 }));
  big.data(Buffer.from('abc'));
  assert.is(said.at(-1), 'cancel');
  big.end({});
  assert.match((await over).cut ?? '', /larger than/);
});

test('a connection that fails mid-stream fails the relay', async () => {
  const from = new Relay();
  const done = relay(from, opts({ sink: sink().s }));
  from.fail(new Error('the function’s process closed its call socket'));
  const err = await done.then(() => undefined, (e: Error) => e);
  assert.match(err?.message ?? '', /closed its call socket/);
});

test.run();
