// Execution rows are written in groups: the rows of the calls that end in the same turn of the event loop go
// in one INSERT (one transaction), and each call still answers only after its row is in the database.
import type { Insertable, Kysely } from 'kysely';
import type { Database, ExecutionsTable } from '../db/schema.js';
import type { Logger } from '../logger.js';

const MAX_BATCH = 500;

interface Queued {
  row: Insertable<ExecutionsTable>;
  done: () => void;
}

export class ExecutionWriter {
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
  ) {}

  /** Resolves once the row is written (or could not be: the function was deleted meanwhile; logged). */
  write(row: Insertable<ExecutionsTable>): Promise<void> {
    return new Promise((done) => {
      this.queue.push({ row, done });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, MAX_BATCH);
    if (this.queue.length) setImmediate(() => void this.flush());
    else this.scheduled = false;
    try {
      await this.db.insertInto('executions').values(batch.map((q) => q.row)).execute();
    } catch {
      // One bad row (its function deleted while the call ran) must not cost the others theirs.
      for (const q of batch) {
        await this.db
          .insertInto('executions')
          .values(q.row)
          .execute()
          .catch((err) => this.log.warn({ err, function: q.row.function_id }, 'execution row not written'));
      }
    }
    for (const q of batch) q.done();
  }
}
