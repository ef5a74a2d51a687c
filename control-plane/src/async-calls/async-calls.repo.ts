// The queue of async calls in the control plane's database. A replica claims a function's due calls in one short
// transaction that also counts the calls of that function already running, so asyncConcurrency holds across
// replicas (PostgreSQL locks the function's row for it, and skips calls another replica has locked; SQLite has one
// writer). A claim lasts a while and is renewed while the call runs: a call whose replica died is taken back once
// its claim runs out, and runs again (at least once).
import { sql, type Insertable, type Kysely, type RawBuilder } from 'kysely';
import type { AsyncCallsTable, AsyncCallState, Database, Executor } from '../db/schema.js';
import { isPostgres } from '../db/connect.js';
import { prepared } from '../db/prepared.js';

export type AsyncCallRow = AsyncCallsTable;

/** What an attempt of a claimed call needs of its row, all a claim reads (its answer and the rest stay unread), on both dialects. */
export type ClaimedCall = Pick<AsyncCallRow, (typeof CLAIMED)[number] | 'state' | 'claimed_by' | 'claimed_until'>;
const CLAIMED = ['id', 'function_id', 'trigger', 'method', 'path', 'query', 'headers', 'body', 'attempts', 'due_at', 'history', 'version'] as const;

// A state as a literal in the SQL, as the partial indexes name it (migration 0015): a bound parameter would leave the
// planner unsure the index applies.
const QUEUED = sql.lit<AsyncCallState>('queued');
const RUNNING = sql.lit<AsyncCallState>('running');
const FAILED = sql.lit<AsyncCallState>('failed');

export interface ClaimOptions {
  replica: string;
  now: number;
  until: number;
  cap: number;
  want: number;
}

export interface SettleTo {
  state: Exclude<AsyncCallState, 'running'>;
  history: string;
  dueAt?: number;
  answer?: string | null;
  answerBody?: Buffer | null;
  finishedAt?: number | null;
  /** An attempt that never began (the function had no room): not counted. */
  attemptsBack?: boolean;
}

// The queries of every claim and every settling, compiled once (db/prepared.ts).
const lockFunction = prepared((db, functionId: string) => db.selectFrom('functions').select('id').where('id', '=', functionId).forUpdate());
const countRunning = prepared((db, functionId: string) =>
  db.selectFrom('async_calls').select((eb) => eb.fn.countAll<number>().as('n')).where('function_id', '=', functionId).where('state', '=', RUNNING),
);
/**
 * The function's `limit` oldest due calls begin an attempt (attempts + 1) as the replica's until `until`. By due time
 * alone: the index of queued calls (function, due) gives that order, and only the rows taken are read. On PostgreSQL
 * rows another replica is claiming are skipped.
 */
const claimDue = prepared((db, replica: string, until: number, functionId: string, now: number, limit: number) =>
  db
    .updateTable('async_calls')
    .set((eb) => ({ state: 'running', claimed_by: replica, claimed_until: until, attempts: eb('attempts', '+', 1) }))
    .where('id', 'in', selectDue(db, functionId, now, limit).select('id').forUpdate().skipLocked())
    .returning([...CLAIMED, 'state', 'claimed_by', 'claimed_until']),
);
const selectDue = (db: Executor, functionId: string, now: number, limit: number | RawBuilder<number>) =>
  db.selectFrom('async_calls').where('function_id', '=', functionId).where('state', '=', QUEUED).where('due_at', '<=', now).orderBy('due_at').limit(limit);
/**
 * SQLite (one writer, in the claim's transaction): the calls read, then each claimed by its key. An UPDATE of the
 * calls chosen by a subquery, RETURNING them, costs it twice these (bench `queue`). The read's LIMIT is written into
 * its SQL: SQLite plans a statement with a bound LIMIT by the value bound, so each new binding expired the plan and
 * the statement was prepared again as it ran (≈ 10 µs a claim, more than the read). One statement for each power of
 * two; the rows past `limit` are left.
 */
