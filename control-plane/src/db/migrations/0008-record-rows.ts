// Records of ≈ 60 bytes (SQLite) and ≈ 130 (PostgreSQL) a call: a record becomes (fn, id, status, detail) — its
// function as a small number (record_numbers), its id a UUIDv7 whose time is the start (so no started_at column and
// no second key), the status (filtered on), and the rest as one protobuf message (executions/records.ts). PostgreSQL
// partitions the records by id range, a day each. Records whose id is not a UUIDv7 of their start (made before
// 0007) are given one, their old id kept in the record and in legacy_execution_ids, so they are still found by it.
import { sql, type Kysely } from 'kysely';
import { isPostgres } from '../connect.js';
import { PARTITIONED, postgresRecordDays } from '../record-days.js';
import { encodeRecord, uuidText, type ExecutionRecord } from '../../executions/records.js';
import { recordNumbers } from '../../executions/record-numbers.js';
import { createRecordTables } from './0007-records.js';

const PAGE = 5000;
const STATUSES = ['success', 'error', 'timeout', 'oom', 'crashed', 'rejected', 'agent_lost'] as const;
const OLD = (t: string) => `${t}_0007`;

export async function up(db: Kysely<any>): Promise<void> {
  const pg = isPostgres(db);
  const bytes = pg ? 'bytea' : 'blob';
  await db.schema
    .createTable('record_numbers')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('no', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('record_numbers_key', ['kind', 'name'])
    .addUniqueConstraint('record_numbers_no', ['kind', 'no'])
    .execute();

  // The tables of 0007 step aside (on PostgreSQL with their partitions and key constraints, whose names the new ones take).
  for (const t of ['executions', 'execution_logs', 'legacy_execution_ids']) await db.schema.alterTable(t).renameTo(OLD(t)).execute();
  if (pg) {
    const parts = await sql<{ name: string }>`
      SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
      WHERE p.relname IN (${sql.join(PARTITIONED.map(OLD))})`.execute(db);
    for (const { name } of parts.rows) await sql`ALTER TABLE ${sql.table(name)} RENAME TO ${sql.table(OLD(name))}`.execute(db);
    for (const t of PARTITIONED) await sql`ALTER TABLE ${sql.table(OLD(t))} RENAME CONSTRAINT ${sql.ref(`${t}_key`)} TO ${sql.ref(OLD(`${t}_key`))}`.execute(db);
  }

  // SQLite: each table is its key's b-tree (no rowid, no second index). PostgreSQL: a partition a day, by id.
  const keyed = (table: string) =>
    db.schema
      .createTable(table)
      .addColumn('fn', 'integer', (c) => c.notNull())
      .addColumn('id', bytes, (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_key`, ['fn', 'id'])
      .modifyEnd(pg ? sql`partition by range (id)` : sql`without rowid`);
  await keyed('executions').addColumn('status', 'smallint', (c) => c.notNull()).addColumn('detail', bytes, (c) => c.notNull()).execute();
  await keyed('execution_logs').addColumn('lines', 'text', (c) => c.notNull()).execute();
  await db.schema
    .createTable('legacy_execution_ids')
    .addColumn('id', bytes, (c) => c.primaryKey())
    .addColumn('fn', 'integer', (c) => c.notNull())
    .addColumn('key', bytes, (c) => c.notNull())
    .execute();
  // The logs of a page of calls, and the purge, find them by key.
  await db.schema.createIndex('legacy_execution_ids_key').on('legacy_execution_ids').columns(['fn', 'key']).execute();
  if (pg) {
    for (const t of PARTITIONED) await sql`CREATE TABLE ${sql.table(`${t}_default`)} PARTITION OF ${sql.table(t)} DEFAULT`.execute(db);
    const oldest = await db.selectFrom(OLD('executions')).select((eb) => eb.fn.min<number>('started_at').as('at')).executeTakeFirst();
    await postgresRecordDays(db).ensure(Math.min(Date.now() - 86_400_000, Number(oldest?.at ?? Date.now())), Date.now() + 8 * 86_400_000);
  }

  await convert(db);
  for (const t of ['executions', 'execution_logs', 'legacy_execution_ids']) await db.schema.dropTable(OLD(t)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  // The shape of 0007, empty: records are not converted back.
  for (const t of ['legacy_execution_ids', 'execution_logs', 'executions', 'record_numbers']) await db.schema.dropTable(t).execute();
  await createRecordTables(db, Date.now());
}

/** The key of a record made before ids were UUIDv7 of the start: its id with the start as its time (and version 7). */
function rekey(old: Buffer, startedAt: number): Buffer {
  const b = Buffer.from(old);
  b.writeUIntBE(Math.max(0, Math.min(startedAt, 2 ** 48 - 1)), 0, 6);
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  return b;
}

const keyOf = (id: Buffer, startedAt: number): Buffer => (id.length === 16 && id.readUIntBE(0, 6) === startedAt && id[6]! >> 4 === 7 ? id : rekey(id, startedAt));

/** Copies the records, then the logs, a page at a time in key order. */
async function convert(db: Kysely<any>): Promise<void> {
  const fnNo = (id: Buffer) => recordNumbers.numberOf(db, 'function', uuidText(id));
  await pages(db, OLD('executions'), async (rows) => {
    const records = [];
    const legacy = [];
    for (const r of rows) {
      const id = Buffer.from(r.id);
      const key = keyOf(id, Number(r.started_at));
      const cold = r.cold ? (JSON.parse(r.cold) as ExecutionRecord['cold']) : null;
      const record: ExecutionRecord = {
        functionId: uuidText(r.function_id),
        key,
        id: uuidText(id),
        startedAt: Number(r.started_at),
        status: STATUSES[r.status] ?? 'error',
        version: r.version,
        callId: null,
        nodeId: r.node_id,
        trigger: r.trigger === 'url' ? 'url' : 'api',
        httpStatus: r.http_status,
        durationMs: r.duration_ms,
        coldStart: r.cold_start === 1,
        cpuMs: r.cpu_ms,
        peakMemoryKib: r.peak_memory_kib,
        method: r.method,
        path: r.path,
        requestBytes: r.request_bytes,
        error: r.error,
        queuedMs: r.queued_ms,
        runMs: r.run_ms,
        placementMs: r.placement_ms,
        agentUs: r.agent_us,
        cold: r.cold_start === 1 ? cold : null,
        logs: r.logs,
      };
      const fn = await fnNo(r.function_id);
      records.push(encodeRecord(record, fn, r.node_id ? await recordNumbers.numberOf(db, 'node', r.node_id) : 0, key === id ? undefined : id));
      if (key !== id) legacy.push({ id, fn, key });
    }
    await db.insertInto('executions').values(records).execute();
    if (legacy.length) await db.insertInto('legacy_execution_ids').values(legacy).execute();
  });
  await pages(db, OLD('execution_logs'), async (rows) => {
    const lines = [];
    for (const r of rows) lines.push({ fn: await fnNo(r.function_id), id: keyOf(Buffer.from(r.id), Number(r.started_at)), lines: r.lines });
    await db.insertInto('execution_logs').values(lines).execute();
  });
}

/** Every row of a table of 0007's records, PAGE at a time, in key order. */
async function pages(db: Kysely<any>, table: string, each: (rows: any[]) => Promise<void>): Promise<void> {
  let after: { f: Buffer; t: number; id: Buffer } | undefined;
  for (;;) {
    let q = db.selectFrom(table).selectAll();
    if (after) {
      const a = after;
      q = q.where((eb) => eb.or([eb('function_id', '>', a.f), eb.and([eb('function_id', '=', a.f), eb.or([eb('started_at', '>', a.t), eb.and([eb('started_at', '=', a.t), eb('id', '>', a.id)])])])]));
    }
    const rows = await q.orderBy('function_id').orderBy('started_at').orderBy('id').limit(PAGE).execute();
    if (!rows.length) return;
    const last = rows[rows.length - 1]!;
    after = { f: Buffer.from(last.function_id), t: Number(last.started_at), id: Buffer.from(last.id) };
    await each(rows);
  }
}
