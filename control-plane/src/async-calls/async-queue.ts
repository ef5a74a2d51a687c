// Queues a call to run later: one row, committed before the caller's 202 (the call is then durable), and a word
// to the dispatchers of this replica so a call queued on an idle replica starts at once. The rows of calls queued
// at the same moment are committed together (db/group-commit.ts: one transaction, one write of the pages they share),
// each caller answered once its row is in; a row the group could not take (its function deleted meanwhile) is
// tried alone, and fails alone.
import { v7 as uuidv7 } from 'uuid';
import type { Kysely } from 'kysely';
import type { AsyncCallsTable, Database, FunctionRow } from '../db/schema.js';
import { asyncCallsRepo } from './async-calls.repo.js';
import { Conflict } from '../errors.js';
import { GroupCommit } from '../db/group-commit.js';
import type { Trigger } from '../../../common/api-types.js';

export interface QueuedRequest {
  method: string;
  path: string;
  query: string;
  headers: [string, string][];
  body: Buffer;
}

/** Rows in one group commit at most (SQLite's bound parameters: 20 columns × 500). */
const MAX_GROUP = 500;

export class AsyncQueue {
  private readonly listeners: ((functionId: string) => void)[] = [];
  /** The rows of calls queued at the same moment, committed together. */
  private readonly inserts: GroupCommit<AsyncCallsTable, void>;

  constructor(private readonly db: Kysely<Database>) {
    this.inserts = new GroupCommit(
      db,
      async (tx, rows) => {
        await asyncCallsRepo.insertMany(tx, rows);
        return rows.map(() => undefined);
      },
      (one, row) => asyncCallsRepo.insert(one, row),
      MAX_GROUP,
    );
  }

  /** `listener` is told of every call queued here. */
  onQueued(listener: (functionId: string) => void): void {
    this.listeners.push(listener);
  }

  /** Tells this replica's dispatcher of calls queued (by enqueue, or by a transaction of the caller's: the scheduler). */
  notify(functionId: string): void {
    for (const l of this.listeners) l(functionId);
  }

  /**
   * The call's id (its executionId): a UUIDv7 of the time it was queued. `replaying`: the dead letter it replays,
   * marked in the same transaction (409 already_replayed when it was replayed meanwhile).
   */
  async enqueue(fn: FunctionRow, request: QueuedRequest, trigger: Trigger, replaying?: string, version?: number): Promise<string> {
    const row = { ...queuedRow(fn.id, request, trigger, Date.now()), version: version ?? null };
    if (replaying === undefined) await this.inserts.submit(row);
    else {
      await this.db.transaction().execute(async (tx) => {
        if (!(await asyncCallsRepo.markReplayed(tx, fn.id, replaying, row.id))) throw Conflict('already_replayed', `dead letter ${replaying} was replayed already`);
        await asyncCallsRepo.insert(tx, row);
      });
    }
    this.notify(fn.id);
    return row.id;
  }
}


/** The row of a call queued at `now`, due at once. */
export function queuedRow(functionId: string, request: QueuedRequest, trigger: Trigger, now: number): AsyncCallsTable {
  return {
    id: uuidv7({ msecs: now }),
    function_id: functionId,
    trigger,
    state: 'queued',
    method: request.method,
    path: request.path,
    query: request.query,
    headers: JSON.stringify(request.headers),
    body: request.body,
    attempts: 0,
    due_at: now,
    claimed_by: null,
    claimed_until: null,
    history: '[]',
    answer: null,
    answer_body: null,
    created_at: now,
    finished_at: null,
    replayed_as: null,
    version: null,
  };
}
