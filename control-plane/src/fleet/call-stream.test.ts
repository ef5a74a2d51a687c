// The link's call stream against a stand-in agent client: on `Calls` (an agent whose Info says callBatches) the calls
// of a turn go as one message, a lone call at once; on InvokeStream (an older agent) each call is a message. Replies
// are matched by invocation id either way, and a stale epoch's reply is refused.
import { EventEmitter } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentClient } from '../../../proto/loader.js';
import { CallStream } from './call-stream.js';

class FakeStream extends EventEmitter {
  readonly written: unknown[] = [];
  write(m: unknown): boolean {
    this.written.push(m);
    return true;
  }
  cancel(): void {}
}

function fakeClient(): { client: AgentClient; calls: FakeStream; invokes: FakeStream } {
  const calls = new FakeStream();
  const invokes = new FakeStream();
  return { client: { Calls: () => calls, InvokeStream: () => invokes } as unknown as AgentClient, calls, invokes };
}

const req = (id: string) => ({ invocationId: id, deadlineMs: Date.now() + 5000, functionId: 'f', version: 1 });
const reply = (id: string, epoch = 'e1') => ({ invocationId: id, epoch, part: 'PART_WHOLE', status: 200, body: Buffer.from(id), credit: 0 });
const turn = () => new Promise((r) => setImmediate(r));

test('Calls: a lone call goes at once; calls sent while others are in flight go together at the end of the turn', async () => {
  const { client, calls, invokes } = fakeClient();
  const s = new CallStream('n1');
  const a = s.send(client, 'e1', true, req('a'));
  const ids = (i: number) => (calls.written[i] as { calls: { invocationId: string }[] }).calls.map((m) => m.invocationId);
  assert.equal(ids(0), ['a'], 'alone on the stream: at once');
  const b = s.send(client, 'e1', true, req('b'));
  const c = s.send(client, 'e1', true, req('c'));
  assert.is(calls.written.length, 1, 'b and c wait for the end of the turn');
  await turn();
  assert.equal(ids(1), ['b', 'c']);
  assert.is(invokes.written.length, 0);
  calls.emit('data', { replies: [reply('c'), reply('a')] });
  calls.emit('data', { replies: [reply('b', 'e0')] });
  assert.equal(((await a) as { body: Buffer }).body.toString(), 'a');
  assert.equal(((await c) as { body: Buffer }).body.toString(), 'c');
  await b.then(
    () => assert.unreachable('a stale epoch is refused'),
    (err: { code: string }) => assert.is(err.code, 'agent_lost'),
  );
  assert.is(s.inFlight, 0);
});

test('InvokeStream (an agent without Calls): each call a message of its own', async () => {
  const { client, calls, invokes } = fakeClient();
  const s = new CallStream('n1');
  const a = s.send(client, 'e1', false, req('a'));
  const b = s.send(client, 'e1', false, req('b'));
  assert.equal((invokes.written as { invocationId: string }[]).map((m) => m.invocationId), ['a', 'b']);
  assert.is(calls.written.length, 0);
  invokes.emit('data', reply('b'));
  invokes.emit('data', reply('a'));
  assert.equal(((await a) as { body: Buffer }).body.toString(), 'a');
  assert.equal(((await b) as { body: Buffer }).body.toString(), 'b');
});

test('the stream breaking fails every call in flight, held ones too', async () => {
  const { client, calls } = fakeClient();
  const s = new CallStream('n1');
  const a = s.send(client, 'e1', true, req('a'));
  const b = s.send(client, 'e1', true, req('b'));
  calls.emit('error', Object.assign(new Error('gone'), { code: 14, details: 'gone', metadata: { get: () => [] } }));
  for (const p of [a, b]) await p.then(() => assert.unreachable(), (err: { code: string }) => assert.is(err.code, 'agent_lost'));
  await turn();
  assert.is(calls.written.length, 1, 'the held call is not written to a broken stream');
});

test.run();
