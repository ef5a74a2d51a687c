// Group commit: the writes asked for at the same moment (the requests handled in one turn of the event loop) go
// in one transaction, and each caller is answered once it is committed. A commit costs more than a row; under
// load this turns a commit per row into a commit per group. Should the group fail, its writes are made one by
// one, so one bad write (its function deleted meanwhile) fails alone.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

/**
 * `turn` groups written at once in one turn of the event loop; later ones wait for it to go round. A drain's slots
 * finish a few a turn, each on its own I/O: each is written at once rather than after the rest of the turn's I/O.
 */
const TURN_GROUPS = 8;

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

  /** `turn` groups written at once since the event loop last went round (its check phase). */
  private groupsThisTurn = 0;

  private schedule(): void {
    // After this turn's other requests (the I/O phase) have added theirs; or once the code asking has — a few such
    // groups a turn: a chain of writes that each lead to the next (a slot's settling, its next claim, that call
    // failing at once, its settling, …) yields to I/O after them instead of starving it.
    if (this.after === 'turn' && this.groupsThisTurn < TURN_GROUPS) queueMicrotask(() => void this.flush());
    else setImmediate(() => void this.flush());
  }

  /** Counts a `turn` group written at once; false when this turn has had its share (the group waits for the next). */
  private countTurnGroup(): boolean {
    if (this.groupsThisTurn >= TURN_GROUPS) return false;
    if (this.groupsThisTurn++ === 0) setImmediate(() => (this.groupsThisTurn = 0));
    return true;
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.group.length) {
        if (this.after === 'turn' && !this.countTurnGroup()) {
          setImmediate(() => void this.flush());
          break;
        }
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
