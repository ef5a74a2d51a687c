// The call socket's framing: frames survive any split of the byte stream, a frame past its bounds is refused,
// and the frames of one event-loop turn leave in one corked write.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Socket } from 'node:net';
import { encodeFrame, FrameReader, FrameWriter } from './frames.js';

const frames = [
  { id: 1, head: { m: 'GET', u: '/' }, body: Buffer.alloc(0) },
  { id: 2, head: { s: 200, h: [['x', 'é']] }, body: Buffer.from('hello') },
  { id: 0xfffffffe, head: {}, body: Buffer.alloc(70_000, 7) },
];
const bytes = Buffer.concat(frames.flatMap((f) => encodeFrame(f.id, f.head, f.body)));

function read(chunks: Buffer[], max = 1 << 20) {
  const out: { id: number; head: unknown; body: Buffer }[] = [];
  const r = new FrameReader(max, (id, head, body) => out.push({ id, head, body: Buffer.from(body) }));
  for (const c of chunks) r.push(c);
  return out;
}

test('frames come back whole whether the stream arrives at once, byte by byte or in odd pieces', () => {
  const pieces = (size: number) => Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
  for (const chunks of [[bytes], pieces(1), pieces(5), pieces(4099)]) assert.equal(read(chunks), frames, `${chunks.length} chunks`);
});

test('the length prefix counts everything after it: id, head length, head and body', () => {
  const [pre, head, body] = encodeFrame(9, { a: 1 }, Buffer.from('xyz'));
  assert.is(pre!.readUInt32LE(0), 8 + head!.length + 3);
  assert.is(pre!.readUInt32LE(4), 9);
  assert.is(pre!.readUInt32LE(8), head!.length);
  assert.is(body!.toString(), 'xyz');
  assert.is(encodeFrame(1, {}).length, 2, 'no body part for an empty body');
});

for (const [name, frame, max] of [
  ['a length under the 8 bytes of id and head length', Buffer.from([4, 0, 0, 0, 1, 0, 0, 0]), 1024],
  ['a length over the reader’s maximum', Buffer.concat(encodeFrame(1, {}, Buffer.alloc(2000))), 1024],
  ['a head longer than its frame', (() => { const b = Buffer.concat(encodeFrame(1, { a: 1 })); b.writeUInt32LE(999, 8); return b; })(), 1024],
] as const) {
  test(`a frame is refused: ${name}`, () => {
    assert.throws(() => read([frame as Buffer], max as number), /out of bounds/);
  });
}

test('frames written in one turn of the event loop leave corked together, ticks and promises included; uncorked once the turn ends', async () => {
  const calls: string[] = [];
  const socket = { cork: () => calls.push('cork'), uncork: () => calls.push('uncork'), write: () => calls.push('write') } as unknown as Socket;
  const w = new FrameWriter(socket);
  w.write(encodeFrame(1, {}, Buffer.from('a')));
  w.write(encodeFrame(2, {}));
  assert.equal(calls, ['cork', 'write', 'write', 'write', 'write', 'write']);
  // Calls answered a tick or a promise later in the same turn (each gRPC message is one) join the same write.
  await new Promise((r) => process.nextTick(r));
  await Promise.resolve();
  w.write(encodeFrame(3, {}));
  assert.not.ok(calls.includes('uncork'), 'still corked within the turn');
  assert.is(calls.filter((c) => c === 'cork').length, 1);
  await new Promise((r) => setImmediate(r));
  assert.equal(calls.slice(-1), ['uncork']);
  w.write(encodeFrame(4, {}));
  assert.equal(calls.slice(-3), ['cork', 'write', 'write'], 'a later turn corks again');
});

test.run();
