// Execution records, their log lines and the rollups that count them are written in groups (group commit), in
// one transaction: a crash loses neither a record nor its count alone. Under load (rows coming more than two to a
// GROUP_WAIT_MS, on average) a call's row waits, at most GROUP_WAIT_MS, for the rows of the other calls in flight
// that began lately (CallRecorder: a call held for seconds is not about to end) — a commit costs far more than a
// row. Otherwise (a call alone, calls a few a millisecond, or beside slow ones) a row is written at once: the wait
// would be added to its answer for a group of one or two. A queued call's attempt (no caller waits on its row) waits
// for company whenever groups are being written (the last a moment ago), which a drain of the queue's slots is: a
// commit a row there cost the server more CPU than the calls' HTTP (bench `async`). A caller's row never waits
// behind such a wait. Each call still answers only after its row is in the database.
import type { Insertable } from 'kysely';
import type { ExecutionLogsTable, ExecutionsTable } from '../db/schema.js';
import type { Batch, Db } from '../db/connect.js';
import type { Logger } from '../../../common/logger.js';
import { RECENT, ROLLUP_KEY, ROLLUP_SUMS, rollupRows, type RolledCall } from '../stats/rollups.js';
import { mergeEncoded } from '../stats/histogram.js';
import { timeOfId } from './records.js';

const MAX_BATCH = 500;
/** How long a row waits for the rows of other calls in flight before its group is written. */
const GROUP_WAIT_MS = 1;
const MAX_GAP_MS = 10;

const RECORD_COLUMNS: readonly (keyof ExecutionsTable)[] = ['fn', 'id', 'status', 'detail'];
const LOG_COLUMNS: readonly (keyof ExecutionLogsTable)[] = ['fn', 'id', 'lines'];

/** What is written for one call: its record and log lines (unless sampling dropped them), and always its count in the rollups. */
export interface CallWrite {
  record?: Insertable<ExecutionsTable> | undefined;
  logs?: Insertable<ExecutionLogsTable> | undefined;
  call: RolledCall;
}

interface Queued {
  row: CallWrite;
  done: () => void;
}

export class ExecutionWriter {
  private queue: Queued[] = [];
  /** Set while a group is waiting: the timer that writes it, or null when it goes on the next turn. */
  private waiting: NodeJS.Timeout | null | undefined;
  /** When the last row came, and the mean gap between rows (a moving average, ms; capped so a pause is forgotten fast). */
  private lastRow = 0;
  private gapMs = MAX_GAP_MS;
  private readonly insert: (batch: Batch) => Promise<void>;
  private readonly days: Db['recordDays'];

  /** `inFlight` counts the calls running now that may end soon, those whose rows are queued included. */
  constructor(
    db: Db,
    private readonly log: Logger,
    private readonly inFlight: () => number,
  ) {
    this.days = db.recordDays;
    this.insert = db.batchWriter({
      inserts: [
        { table: 'executions', columns: RECORD_COLUMNS },
        { table: 'execution_logs', columns: LOG_COLUMNS },
      ],
      merge: { table: 'execution_rollups', key: ROLLUP_KEY, sum: ROLLUP_SUMS, max: ['memory_max_bytes'], blob: { column: 'latency', merge: mergeEncoded } },
    });
  }

  /**
   * Resolves once the row is written (or could not be: the function was deleted meanwhile; logged). `patient`: no
   * caller waits on it (a queued call's attempt), so it waits for company while groups are being written.
   */
  write(row: CallWrite, patient = false): Promise<void> {
    const now = performance.now();
    this.gapMs = this.gapMs * 0.875 + Math.min(now - this.lastRow, MAX_GAP_MS) * 0.125;
    this.lastRow = now;
    return new Promise((done) => {
      this.queue.push({ row, done });
      this.schedule(patient);
    });
  }

  /** When the last group began to be written. */
  private lastFlush = 0;

  private schedule(patient: boolean): void {
    // Every call in flight has its row queued: no other row can join this group, so it is written now (a call
    // alone does not wait a turn of the event loop for company that cannot come).
    if (this.inFlight() <= this.queue.length) {
      if (this.waiting) clearTimeout(this.waiting);
      if (this.waiting !== null) return void this.flush();
      return; // a flush is already due on the next turn; it takes this row too
    }
    const othersComing = this.gapMs < GROUP_WAIT_MS / 2 || (patient && performance.now() - this.lastFlush < 2 * GROUP_WAIT_MS);
    if (this.waiting === undefined) {
      this.waiting = othersComing ? setTimeout(() => void this.flush(), GROUP_WAIT_MS) : null;
      if (this.waiting === null) setImmediate(() => void this.flush());
    } else if (this.waiting && !othersComing) {
      clearTimeout(this.waiting);
      this.waiting = null;
      setImmediate(() => void this.flush());
    }
  }

  private flushing = false;

  /** Writes the rows; a row whose day has no partition makes its day, and they are written again. */
  private async writeRows(rows: CallWrite[]): Promise<void> {
    try {
      await this.insert(toBatch(rows));
    } catch (err) {
      if (!noDay(err)) throw err;
      const times = rows.flatMap((r) => (r.record ? [timeOfId(r.record.id as Buffer)] : []));
      await this.days.ensure(Math.min(...times), Math.max(...times) + 1);
      await this.insert(toBatch(rows));
    }
  }

  private async flush(): Promise<void> {
    if (this.waiting) clearTimeout(this.waiting);
    this.waiting = undefined;
    // One group at a time: the rows that come while a group is written go together in the next, at once (on
    // PostgreSQL, groups written side by side would only queue on the locks of the same rollup rows).
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length) {
        this.lastFlush = performance.now();
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          await this.writeRows(batch.map((q) => q.row));
        } catch {
          // One bad row (its function deleted while the call ran) must not cost the others theirs.
          for (const q of batch) {
            await this.writeRows([q.row]).catch((err) => this.log.warn({ err, function: q.row.call.functionId }, 'execution row not written'));
          }
        }
        for (const q of batch) q.done();
        if (this.waiting) clearTimeout(this.waiting);
        this.waiting = undefined;
      }
    } finally {
      this.flushing = false;
    }
  }
}

/** PostgreSQL has no day (partition) for a row: its clock is far off from the days the purge made ahead. */
const noDay = (err: unknown) => (err as { code?: string }).code === '23514' && /no partition/.test(String((err as Error).message));

function toBatch(writes: CallWrite[]): Batch {
  const records: Record<string, unknown>[] = [];
  const logs: Record<string, unknown>[] = [];
  for (const w of writes) {
    if (w.record) records.push(w.record);
    if (w.logs) logs.push(w.logs);
  }
  const calls = writes.map((w) => w.call);
  return { inserts: [records, logs], merges: [...rollupRows(calls), ...rollupRows(calls, RECENT)] };
}
