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
  ) {}

  submit(item: T): Promise<R> {
    return new Promise((done, fail) => {
      this.group.push({ item, done, fail });
      // After this turn's other requests (the I/O phase) have added theirs.
      if (!this.flushing && this.group.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
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
      }
    } finally {
      this.flushing = false;
    }
  }
}
