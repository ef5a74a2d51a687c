// Queries behind the numbers of calls: rollup rows (stats/rollups.ts) of one function or of all of an owner's,
// for a set of (size, time range) pieces. Never the records: the cost follows the number of buckets.
import type { Executor } from '../db/schema.js';

/** Which functions: one, or all of a user's. */
export type Scope = { functionId: string } | { ownerId: string };

export interface RollupRow {
  size_ms: number;
  start: number;
  calls: number;
  success: number;
  cold_starts: number;
  duration_sum_ms: number;
  cpu_sum_ms: number;
  memory_max_bytes: number;
  latency: Uint8Array;
}

export const statsRepo = {
  /** Deletes the function's rollup rows of one size that start before `before`; the number removed. */
  async purge(db: Executor, functionId: string, size: number, before: number): Promise<number> {
    const r = await db.deleteFrom('execution_rollups').where('function_id', '=', functionId).where('size_ms', '=', size).where('start', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  },

  /** The rollup rows of the scope in any of `pieces` (rows of that size starting in [from, to)). */
  rollups(db: Executor, scope: Scope, pieces: { size: number; from: number; to: number }[]): Promise<RollupRow[]> {
    if (!pieces.length) return Promise.resolve([]);
    let q = db.selectFrom('execution_rollups').select(['size_ms', 'start', 'calls', 'success', 'cold_starts', 'duration_sum_ms', 'cpu_sum_ms', 'memory_max_bytes', 'latency']);
    q = 'functionId' in scope ? q.where('function_id', '=', scope.functionId) : q.where('function_id', 'in', db.selectFrom('functions').select('id').where('owner_id', '=', scope.ownerId));
    return q.where((eb) => eb.or(pieces.map((p) => eb.and([eb('size_ms', '=', p.size), eb('start', '>=', p.from), eb('start', '<', p.to)])))).execute() as Promise<RollupRow[]>;
  },
};
