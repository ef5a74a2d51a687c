// Queries behind the numbers of calls: aggregates over a period or per time slot, and the durations the
// latency percentiles are computed from. Scoped to one function or to all of an owner's.
import { sql } from 'kysely';
import type { Executor } from '../db/schema.js';

/** Which functions: one, or all of a user's. */
export type Scope = { functionId: string } | { ownerId: string };

export interface Aggregate {
  n: number | null;
  ok?: number | null;
  errors?: number | null;
  cold: number | null;
  avg: number | null;
  cpu: number | null;
  mem: number | null;
}

function scoped(db: Executor, scope: Scope) {
  const q = db.selectFrom('executions');
  return 'functionId' in scope
    ? q.where('executions.function_id', '=', scope.functionId)
    : q.where('executions.function_id', 'in', db.selectFrom('functions').select('id').where('owner_id', '=', scope.ownerId));
}

export const statsRepo = {
  /** Counts and sums of the calls started at or after `from`. */
  summary(db: Executor, scope: Scope, from: number): Promise<Aggregate> {
    return scoped(db, scope)
      .where('started_at', '>=', from)
      .select((eb) => [
        eb.fn.countAll<number>().as('n'),
        eb.fn.sum<number>(sql`CASE WHEN status = 'success' THEN 1 ELSE 0 END`).as('ok'),
        eb.fn.sum<number>('cold_start').as('cold'),
        eb.fn.avg<number>('duration_ms').as('avg'),
        eb.fn.avg<number>('cpu_ms').as('cpu'),
        eb.fn.max<number>('peak_memory_bytes').as('mem'),
      ])
      .executeTakeFirstOrThrow();
  },

  /** The same per slot of `ms` milliseconds (slot = started_at / ms). */
  slots(db: Executor, scope: Scope, from: number, ms: number): Promise<(Aggregate & { slot: number })[]> {
    const slot = sql<number>`started_at / ${sql.lit(ms)}`;
    return scoped(db, scope)
      .where('started_at', '>=', from)
      .select((eb) => [
        slot.as('slot'),
        eb.fn.countAll<number>().as('n'),
        eb.fn.sum<number>(sql`CASE WHEN status = 'success' THEN 0 ELSE 1 END`).as('errors'),
        eb.fn.sum<number>('cold_start').as('cold'),
        eb.fn.avg<number>('duration_ms').as('avg'),
        eb.fn.avg<number>('cpu_ms').as('cpu'),
        eb.fn.max<number>('peak_memory_bytes').as('mem'),
      ])
      .groupBy(slot)
      .execute();
  },

  /** The newest `limit` calls' start times and durations since `from`. */
  durations(db: Executor, scope: Scope, from: number, limit: number): Promise<{ started_at: number; duration_ms: number }[]> {
    return scoped(db, scope).where('started_at', '>=', from).select(['started_at', 'duration_ms']).orderBy('started_at', 'desc').limit(limit).execute();
  },
};
