// Queries on the record of calls: a function's executions by time and status, one execution (owner-scoped), the
// logs of calls, and the purge in small batches. Records are keyed by (function, started_at, id), ids as 16 bytes
// (executions/records.ts): a function's records are one range of the table. The hot-path insert is
// ExecutionWriter's (group commit through db.batchWriter).
import type { Executor, ExecutionRow, ExecutionStatus } from '../db/schema.js';
import { isUuid, STATUS_CODES, uuidBytes, uuidText } from './records.js';

export interface ExecutionQuery {
  functionId: string;
  limit: number;
  status?: ExecutionStatus | undefined;
  /** Epoch ms: only calls started at or after. */
  since?: number | undefined;
  /** Newest first, strictly before this position. */
  before?: { startedAt: number; id: string } | undefined;
}

/** How far before its id's timestamp a call may have started (the id is made once the call is admitted). */
const ID_AFTER_START_MS = 60_000;

export const executionsRepo = {
  list(db: Executor, q: ExecutionQuery): Promise<ExecutionRow[]> {
    if (!isUuid(q.functionId)) return Promise.resolve([]);
    let query = db.selectFrom('executions').selectAll().where('function_id', '=', uuidBytes(q.functionId));
    if (q.status) query = query.where('status', '=', STATUS_CODES[q.status]);
    if (q.since !== undefined) query = query.where('started_at', '>=', q.since);
    const b = q.before;
    if (b) {
      if (!isUuid(b.id)) return Promise.resolve([]);
      const id = uuidBytes(b.id);
      query = query.where((eb) => eb.or([eb('started_at', '<', b.startedAt), eb.and([eb('started_at', '=', b.startedAt), eb('id', '<', id)])]));
    }
    return query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
  },

  /** The newest `limit` calls' logs since `since` (calls that logged nothing have none). */
  async recentLogs(db: Executor, functionId: string, since: number, limit: number): Promise<{ id: string; logs: string }[]> {
    if (!isUuid(functionId)) return [];
    const rows = await db
      .selectFrom('execution_logs')
      .select(['id', 'lines'])
      .where('function_id', '=', uuidBytes(functionId))
      .where('started_at', '>=', since)
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: uuidText(r.id), logs: r.lines }));
  },

  /** A call's log lines (JSON), if it logged any. */
  async lines(db: Executor, e: Pick<ExecutionRow, 'function_id' | 'started_at' | 'id'>): Promise<string | null> {
    const row = await db.selectFrom('execution_logs').select('lines').where('function_id', '=', e.function_id).where('started_at', '=', e.started_at).where('id', '=', e.id).executeTakeFirst();
    return row?.lines ?? null;
  },

  /** One execution, if it is a call of one of the owner's functions. */
  async forOwner(db: Executor, ownerId: string, id: string): Promise<ExecutionRow | undefined> {
    if (!isUuid(id)) return undefined;
    const bytes = uuidBytes(id);
    const at = bytes.readUIntBE(0, 6); // a UUIDv7 begins with its time in ms
    const fns = (await db.selectFrom('functions').select('id').where('owner_id', '=', ownerId).execute()).map((f) => f.id).filter(isUuid);
    if (!fns.length) return undefined;
    const found = await db
      .selectFrom('executions')
      .selectAll()
      .where('function_id', 'in', fns.map(uuidBytes))
      .where('started_at', '>=', at - ID_AFTER_START_MS)
      .where('started_at', '<=', at)
      .where('id', '=', bytes)
      .executeTakeFirst();
    if (found) return found;
    // A record older than time-ordered ids: its place is noted (migration 0007).
    const legacy = await db.selectFrom('legacy_execution_ids').select(['function_id', 'started_at']).where('id', '=', bytes).executeTakeFirst();
    if (!legacy || !fns.includes(uuidText(legacy.function_id))) return undefined;
    return db.selectFrom('executions').selectAll().where('function_id', '=', legacy.function_id).where('started_at', '=', legacy.started_at).where('id', '=', bytes).executeTakeFirst();
  },

  /**
   * Deletes at most about `batch` of the function's oldest records (and their logs) started before `before`: one
   * short transaction, so calls' writes wait for no more than one batch. The number deleted (0: none left).
   */
  async purgeBatch(db: Executor, functionId: string, before: number, batch: number): Promise<number> {
    if (!isUuid(functionId)) return 0;
    const fid = uuidBytes(functionId);
    const last = await db.selectFrom('executions').select('started_at').where('function_id', '=', fid).where('started_at', '<', before).orderBy('started_at').offset(batch - 1).limit(1).executeTakeFirst();
    const upTo = last ? Number(last.started_at) : before - 1;
    return db.transaction().execute(async (tx) => {
      await tx.deleteFrom('execution_logs').where('function_id', '=', fid).where('started_at', '<=', upTo).where('started_at', '<', before).execute();
      await tx.deleteFrom('legacy_execution_ids').where('function_id', '=', fid).where('started_at', '<=', upTo).where('started_at', '<', before).execute();
      const r = await tx.deleteFrom('executions').where('function_id', '=', fid).where('started_at', '<=', upTo).where('started_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  },
};
