// The body of an answer the function streams, as it comes over the link's InvokeStream (agent.proto `ReplyPart`):
// chunks in, credit out. The agent sends at most STREAM_WINDOW bytes ahead of the credit this end gives back, so
// what is held here for a call is bounded whatever its caller's pace.
import type { InvokeReply__Output } from '../../../proto/generated/containerpub/agent/v1/InvokeReply.js';

/** Credit goes back in steps of at least this much (one message per step, not per chunk). */
const CREDIT_STEP = 64 * 1024;

export interface ReplyBodyLink {
  credit(invocationId: string, bytes: number): void;
  cancel(invocationId: string): void;
}

export class ReplyBody {
  private queued: Buffer[] = [];
  private onChunk: ((chunk: Buffer) => void) | undefined;
  private owed = 0;
  private done = false;
  private resolveEnd!: (r: InvokeReply__Output) => void;
  private rejectEnd!: (err: Error) => void;
  /** The call's end: the agent's last reply (outcome, log, timings, resources), or the link's failure. */
  readonly ended: Promise<InvokeReply__Output>;

  constructor(
    private readonly link: ReplyBodyLink,
    readonly invocationId: string,
  ) {
    this.ended = new Promise((resolve, reject) => {
      this.resolveEnd = resolve;
      this.rejectEnd = reject;
    });
    this.ended.catch(() => {}); // a reader that never asks still must not see an unhandled rejection
  }

  /** Delivers the chunks (those come already first) as they arrive: each once, in order. */
  read(onChunk: (chunk: Buffer) => void): void {
    this.onChunk = onChunk;
    for (const c of this.queued.splice(0)) onChunk(c);
  }

  /** The reader has passed `bytes` on (written to its caller): the agent may send that many more. */
  grant(bytes: number): void {
    if (this.done) return;
    this.owed += bytes;
    if (this.owed < CREDIT_STEP) return;
    this.link.credit(this.invocationId, this.owed);
    this.owed = 0;
  }

  /** The reader's caller went away: the function's stream is cancelled (the call still ends, with its record). */
  cancel(): void {
    if (!this.done) this.link.cancel(this.invocationId);
  }

  push(chunk: Buffer): void {
    if (this.done) return;
    if (this.onChunk) this.onChunk(chunk);
    else this.queued.push(chunk);
  }

  end(reply: InvokeReply__Output): void {
    if (this.done) return;
    this.done = true;
    this.resolveEnd(reply);
  }

  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.rejectEnd(err);
  }

  /** Reads the whole body (for a caller that takes answers whole), failing past `max` bytes. */
  async whole(max: number): Promise<{ body: Buffer; over: boolean; end: InvokeReply__Output }> {
    const parts: Buffer[] = [];
    let size = 0;
    let over = false;
    this.read((chunk) => {
      if (over) return;
      size += chunk.length;
      if (size > max) {
        over = true;
        parts.length = 0;
        return this.cancel();
      }
      parts.push(chunk);
      this.grant(chunk.length);
    });
    const end = await this.ended;
    return { body: Buffer.concat(parts), over, end };
  }
}
