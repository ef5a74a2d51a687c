// Queries behind the numbers of calls: rollup rows (stats/rollups.ts) of one function or of all of an owner's,
// for a set of (size, time range) pieces — never the records: the cost follows the number of buckets; and the
// folding of minutes into hours and days (rollup-folder.ts) with its watermark.
import type { Executor } from '../db/schema.js';
import { combineRollups, MINUTE, ROLLUP_KEY as KEY } from './rollups.js';

/** The key in `meta` of the folding's watermark: hours before it are in hour and day rows. */
const FOLDED = 'rollups_folded_until';

/** Which functions: one, or all of a user's. */
export type Scope = { functionId: string } | { ownerId: string };

export interface RollupRow {
  size_ms: number;
  start: number;
  calls: number;
  success: number;
  cold_starts: number;
  queued: number;
  retries: number;
  duration_sum_ms: number;
  cpu_sum_ms: number;
  memory_max_bytes: number;
  latency: Uint8Array;
}

export const statsRepo = {
  /** The folding's watermark, 0 when folding has not begun. */
  async folded(db: Executor): Promise<number> {
    const row = await db.selectFrom('meta').select('value').where('key', '=', FOLDED).executeTakeFirst();
    return row ? Number(row.value) : 0;
  },

  /** The watermark, set first (to the earliest minute row's hour, or `initial`) when there is none. */
  async foldedUntil(db: Executor, initial: number): Promise<number> {
    const now = await statsRepo.folded(db);
    if (now) return now;
    const first = await db.selectFrom('execution_rollups').select((eb) => eb.fn.min<number>('start').as('start')).where('size_ms', '=', MINUTE).executeTakeFirst();
    const start = first?.start == null ? initial : Math.min(initial, Number(first.start) - (Number(first.start) % 3_600_000));
    await db.insertInto('meta').values({ key: FOLDED, value: String(start) }).onConflict((oc) => oc.column('key').doNothing()).execute();
    return statsRepo.folded(db);
  },

  /** Moves the watermark from `from` to `to`, unless another replica moved it: whether this one did. */
  async advanceFolded(db: Executor, from: number, to: number): Promise<boolean> {
    const r = await db.updateTable('meta').set({ value: String(to) }).where('key', '=', FOLDED).where('value', '=', String(from)).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  /** Every function's minute rows in [from, to). */
  minuteRows(db: Executor, from: number, to: number): Promise<Record<string, unknown>[]> {
    return db.selectFrom('execution_rollups').selectAll().where('size_ms', '=', MINUTE).where('start', '>=', from).where('start', '<', to).execute() as Promise<Record<string, unknown>[]>;
  },

  /** Adds rows to the stored ones of their keys (read, combined, written: only the folding writes hours and days). */
  async mergeRows(db: Executor, rows: Record<string, unknown>[]): Promise<void> {
    for (const row of rows) {
      const stored = await db
        .selectFrom('execution_rollups')
        .selectAll()
        .where((eb) => eb.and(KEY.map((k) => eb(k, '=', row[k] as never))))
        .executeTakeFirst();
      const next = stored ? combineRollups(stored as Record<string, unknown>, row) : row;
      await db
        .insertInto('execution_rollups')
        .values(next as never)
        .onConflict((oc) => oc.columns([...KEY]).doUpdateSet(next as never))
        .execute();
    }
  },

  /** Deletes the function's rollup rows of one size that start before `before`; the number removed. */
  async purge(db: Executor, functionId: string, size: number, before: number): Promise<number> {
    const r = await db.deleteFrom('execution_rollups').where('function_id', '=', functionId).where('size_ms', '=', size).where('start', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  },

  /** The rollup rows of the scope in any of `pieces` (rows of that size starting in [from, to)). */
  rollups(db: Executor, scope: Scope, pieces: { size: number; from: number; to: number }[]): Promise<RollupRow[]> {
    if (!pieces.length) return Promise.resolve([]);
    let q = db.selectFrom('execution_rollups').select(['size_ms', 'start', 'calls', 'success', 'cold_starts', 'queued', 'retries', 'duration_sum_ms', 'cpu_sum_ms', 'memory_max_bytes', 'latency']);
    q = 'functionId' in scope ? q.where('function_id', '=', scope.functionId) : q.where('function_id', 'in', db.selectFrom('functions').select('id').where('owner_id', '=', scope.ownerId));
    return q.where((eb) => eb.or(pieces.map((p) => eb.and([eb('size_ms', '=', p.size), eb('start', '>=', p.from), eb('start', '<', p.to)])))).execute() as Promise<RollupRow[]>;
  },
};
