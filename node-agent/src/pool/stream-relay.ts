// A streamed answer between the shim and its taker (docs/runtime-contract.md, "Streamed answers"): chunks pass
// through as they come, and credit passes back as the taker passes them on — so the function produces no faster
// than its caller reads, and no more than a window is ever held here. The deadline covers the whole stream, an idle
// timeout the gaps between chunks while the function may send, and a size limit its body.
import type { Inflow, MuxClient } from './mux-client.js';
import type { BodySource, StreamSink } from './types.js';

import { STREAM_WINDOW } from '../../../proto/loader.js';
/** A streamed answer's body at most when the function sets no limit. */
export const DEFAULT_STREAM_MAX_BYTES = 100 * 2 ** 20;

/** Takes a streamed answer's frames from the moment its head came (chunks can follow in the same read): held until attached. */
export class Relay implements Inflow {
  private queued: Buffer[] = [];
  private ended: { head: unknown } | { err: Error } | undefined;
  private to: Inflow | undefined;

  data(chunk: Buffer): void {
    if (this.to) this.to.data(chunk);
    else this.queued.push(chunk);
  }

  end(head: unknown): void {
    if (this.to) this.to.end(head);
    else this.ended = { head };
  }

  fail(err: Error): void {
    if (this.to) this.to.fail(err);
    else this.ended = { err };
  }

  /** The chunks that came before anyone attached, taken (they go with the answer's head). */
  take(): Buffer[] {
    return this.queued.splice(0);
  }

  attach(to: Inflow): void {
    this.to = to;
    for (const c of this.queued.splice(0)) to.data(c);
    if (this.ended) 'err' in this.ended ? to.fail(this.ended.err) : to.end(this.ended.head);
  }
}

/** A request body streaming in, held until its reader comes (bounded by the window its sender keeps to). */
export class Inbound implements BodySource {
  private queued: Buffer[] = [];
  private ended: { error?: string } | undefined;
  private onChunk: ((chunk: Buffer) => void) | undefined;
  private onEnd: ((error?: string) => void) | undefined;

  constructor(private readonly giveCredit: (bytes: number) => void) {}

  push(chunk: Buffer): void {
    if (this.ended) return;
    if (this.onChunk) this.onChunk(chunk);
    else this.queued.push(chunk);
  }

  end(error?: string): void {
    if (this.ended) return;
    this.ended = error ? { error } : {};
    this.onEnd?.(error);
  }

  read(onChunk: (chunk: Buffer) => void, onEnd: (error?: string) => void): void {
    this.onChunk = onChunk;
    this.onEnd = onEnd;
    for (const c of this.queued.splice(0)) onChunk(c);
    if (this.ended) onEnd(this.ended.error);
  }

  grant(bytes: number): void {
    if (bytes > 0) this.giveCredit(bytes);
  }
}

export interface Streamed {
  /** The end frame's head: the call's log (`l`), and `e`/`err` when the function's stream failed. */
  end: { l?: string; e?: number; err?: string };
  /** The body, when it was read whole (no sink). */
  body: Buffer;
  bytes: number;
  /** Why the stream was cut here (its limit passed), if it was. */
  cut?: string;
}

export interface RelayOptions {
  mux: MuxClient;
  id: number;
  status: number;
  headers: [string, string][];
  deadlineMs: number;
  idleMs: number;
  /** The taker; none: the body is read whole, up to `wholeMax` (past it, the call fails). */
  sink: StreamSink | undefined;
  maxBytes: number;
  wholeMax: number;
}

/**
 * Relays a streamed answer to its end. Rejects with a TimeoutError past the deadline, or when no chunk came for
 * `idleMs` while the function had credit to send one; the function's stream is cancelled then.
 */
export function relay(from: Relay, o: RelayOptions): Promise<Streamed> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    /** Credit the shim has, as far as this end knows: while it is 0 the function waits on its taker, not idles. */
    let credit = STREAM_WINDOW;
    let cut: string | undefined;
    let settled = false;
    const whole: Buffer[] = [];
    let idle: NodeJS.Timeout | undefined;
    const stop = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(idle);
      o.mux.cancel(o.id);
      reject(Object.assign(new Error(why), { name: 'TimeoutError' }));
    };
    const deadline = setTimeout(() => stop('deadline passed'), Math.max(0, o.deadlineMs - Date.now()));
    const armIdle = () => {
      clearTimeout(idle);
      if (credit > 0 && !settled) idle = setTimeout(() => stop(`the function sent nothing of its streamed answer for ${o.idleMs} ms`), o.idleMs);
    };
    const control = {
      grant: (n: number) => {
        if (settled || cut || n <= 0) return;
        credit += n;
        o.mux.credit(o.id, n);
        armIdle();
      },
      cancel: () => {
        if (!settled) o.mux.cancel(o.id);
      },
    };
    /** Takes a chunk: counts it against the credit and the limit; false when it is past the limit (dropped). */
    const take = (chunk: Buffer): boolean => {
      if (settled || cut) return false;
      bytes += chunk.length;
      credit -= chunk.length;
      const max = o.sink ? o.maxBytes : o.wholeMax;
      // The shim keeps to its credit (what its taker has room for); one that does not is cut, not buffered.
      if (bytes <= max && credit >= 0) return true;
      cut = credit < 0 ? 'the function’s process sent more of its streamed answer than it had credit for' : o.sink ? `the streamed answer passed its limit of ${max} bytes` : `the response is larger than ${o.wholeMax / 2 ** 20} MiB`;
      clearTimeout(idle);
      o.mux.cancel(o.id);
      return false;
    };
    const pass = (chunk: Buffer) => {
      if (o.sink) o.sink.chunk(chunk);
      else {
        whole.push(chunk);
        control.grant(chunk.length);
      }
    };
    // What came with the head goes with it.
    const early = from.take().filter(take);
    if (o.sink) o.sink.head(o.status, o.headers, control, early.length === 1 ? early[0]! : Buffer.concat(early));
    else for (const c of early) pass(c);
    armIdle();
    from.attach({
      data: (chunk) => {
        if (!take(chunk)) return;
        pass(chunk);
        armIdle();
      },
      end: (head) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        clearTimeout(idle);
        const end = (head ?? {}) as Streamed['end'];
        resolve({ end: { l: typeof end.l === 'string' ? end.l : undefined, e: end.e, err: typeof end.err === 'string' ? end.err : undefined }, body: o.sink ? Buffer.alloc(0) : Buffer.concat(whole), bytes, ...(cut ? { cut } : {}) });
      },
      fail: (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        clearTimeout(idle);
        reject(err);
      },
    });
  });
}
