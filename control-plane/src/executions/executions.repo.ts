// Queries on the record of calls: a function's executions by time and status, one execution (owner-scoped),
// and the recent logs. The hot-path insert is ExecutionWriter's (group commit through db.bulkInsert).
import type { Executor, ExecutionRow, ExecutionStatus } from '../db/schema.js';

export interface ExecutionQuery {
  functionId: string;
  limit: number;
  status?: ExecutionStatus | undefined;
  /** Epoch ms: only calls started at or after. */
  since?: number | undefined;
  /** Newest first, strictly before this position. */
  before?: { startedAt: number; id: string } | undefined;
}

export const executionsRepo = {
  list(db: Executor, q: ExecutionQuery): Promise<ExecutionRow[]> {
    let query = db.selectFrom('executions').selectAll().where('function_id', '=', q.functionId);
    if (q.status) query = query.where('status', '=', q.status);
    if (q.since !== undefined) query = query.where('started_at', '>=', q.since);
    const b = q.before;
    if (b) query = query.where((eb) => eb.or([eb('started_at', '<', b.startedAt), eb.and([eb('started_at', '=', b.startedAt), eb('id', '<', b.id)])]));
    return query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
  },

  /** The newest `limit` calls' logs since `since`. */
  recentLogs(db: Executor, functionId: string, since: number, limit: number): Promise<Pick<ExecutionRow, 'id' | 'logs'>[]> {
    return db.selectFrom('executions').select(['id', 'logs']).where('function_id', '=', functionId).where('started_at', '>=', since).orderBy('started_at', 'desc').limit(limit).execute();
  },

  /** Deletes the records of calls started before `before` (the retention); the number removed. */
  async purgeBefore(db: Executor, before: number): Promise<number> {
    return Number((await db.deleteFrom('executions').where('started_at', '<', before).executeTakeFirst()).numDeletedRows);
  },

  /** One execution, if it is a call of one of the owner's functions. */
  forOwner(db: Executor, ownerId: string, id: string): Promise<ExecutionRow | undefined> {
    return db
      .selectFrom('executions')
      .innerJoin('functions', 'functions.id', 'executions.function_id')
      .selectAll('executions')
      .where('executions.id', '=', id)
      .where('functions.owner_id', '=', ownerId)
      .executeTakeFirst();
  },
};
