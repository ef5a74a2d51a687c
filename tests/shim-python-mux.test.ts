// The Python shim's multiplexed socket on the host (no container), where timing can be pinned down: a call whose
// body streams in may arrive in one read together with its body's chunks, and every chunk must reach the function.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameReader, encodeFrame } from '../node-agent/src/shim/frames.js';
import { loud } from './helpers/hooks.js';
import { CONFORMANCE_FUNCTIONS } from '../node-agent/src/conformance/functions.js';

const s = suite('python shim call socket');
const SHIM = fileURLToPath(new URL('../../node-agent/src/shim/python/shim.py', import.meta.url));
let dir: string;
let shim: ChildProcess;


s.before(
  loud(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cpub-pyshim-'));
    // The conformance kit's Python function: its /upload reads a streamed body and answers its size and sha256.
    for (const [name, text] of Object.entries(CONFORMANCE_FUNCTIONS.python!.files)) writeFileSync(join(dir, name), text);
    shim = spawn('/usr/bin/python3', ['-I', '-B', SHIM], {
      env: { PATH: process.env.PATH, CPUB_SOCKET: join(dir, 'fn.sock'), CPUB_MUX_SOCKET: join(dir, 'mux.sock'), CPUB_BUNDLE: join(dir, 'handler.py') },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    for (const end = Date.now() + 10_000; !existsSync(join(dir, 'fn.sock')); ) {
      if (Date.now() > end) throw new Error('the Python shim did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
  }),
);

s.after(
  loud(async () => {
    shim?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }),
);

/** Sends the frames in one write and resolves with the first answer frame's head. */
function exchange(frames: Buffer[][]): Promise<{ head: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const sock: Socket = createConnection(join(dir, 'mux.sock'));
    const reader = new FrameReader(2 ** 24, (_id, head, body) => {
      if ((head as { w?: number }).w !== undefined) return; // credit for more of the body: all of it is sent already
      sock.destroy();
      resolve({ head: head as Record<string, unknown>, body: Buffer.from(body) });
    });
    sock.on('data', (d) => reader.push(d));
    sock.on('error', reject);
    setTimeout(() => reject(new Error('no answer in 10 s')), 10_000).unref();
    sock.write(Buffer.concat(frames.flat()));
  });
}

s('a streamed body whose chunks come in the same read as the call reaches the function whole', async () => {
  const first = Buffer.alloc(65536, 1);
  const chunks = [Buffer.alloc(65536, 2), Buffer.alloc(65536, 3), Buffer.alloc(1000, 4)];
  const whole = Buffer.concat([first, ...chunks]);
  const id = 7;
  const frames = [
    encodeFrame(id, { m: 'POST', u: '/upload', h: [], i: 'inv-1', d: Date.now() + 10_000, sb: 1 }, first),
    ...chunks.map((c) => encodeFrame(id, { d: 1 }, c)),
    encodeFrame(id, { end: 1 }),
  ];
  const { head, body } = await exchange(frames);
  assert.is(head.s, 200);
  assert.equal(JSON.parse(body.toString()), { bytes: whole.length, sha: createHash('sha256').update(whole).digest('hex') });
});

s.run();
