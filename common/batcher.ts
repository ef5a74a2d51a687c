// Messages gathered per turn of the event loop, for the call stream between control plane and agent (agent.proto,
// rpc Calls): what is sent while other calls are in flight waits for the end of the turn (setImmediate), when the
// turn's I/O has been handled, and goes with the other messages of the turn as one — gRPC's cost per message (its
// layers, a frame, a write) is then shared by the calls of a busy moment. A message of a call alone on the stream goes
// at once: no company is coming, and the wait would cost it a turn of the loop.

/** A batch's bytes at most (bodies and chunks, as `weigh` counts them): a larger message goes alone. */
export const BATCH_BYTES = 2 ** 20;

export class Batcher<T> {
  private held: T[] = [];
  private heldBytes = 0;
  private due = false;

  /** `weigh`: an item's bytes that count against BATCH_BYTES (its bodies), so a batch stays far below gRPC's message limit. */
  constructor(
    private readonly send: (items: T[]) => void,
    private readonly weigh: (item: T) => number,
  ) {}

  /** Sends `item` at the end of this turn with the others, or at once (`now`: its call is alone on the stream). */
  push(item: T, now: boolean): void {
    const bytes = this.weigh(item);
    if (this.heldBytes + bytes > BATCH_BYTES) this.flush();
    this.held.push(item);
    this.heldBytes += bytes;
    if (now) return this.flush();
    if (!this.due) {
      this.due = true;
      setImmediate(this.endTurn);
    }
  }

  /** Sends what is held now. */
  flush(): void {
    if (!this.held.length) return;
    const items = this.held;
    this.held = [];
    this.heldBytes = 0;
    this.send(items);
  }

  private readonly endTurn = (): void => {
    this.due = false;
    this.flush();
  };
}