async function readDue(db: Executor, functionId: string, now: number, limit: number) {
  const upTo = 2 ** Math.ceil(Math.log2(Math.max(1, limit)));
  let q = readDueUpTo.get(upTo);
  if (!q) readDueUpTo.set(upTo, (q = readDueQuery(upTo)));
  const { rows } = await q(db, functionId, now);
  return rows.length > limit ? rows.slice(0, limit) : rows;
}
const readDueQuery = (limit: number) => prepared((db, functionId: string, now: number) => selectDue(db, functionId, now, sql.lit(limit)).select(CLAIMED));
const readDueUpTo = new Map<number, ReturnType<typeof readDueQuery>>();
const claimOne = prepared((db, replica: string, until: number, id: string) =>
  db
    .updateTable('async_calls')
    .set((eb) => ({ state: 'running', claimed_by: replica, claimed_until: until, attempts: eb('attempts', '+', 1) }))
    .where('id', '=', id)
    .where('state', '=', QUEUED),
);
const settles = new Map<string, ReturnType<typeof settleQuery>>();
/** The settling of one shape: which of the optional parts it sets (flags only: the map keeps no call's values). */
function settleQuery(to: SettleTo) {
  const shape = { dueAt: to.dueAt !== undefined, answer: to.answer !== undefined, finishedAt: to.finishedAt !== undefined, attemptsBack: to.attemptsBack === true };
  return prepared((db, id: string, replica: string, state: string, history: string, dueAt: number | null, answer: string | null, answerBody: Buffer | null, finishedAt: number | null) =>
    db
      .updateTable('async_calls')
      .set((eb) => ({
        state: state as AsyncCallState,
        history,
        claimed_by: null,
        claimed_until: null,
        ...(shape.dueAt ? { due_at: dueAt! } : {}),
        ...(shape.answer ? { answer, answer_body: answerBody } : {}),
        ...(shape.finishedAt ? { finished_at: finishedAt } : {}),
        ...(shape.attemptsBack ? { attempts: eb('attempts', '-', 1) } : {}),
      }))
      .where('id', '=', id)
      .where('claimed_by', '=', replica)
      .where('state', '=', RUNNING),
  );
}

