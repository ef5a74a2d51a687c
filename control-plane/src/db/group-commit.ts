// Group commit: the writes asked for at the same moment (the requests handled in one turn of the event loop) go
// in one transaction, and each caller is answered once it is committed. A commit costs more than a row; under
// load this turns a commit per row into a commit per group. Should the group fail, its writes are made one by
// one, so one bad write (its function deleted meanwhile) fails alone.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

export class GroupCommit<T, R> {
  private group: { item: T; done: (r: R) => void; fail: (err: unknown) => void }[] = [];
  private flushing = false;

  constructor(
    private readonly db: Kysely<Database>,
    /** The group's writes in its transaction: a result per item, in order. */
    private readonly many: (tx: Transaction<Database>, items: T[]) => Promise<R[]>,
    /** One write alone (after the group failed). */
    private readonly one: (db: Kysely<Database>, item: T) => Promise<R>,
    private readonly max = 500,
    /**
     * When a group is written: after this turn's I/O (`io`: requests arriving together share a commit), or at the end
     * of the code running now (`turn`: what it asked for together shares one, and nothing waits for other I/O).
     */
    private readonly after: 'io' | 'turn' = 'io',
  ) {}

  submit(item: T): Promise<R> {
    return new Promise((done, fail) => {
      this.group.push({ item, done, fail });
      if (!this.flushing && this.group.length === 1) this.schedule();
    });
  }

  /** Set once a `turn` group was written at once, until the event loop has gone round (its check phase). */
  private wroteThisTurn = false;

  private schedule(): void {
    // After this turn's other requests (the I/O phase) have added theirs; or once the code asking has — one such
    // group a turn: a chain of writes that each lead to the next (a slot's settling, its next claim, that call
    // failing at once, its settling, …) yields to I/O between groups instead of starving it.
    if (this.after === 'turn' && !this.wroteThisTurn) queueMicrotask(() => void this.flush());
    else setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    if (this.after === 'turn' && !this.wroteThisTurn) {
      this.wroteThisTurn = true;
      setImmediate(() => (this.wroteThisTurn = false));
    }
    try {
      while (this.group.length) {
        const batch = this.group.splice(0, this.max);
        let results: R[] | undefined;
        try {
          results = await this.db.transaction().execute((tx) => this.many(tx, batch.map((q) => q.item)));
        } catch {
          for (const q of batch) await this.one(this.db, q.item).then(q.done, q.fail);
          continue;
        }
        batch.forEach((q, i) => q.done(results[i]!));
        // What was asked meanwhile (in this same turn) goes after the I/O waiting.
        if (this.after === 'turn' && this.group.length) {
          setImmediate(() => void this.flush());
          break;
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
