// Queries on the record of calls: a function's executions by time and status, one execution (owner-scoped), the
// logs of calls, and the purge in small batches. Records are keyed by (fn, id): the function's number and the
// execution's UUIDv7, whose first bytes are its start (executions/records.ts), so a function's records are one
// range of the table in time order. The hot-path insert is ExecutionWriter's (group commit through db.batchWriter).
import type { Executor, ExecutionStatus } from '../db/schema.js';
import { decodeRecords, encodeRecord, idFloor, isUuid, STATUS_CODES, uuidBytes, uuidText, type ExecutionRecord, type StoredRecord } from './records.js';
import { recordNumbers } from './record-numbers.js';

export interface ExecutionQuery {
  functionId: string;
  limit: number;
  status?: ExecutionStatus | undefined;
  /** Epoch ms: only calls started at or after. */
  since?: number | undefined;
  /** Newest first, strictly before this record's key (ExecutionRecord.key, as text). */
  before?: string | undefined;
}

const nodeIds = (db: Executor) => (nos: number[]) => recordNumbers.names(db, 'node', nos);

export const executionsRepo = {
  async list(db: Executor, q: ExecutionQuery): Promise<ExecutionRecord[]> {
    if (q.before !== undefined && !isUuid(q.before)) return [];
    const fn = await recordNumbers.find(db, 'function', q.functionId);
    if (fn === undefined) return [];
    let query = db.selectFrom('executions').select(['id', 'status', 'detail']).where('fn', '=', fn);
    if (q.status) query = query.where('status', '=', STATUS_CODES[q.status]);
    if (q.since !== undefined) query = query.where('id', '>=', idFloor(q.since));
    if (q.before !== undefined) query = query.where('id', '<', uuidBytes(q.before));
    const rows = await query.orderBy('id', 'desc').limit(q.limit).execute();
    return decodeRecords(() => q.functionId, rows, nodeIds(db));
  },

  /** Records written as they are (tests, benches and tools; calls go through ExecutionWriter). */
  async insert(db: Executor, records: ExecutionRecord[], logs: { key: Buffer; lines: string; functionId: string }[] = []): Promise<void> {
    const rows = [];
    for (const r of records) rows.push(encodeRecord(r, await recordNumbers.numberOf(db, 'function', r.functionId), r.nodeId ? await recordNumbers.numberOf(db, 'node', r.nodeId) : 0));
    if (rows.length) await db.insertInto('executions').values(rows).execute();
    const lines = [];
    for (const l of logs) lines.push({ fn: await recordNumbers.numberOf(db, 'function', l.functionId), id: l.key, lines: l.lines });
    if (lines.length) await db.insertInto('execution_logs').values(lines).execute();
  },

  /** The newest `limit` calls' logs since `since` (calls that logged nothing have none). */
  async recentLogs(db: Executor, functionId: string, since: number, limit: number): Promise<{ id: string; logs: string }[]> {
    const fn = await recordNumbers.find(db, 'function', functionId);
    if (fn === undefined) return [];
    const rows = await db.selectFrom('execution_logs').select(['id', 'lines']).where('fn', '=', fn).where('id', '>=', idFloor(since)).orderBy('id', 'desc').limit(limit).execute();
    // A record older than time-ordered ids is shown by its old id (records.ts); its logs are too.
    const legacy = await db.selectFrom('legacy_execution_ids').select(['id', 'key']).where('fn', '=', fn).where('key', 'in', rows.length ? rows.map((r) => r.id) : [Buffer.alloc(16)]).execute();
    const shown = new Map(legacy.map((l) => [uuidText(l.key), uuidText(l.id)]));
    return rows.map((r) => ({ id: shown.get(uuidText(r.id)) ?? uuidText(r.id), logs: r.lines }));
  },

  /** A call's log lines (JSON), if it logged any. */
  async lines(db: Executor, e: Pick<ExecutionRecord, 'functionId' | 'key'>): Promise<string | null> {
    const fn = await recordNumbers.find(db, 'function', e.functionId);
    if (fn === undefined) return null;
    const row = await db.selectFrom('execution_logs').select('lines').where('fn', '=', fn).where('id', '=', e.key).executeTakeFirst();
    return row?.lines ?? null;
  },

  /** One execution, if it is a call of a function of one of the person's teams. */
  async forMember(db: Executor, userId: string, id: string): Promise<ExecutionRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const bytes = uuidBytes(id);
    const fns = await db
      .selectFrom('functions')
      .innerJoin('record_numbers', (j) => j.onRef('record_numbers.name', '=', 'functions.id').on('record_numbers.kind', '=', 'function'))
      .select(['functions.id', 'record_numbers.no'])
      .where('functions.owner_id', 'in', db.selectFrom('team_members').select('team_id').where('user_id', '=', userId))
      .execute();
    if (!fns.length) return undefined;
    const idOf = new Map(fns.map((f) => [f.no, f.id]));
    const one = async (where: { fn: number[]; key: Buffer }): Promise<ExecutionRecord | undefined> => {
      const row = await db.selectFrom('executions').select(['fn', 'id', 'status', 'detail']).where('fn', 'in', where.fn).where('id', '=', where.key).executeTakeFirst();
      return row && (await decodeRecords(() => idOf.get(row.fn)!, [row as StoredRecord], nodeIds(db)))[0];
    };
    const found = await one({ fn: [...idOf.keys()], key: bytes });
    if (found) return found;
    // A record older than time-ordered ids: its key is noted (migration 0008).
    const legacy = await db.selectFrom('legacy_execution_ids').select(['fn', 'key']).where('id', '=', bytes).executeTakeFirst();
    return legacy && idOf.has(legacy.fn) ? one({ fn: [legacy.fn], key: legacy.key }) : undefined;
  },

  /**
   * Deletes at most `batch` of the function's oldest records (and their logs) started before `before`: one short
   * transaction, so calls' writes wait for no more than one batch. The number deleted (0: none left).
   */
  async purgeBatch(db: Executor, functionId: string, before: number, batch: number): Promise<number> {
    const fn = await recordNumbers.find(db, 'function', functionId);
    if (fn === undefined) return 0;
    const end = idFloor(before);
    const last = await db.selectFrom('executions').select('id').where('fn', '=', fn).where('id', '<', end).orderBy('id').offset(batch - 1).limit(1).executeTakeFirst();
    // Up to the batch's last id, or everything before the time when fewer are left.
    const [op, upTo] = last ? (['<=', last.id] as const) : (['<', end] as const);
    return db.transaction().execute(async (tx) => {
      await tx.deleteFrom('execution_logs').where('fn', '=', fn).where('id', op, upTo).execute();
      await tx.deleteFrom('legacy_execution_ids').where('fn', '=', fn).where('key', op, upTo).execute();
      const r = await tx.deleteFrom('executions').where('fn', '=', fn).where('id', op, upTo).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  },
};
