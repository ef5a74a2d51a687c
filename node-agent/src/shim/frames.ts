// Frames of the multiplexed call protocol between the agent and the shim (Node built-ins only: this file is
// copied into the runtime image beside the shim). Many calls share one connection, each frame naming its call,
// and the frames written in one turn of the event loop leave in one write: per call, a few bytes of framing
// instead of an HTTP request and response on a connection of its own (and a syscall and a wake-up each).
//
// A frame: u32 LE length of what follows, u32 LE call id, u32 LE length of the JSON head, the head, the body.
import type { Socket } from 'node:net';

/** The frame's parts, for a corked write (no copy of the body). */
export function encodeFrame(id: number, head: object, body?: Uint8Array): Buffer[] {
  const h = Buffer.from(JSON.stringify(head));
  const bodyBytes = body?.length ?? 0;
  const pre = Buffer.allocUnsafe(12);
  pre.writeUInt32LE(8 + h.length + bodyBytes, 0);
  pre.writeUInt32LE(id, 4);
  pre.writeUInt32LE(h.length, 8);
  return bodyBytes ? [pre, h, Buffer.from(body!.buffer, body!.byteOffset, bodyBytes)] : [pre, h];
}

/** Writes frames corked until the end of this tick: the frames of one turn leave together. */
export class FrameWriter {
  private corked = false;

  constructor(private readonly socket: Socket) {}

  write(parts: Buffer[]): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      // Once per turn of the event loop (not per tick): the frames of every call answered or sent in this turn
      // go out in one write, and wake the other side once.
      setImmediate(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    for (const p of parts) this.socket.write(p);
  }
}

/** Splits a byte stream into frames. `push` throws on a frame that breaks the format or is over `maxBytes`. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private have = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onFrame: (id: number, head: unknown, body: Buffer) => void,
  ) {}

  push(data: Buffer): void {
    this.chunks.push(data);
    this.have += data.length;
    while (this.have >= 4) {
      const first = this.chunks[0]!.length >= 4 ? this.chunks[0]! : this.joined();
      const length = first.readUInt32LE(0);
      if (length < 8 || length > this.maxBytes) throw new Error(`a frame of ${length} bytes is out of bounds`);
      if (this.have < 4 + length) return;
      const frame = this.take(4 + length);
      const headBytes = frame.readUInt32LE(8);
      if (12 + headBytes > frame.length) throw new Error('a frame head is out of bounds');
      this.onFrame(frame.readUInt32LE(4), JSON.parse(frame.toString('utf8', 12, 12 + headBytes)), frame.subarray(12 + headBytes));
    }
  }

  private joined(): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [all];
    return all;
  }

  /** The next `n` bytes (all there), copied together only when they span chunks. */
  private take(n: number): Buffer {
    const from = this.chunks[0]!.length >= n ? this.chunks[0]! : this.joined();
    const rest = from.subarray(n);
    this.chunks = rest.length ? [rest, ...this.chunks.slice(1)] : this.chunks.slice(1);
    this.have -= n;
    return from.subarray(0, n);
  }
}
