// The agent's end of the call socket: an answer's head is checked as an HTTP parser would check a response, and
// over a real unix socket each answer reaches its own call, a deadline fails only its call, and a connection
// that breaks (or sends a frame past the bound) fails the calls on it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeFrame, FrameReader } from '../shim/frames.js';
import { MuxClient, answerHead } from './mux-client.js';

const s = suite('mux client');
const keepAll = () => true;

s('a well-formed head: status, headers (as kept), function error flag and log', () => {
  const h = answerHead({ s: 201, h: [['x-a', '1'], ['cpub-x', 'no']], l: 'bG9n', e: 1 }, (k) => !k.startsWith('cpub-'));
  assert.equal(h, { status: 201, headers: [['x-a', '1']], functionError: true, log: 'bG9n' });
  assert.equal(answerHead({ s: 502, h: [], l: 'x', big: 20_000_000 }, keepAll), { status: 502, headers: [], functionError: false, big: 20_000_000 });
});

for (const [name, head] of [
  ['no head', undefined],
  ['a status that is not an integer', { s: '200', h: [] }],
  ['a status under 100', { s: 99, h: [] }],
  ['a status over 999', { s: 1000, h: [] }],
  ['headers that are not a list', { s: 200, h: {} }],
  ['a header that is not a pair of strings', { s: 200, h: [['x', 1]] }],
  ['a header name that is not a lower-case token', { s: 200, h: [['X-A', '1']] }],
  ['a header name with a space', { s: 200, h: [['x a', '1']] }],
  ['a header value with CR LF (response splitting)', { s: 200, h: [['x', 'a\r\nset-cookie: y']] }],
  ['a header value with NUL', { s: 200, h: [['x', 'a\0']] }],
  ['a log that is not a string', { s: 200, h: [], l: 5 }],
  ['a size that is not a number', { s: 502, h: [], big: 'lots' }],
] as const) {
  s(`a malformed head is refused: ${name}`, () => {
    assert.throws(() => answerHead(head, keepAll), /malformed answer/);
  });
}

let dir: string;
let server: Server;
let conns: Socket[];
let client: MuxClient;
/** What the test server does with a call's frame: answer (now or later), or nothing. */
let onCall: (sock: Socket, id: number, head: { u: string }, body: Buffer) => void;

s.before.each(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cpub-mux-'));
  conns = [];
  server = createServer((sock) => {
    conns.push(sock);
    const r = new FrameReader(1 << 20, (id, head, body) => onCall(sock, id, head as { u: string }, body));
    sock.on('data', (d: Buffer) => r.push(d));
    sock.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(join(dir, 'mux.sock'), resolve));
  client = new MuxClient(join(dir, 'mux.sock'), 4096);
});

s.after.each(async () => {
  client.close();
  for (const c of conns) c.destroy();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const answer = (sock: Socket, id: number, text: string) => sock.write(Buffer.concat(encodeFrame(id, { s: 200, h: [] }, Buffer.from(text))));
async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('the call succeeded');
}

s('answers sent out of order each reach their own call, over one connection', async () => {
  const held: [Socket, number, string][] = [];
  onCall = (sock, id, head, body) => held.push([sock, id, `${head.u}:${body}`]);
  const calls = ['/a', '/b', '/c'].map((u) => client.call({ u }, Buffer.from(u.slice(1)), 2000));
  for (let t = 0; held.length < 3 && t < 200; t++) await new Promise((r) => setTimeout(r, 5));
  for (const [sock, id, text] of held.reverse()) answer(sock, id, text);
  const rs = await Promise.all(calls);
  assert.equal(rs.map((r) => r.body.toString()), ['/a:a', '/b:b', '/c:c']);
  assert.is(conns.length, 1);
});

s('a call past its timeout fails with a TimeoutError; its late answer is dropped and the connection goes on', async () => {
  let slow: [Socket, number] | undefined;
  onCall = (sock, id, head) => (head.u === '/slow' ? (slow = [sock, id]) : answer(sock, id, 'fast'));
  const err = await failure(client.call({ u: '/slow' }, Buffer.alloc(0), 30));
  assert.is(err.name, 'TimeoutError');
  answer(slow![0], slow![1], 'late');
  assert.is((await client.call({ u: '/' }, Buffer.alloc(0), 2000)).body.toString(), 'fast');
});

s('a connection that closes fails every call on it; the next call opens a new one', async () => {
  onCall = () => {};
  const calls = [1, 2].map(() => failure(client.call({ u: '/' }, Buffer.alloc(0), 2000)));
  for (let t = 0; conns.length < 1 && t < 200; t++) await new Promise((r) => setTimeout(r, 5));
  const t0 = Date.now();
  conns[0]!.destroy();
  // A clean close, or a reset when the peer goes while data is on its way: either way the calls fail at once.
  for (const err of await Promise.all(calls)) assert.ok(err.name !== 'TimeoutError' && /closed its call socket|ECONNRESET|EPIPE/.test(err.message), err.message);
  assert.ok(Date.now() - t0 < 1000, `failed after ${Date.now() - t0} ms`);
  // At once: a reset's late 'close' of the old socket must not fail the call on the new connection.
  onCall = (sock, id) => answer(sock, id, 'again');
  assert.is((await client.call({ u: '/' }, Buffer.alloc(0), 2000)).body.toString(), 'again');
  assert.is(conns.length, 2);
});

s('a frame past the client’s bound breaks the connection and fails its calls', async () => {
  onCall = (sock, id) => answer(sock, id, 'x'.repeat(8192));
  const err = await failure(client.call({ u: '/' }, Buffer.alloc(0), 2000));
  assert.match(err.message, 'out of bounds');
});

s('a closed client refuses new calls', async () => {
  client.close();
  assert.match((await failure(client.call({ u: '/' }, Buffer.alloc(0), 2000))).message, 'the call socket is closed');
});

s.run();
