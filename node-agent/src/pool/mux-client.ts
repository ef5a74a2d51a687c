// The agent's end of a container's multiplexed call socket (shim/frames.ts): one connection, many calls in
// flight, each answered by its id; the frames of one turn leave in one write.
import { createConnection, type Socket } from 'node:net';
import { encodeFrame, FrameReader, FrameWriter } from '../shim/frames.js';

/** A header name as HTTP allows it (a token), lower case as the shim sends it. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/**
 * An answer frame's head, checked as an HTTP parser would check a response: the other end runs the function's
 * code, so a malformed head is an error (the call fails), never passed on. `keep` picks the headers passed on.
 */
export function answerHead(raw: unknown, keep: (name: string) => boolean): { status: number; headers: [string, string][]; functionError: boolean; log?: string; big?: number; streamed?: boolean } {
  const head = (raw ?? {}) as { s?: unknown; h?: unknown; l?: unknown; e?: unknown; big?: unknown; st?: unknown };
  const malformed = () => new Error('the function’s process sent a malformed answer');
  if (head.big !== undefined) {
    if (typeof head.big !== 'number') throw malformed();
    return { status: 502, headers: [], functionError: false, big: head.big };
  }
  if (!Number.isInteger(head.s) || (head.s as number) < 100 || (head.s as number) > 999 || !Array.isArray(head.h) || (head.l !== undefined && typeof head.l !== 'string')) throw malformed();
  const headers: [string, string][] = [];
  for (const pair of head.h as unknown[]) {
    const [k, v] = Array.isArray(pair) ? pair : [];
    if (typeof k !== 'string' || typeof v !== 'string' || !HEADER_NAME.test(k) || /[\r\n\0]/.test(v)) throw malformed();
    if (keep(k)) headers.push([k, v]);
  }
  return { status: head.s as number, headers, functionError: head.e === 1, log: head.l as string | undefined, ...(head.st !== undefined ? { streamed: true } : {}) };
}

interface Waiting {
  resolve: (r: { head: unknown; body: Buffer; id: number }) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  inflow: Inflow | undefined;
}

/** Where the rest of a streamed answer goes (its head had `st`): its body's chunks, then its end frame's head. */
export interface Inflow {
  data(chunk: Buffer): void;
  end(head: unknown): void;
  fail(err: Error): void;
}

export class MuxClient {
  private socket: Socket | undefined;
  private writer: FrameWriter | undefined;
  private readonly waiting = new Map<number, Waiting>();
  /** Streamed answers whose head has come, by call id, until their end frame. */
  private readonly streams = new Map<number, Inflow>();
  /** Calls whose request body streams out: the shim's credit for more of it (`{"w": n}`), by call id. */
  private readonly credits = new Map<number, (bytes: number) => void>();
  private lastId = 0;
  private closed = false;

  /** `maxFrameBytes`: a frame larger than this breaks the connection (the shim refuses such answers itself). */
  constructor(
    private readonly path: string,
    private readonly maxFrameBytes: number,
  ) {}

  /**
   * One call: its answer's head and body, a TimeoutError past `timeoutMs`, or the connection's failure. An answer
   * the function streams (head `st`) resolves with its head; its chunks and end then go to `inflow`, and `credit`
   * and `cancel` (with the `id` resolved) speak to its sender.
   */
  call(head: object, body: Buffer, timeoutMs: number, inflow?: Inflow, outflow?: { sent(id: number): void; credit(bytes: number): void }): Promise<{ head: unknown; body: Buffer; id: number }> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('the call socket is closed'));
      const writer = this.connection();
      const id = (this.lastId = (this.lastId % 0xfffffffe) + 1);
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(Object.assign(new Error('deadline passed'), { name: 'TimeoutError' }));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer, inflow });
      writer.write(encodeFrame(id, head, body));
      // The request's body goes on in frames of its own (`{"d": 1}`, then `{"end": 1}`), within the shim's credit.
      if (outflow) {
        this.credits.set(id, outflow.credit);
        outflow.sent(id);
      }
    });
  }

  /** Bytes written to the shim and not yet taken by its socket. */
  get buffered(): number {
    return this.socket?.writableLength ?? 0;
  }

  /** Callbacks waiting for the socket to take what was written to it: one 'drain' listener for all of them. */
  private drained: (() => void)[] = [];

  /** Runs `fn` once the socket has taken what was written to it (at once when it has). */
  whenDrained(fn: () => void): void {
    const socket = this.socket;
    if (!socket || socket.writableLength === 0) return fn();
    if (this.drained.push(fn) > 1) return;
    socket.once('drain', () => {
      for (const f of this.drained.splice(0)) f();
    });
  }

  /** One more frame of a call already sent (its streaming request body); dropped when the connection is gone. */
  send(id: number, head: object, body?: Buffer): void {
    this.writer?.write(encodeFrame(id, head, body));
  }

  /** A call's request body has ended (or failed): the shim's credit for it is no longer wanted. */
  forget(id: number): void {
    this.credits.delete(id);
  }

  /** Lets the sender of a streamed answer send `bytes` more. */
  credit(id: number, bytes: number): void {
    if (this.streams.has(id)) this.writer?.write(encodeFrame(id, { w: bytes }));
  }

  /** Asks the sender of a streamed answer to stop (it still sends its end). */
  cancel(id: number): void {
    if (this.streams.has(id)) this.writer?.write(encodeFrame(id, { x: 1 }));
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.failAll(new Error('the call socket is closed'));
  }

  private connection(): FrameWriter {
    if (this.writer) return this.writer;
    const socket = (this.socket = createConnection(this.path));
    const reader = new FrameReader(this.maxFrameBytes, (id, head, body) => {
      const credit = (head as { w?: unknown } | null)?.w;
      if (typeof credit === 'number') return void this.credits.get(id)?.(credit);
      const flowing = this.streams.get(id);
      if (flowing) {
        const h = head as { d?: unknown; end?: unknown } | null;
        if (h?.d !== undefined) return flowing.data(body);
        this.streams.delete(id);
        if (h?.end !== undefined) flowing.end(head);
        else flowing.fail(new Error('the function’s process sent a malformed stream frame'));
        return;
      }
      const w = this.waiting.get(id);
      if (!w) return; // its deadline passed: the caller has had its answer
      this.waiting.delete(id);
      clearTimeout(w.timer);
      if ((head as { st?: unknown } | null)?.st !== undefined) {
        if (!w.inflow) return w.reject(new Error('the function’s process streamed an answer that was not asked for'));
        this.streams.set(id, w.inflow);
      }
      w.resolve({ head, body, id });
    });
    socket.on('data', (d: Buffer) => {
      try {
        reader.push(d);
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    const gone = (err?: Error) => {
      // Once per connection ('error' and then 'close' both come after a reset): a later event of an old
      // connection must not fail the calls already sent on a newer one.
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.writer = undefined;
      this.failAll(err ?? new Error('the function’s process closed its call socket'));
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
    return (this.writer = new FrameWriter(socket));
  }

  private failAll(err: Error): void {
    this.credits.clear();
    this.drained = []; // their calls fail with the connection; a new one starts with its own listener
    for (const [id, flow] of this.streams) {
      this.streams.delete(id);
      flow.fail(err);
    }
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      this.waiting.delete(id);
      w.reject(err);
    }
  }
}