export const asyncCallsRepo = {
  async insert(db: Executor, row: Insertable<AsyncCallsTable>): Promise<void> {
    await db.insertInto('async_calls').values(row).execute();
  },

  async insertMany(db: Executor, rows: Insertable<AsyncCallsTable>[]): Promise<void> {
    if (rows.length) await db.insertInto('async_calls').values(rows).execute();
  },

  /**
   * Functions with calls due now, the longest waiting first (at most `limit`). The functions with queued calls are
   * found by walking the queue's index from one function to the next (a loose index scan: one seek per such
   * function), then one look at each one's head: the cost follows the number of functions with calls queued — not
   * the number of functions (a pass runs several times a second, and on SQLite holds the event loop while it runs),
   * nor the number of calls queued. A disabled owner's functions are not among them: their calls wait, and never
   * take the places of others' (the oldest queues would otherwise fill every pass's `limit` while it stays disabled).
   * The LIMIT is written into the SQL, not bound (see readDue): the statement is planned once.
   */
  async dueFunctions(db: Executor, now: number, limit: number): Promise<string[]> {
    const { rows } = await sql<{ id: string; first: number | string }>`
      WITH RECURSIVE heads(fid) AS (
        SELECT (SELECT MIN(function_id) FROM async_calls WHERE state = ${QUEUED})
        UNION ALL
        SELECT (SELECT MIN(a.function_id) FROM async_calls a WHERE a.state = ${QUEUED} AND a.function_id > heads.fid) FROM heads WHERE heads.fid IS NOT NULL
      )
      SELECT d.id, d.first FROM (
        SELECT h.fid AS id, (SELECT MIN(q.due_at) FROM async_calls q WHERE q.state = ${QUEUED} AND q.function_id = h.fid) AS first
        FROM heads h
        JOIN functions f ON f.id = h.fid
        JOIN users u ON u.id = f.owner_id
        WHERE h.fid IS NOT NULL AND u.disabled_at IS NULL
      ) d
      WHERE d.first <= ${now}
      ORDER BY d.first, d.id
      LIMIT ${sql.lit(Math.trunc(limit))}`.execute(db);
    return rows.map((r) => r.id);
  },

  /**
   * Claims up to `want` of the function's due calls, oldest first, so that no more than `cap` of its calls run at
   * once: each claimed call begins an attempt (attempts + 1) and is the replica's until `until`. `room`: how many
   * more of its calls could run when the claim was made (the claimed ones among them).
   */
  claim(db: Kysely<Database>, functionId: string, o: ClaimOptions): Promise<{ calls: ClaimedCall[]; room: number }> {
    return db.transaction().execute((tx) => asyncCallsRepo.claimIn(tx, functionId, o));
  },

  /** claim, in the caller's transaction (on PostgreSQL, one function's claim a transaction: its row stays locked to the end). */
  async claimIn(tx: Executor, functionId: string, o: ClaimOptions): Promise<{ calls: ClaimedCall[]; room: number }> {
    // Claims of one function are made one after another (its row locked), so two replicas never both see room.
    if (isPostgres(tx)) await lockFunction(tx, functionId);
    const running = (await countRunning(tx, functionId)).rows[0]!;
    const free = o.cap - Number(running.n);
    const room = Math.min(o.want, free);
    if (room <= 0) return { calls: [], room: free };
    if (!isPostgres(tx)) {
      const calls: ClaimedCall[] = [];
      // Each made whole as a literal: V8 keeps an object of that many properties made one by one (the driver's row) as
      // a dictionary, slower to make and to read (bench `queue`).
      for (const r of await readDue(tx, functionId, o.now, room)) {
        if (Number((await claimOne(tx, o.replica, o.until, r.id)).numAffectedRows) !== 1) continue;
        const { id, function_id, trigger, method, path, query, headers, body, attempts, due_at, history, version } = r;
        calls.push({ id, function_id, trigger, method, path, query, headers, body, attempts: attempts + 1, due_at, history, version, state: 'running', claimed_by: o.replica, claimed_until: o.until });
      }
      return { calls, room: free };
    }
    const { rows } = await claimDue(tx, o.replica, o.until, functionId, o.now, room);
    // Oldest first, as they were chosen.
    rows.sort((a, b) => Number(a.due_at) - Number(b.due_at) || (a.id < b.id ? -1 : 1));
    return { calls: rows, room: free };
  },

  /** Extends this replica's claims on the calls it is running. */
  async renew(db: Executor, replica: string, ids: string[], until: number): Promise<void> {
    if (!ids.length) return;
    await db.updateTable('async_calls').set({ claimed_until: until }).where('claimed_by', '=', replica).where('state', '=', RUNNING).where('id', 'in', ids).execute();
  },

  /** Calls whose claim ran out (their replica stopped mid-call) go back in the queue, due now. The number taken back. */
  async takeBack(db: Executor, now: number): Promise<number> {
    const r = await db.updateTable('async_calls').set({ state: 'queued', claimed_by: null, claimed_until: null, due_at: now }).where('state', '=', RUNNING).where('claimed_until', '<', now).executeTakeFirst();
    return Number(r.numUpdatedRows);
  },

  /**
   * Ends this replica's attempt: the call is queued again (due at `dueAt`) or finished. False when the claim was
   * no longer this replica's (it ran out and another took the call). What is not given is left as it is.
   */
  async settle(db: Executor, id: string, replica: string, to: SettleTo): Promise<boolean> {
    const shape = `${to.dueAt !== undefined}${to.answer !== undefined}${to.finishedAt !== undefined}${to.attemptsBack === true}`;
    let q = settles.get(shape);
    if (!q) settles.set(shape, (q = settleQuery(to)));
    const r = await q(db, id, replica, to.state, to.history, to.dueAt ?? null, to.answer ?? null, to.answerBody ?? null, to.finishedAt ?? null);
    return Number(r.numAffectedRows) === 1;
  },

  /** Finished calls (dead letters too) of the function that finished before `before`: the number deleted. */
  async purgeFinished(db: Executor, functionId: string, before: number): Promise<number> {
    const r = await db.deleteFrom('async_calls').where('function_id', '=', functionId).where('finished_at', 'is not', null).where('finished_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  },

  /** The function's dead letters (failed, not replayed), the newest first, strictly after a cursor. */
  deadLetters(db: Executor, functionId: string, limit: number, before?: { at: number; id: string }): Promise<AsyncCallRow[]> {
    let q = db.selectFrom('async_calls').selectAll().where('function_id', '=', functionId).where('state', '=', FAILED).where('replayed_as', 'is', null);
    if (before) q = q.where((eb) => eb.or([eb('finished_at', '<', before.at), eb.and([eb('finished_at', '=', before.at), eb('id', '<', before.id)])]));
    return q.orderBy('finished_at', 'desc').orderBy('id', 'desc').limit(limit).execute() as Promise<AsyncCallRow[]>;
  },

  /** Marks a dead letter replayed by call `by`: false when it is not a dead letter of the function (any more). */
  async markReplayed(db: Executor, functionId: string, id: string, by: string): Promise<boolean> {
    const r = await db.updateTable('async_calls').set({ replayed_as: by }).where('id', '=', id).where('function_id', '=', functionId).where('state', '=', FAILED).where('replayed_as', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  /** Deletes one dead letter of the function, or all of them (`id` undefined): the number deleted. */
  async deleteDead(db: Executor, functionId: string, id?: string): Promise<number> {
    let q = db.deleteFrom('async_calls').where('function_id', '=', functionId).where('state', '=', FAILED).where('replayed_as', 'is', null);
    if (id !== undefined) q = q.where('id', '=', id);
    return Number((await q.executeTakeFirst()).numDeletedRows);
  },

  byId(db: Executor, id: string): Promise<AsyncCallRow | undefined> {
    return db.selectFrom('async_calls').selectAll().where('id', '=', id).executeTakeFirst() as Promise<AsyncCallRow | undefined>;
  },

  /** The call, if it is of a function of one of the person's teams. */
  forMember(db: Executor, userId: string, id: string): Promise<AsyncCallRow | undefined> {
    return db
      .selectFrom('async_calls')
      .innerJoin('functions', 'functions.id', 'async_calls.function_id')
      .selectAll('async_calls')
      .where('async_calls.id', '=', id)
      .where('functions.owner_id', 'in', db.selectFrom('team_members').select('team_id').where('user_id', '=', userId))
      .executeTakeFirst() as Promise<AsyncCallRow | undefined>;
  },

  /** Calls of one function queued (waiting to run or for a retry), from the index on (function, state, due). */
  async queuedOf(db: Executor, functionId: string): Promise<number> {
    const r = await db.selectFrom('async_calls').select((eb) => eb.fn.countAll<number>().as('n')).where('function_id', '=', functionId).where('state', '=', QUEUED).executeTakeFirstOrThrow();
    return Number(r.n);
  },

  /**
   * Per function: calls queued, running and dead letters (failed, not replayed), and the oldest queued call's
   * creation (for /metrics). A question per state, each answered from that state's index.
   */
  async depth(db: Executor): Promise<{ function_id: string; name: string; state: 'queued' | 'running' | 'failed'; n: number; oldest: number }[]> {
    const states = [
      ['queued', QUEUED],
      ['running', RUNNING],
      ['failed', FAILED],
    ] as const;
    const out: { function_id: string; name: string; state: 'queued' | 'running' | 'failed'; n: number; oldest: number }[] = [];
    for (const [state, lit] of states) {
      let q = db
        .selectFrom('async_calls')
        .innerJoin('functions', 'functions.id', 'async_calls.function_id')
        .select(['async_calls.function_id', 'functions.name', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.min('async_calls.created_at').as('oldest')])
        .where('async_calls.state', '=', lit);
      if (state === 'failed') q = q.where('async_calls.replayed_as', 'is', null);
      const rows = await q.groupBy(['async_calls.function_id', 'functions.name']).execute();
      for (const r of rows) out.push({ function_id: r.function_id, name: r.name, state, n: Number(r.n), oldest: Number(r.oldest) });
    }
    return out;
  },
};
