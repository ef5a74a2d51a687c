// Records that stay cheap at a billion calls: the execution record becomes compact (ids as 16 bytes, keyed by
// function and time, the status as a code, a cold start's phases only when cold) with its log lines in a table
// of their own; every statistic reads rollups per minute, hour and day written with the records; functions get
// their own retention and sampling rate. Existing records are converted, and their rollups computed, here.
import { sql, type Kysely } from 'kysely';
import { isPostgres } from '../connect.js';
import { Histogram } from '../../stats/histogram.js';

const STATUSES = ['success', 'error', 'timeout', 'oom', 'crashed', 'rejected', 'agent_lost'];
const SIZES = [60_000, 3_600_000, 86_400_000];
const PAGE = 5000;
const DAY = 86_400_000;
const PARTITIONED = ['executions', 'execution_logs'];

const uuidBytes = (id: string) => Buffer.from(id.replace(/-/g, ''), 'hex');
const isUuid = (id: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);

export async function up(db: Kysely<any>): Promise<void> {
  const pg = isPostgres(db);
  const bytes = pg ? 'bytea' : 'blob';
  await db.schema.alterTable('functions').addColumn('execution_retention_ms', 'bigint').execute();
  await db.schema.alterTable('functions').addColumn('execution_sample_rate', 'integer').execute();

  await db.schema.alterTable('executions').renameTo('executions_v1').execute();
  const oldest = await db.selectFrom('executions_v1').select((eb) => eb.fn.min<number>('started_at').as('at')).executeTakeFirst();
  await createRecordTables(db, Number(oldest?.at ?? Date.now()));
  await db.schema
    .createTable('execution_rollups')
    .addColumn('function_id', 'text', (c) => c.notNull().references('functions.id').onDelete('cascade'))
    .addColumn('size_ms', 'integer', (c) => c.notNull())
    .addColumn('start', 'bigint', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .$call((b) => {
      for (const s of ['calls', ...STATUSES, 'cold_starts', 'duration_sum_ms', 'cpu_sum_ms', 'memory_max_bytes']) b = b.addColumn(s, 'bigint', (c) => c.notNull());
      return b;
    })
    .addColumn('latency', bytes, (c) => c.notNull())
    .addPrimaryKeyConstraint('execution_rollups_key', ['function_id', 'size_ms', 'start', 'version'])
    .execute();
  // The folding of minutes into hours reads one hour of every function's minutes.
  await db.schema.createIndex('execution_rollups_slot').on('execution_rollups').columns(['size_ms', 'start']).execute();
  await db.schema
    .createTable('record_purges')
    .addColumn('function_id', 'text', (c) => c.primaryKey())
    .addColumn('deleted_at', 'bigint', (c) => c.notNull())
    .execute();

  await convert(db);
  await db.schema.dropTable('executions_v1').execute();
}

/**
 * The record tables of this shape (records and logs by (function_id, started_at, id), PostgreSQL's days by
 * started_at, the legacy ids), empty, with days from `oldest`: made here, and again by 0008's down.
 */
export async function createRecordTables(db: Kysely<any>, oldest: number): Promise<void> {
  const pg = isPostgres(db);
  const bytes = pg ? 'bytea' : 'blob';
  await db.schema
    .createTable('executions')
    .addColumn('function_id', bytes, (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('id', bytes, (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('node_id', 'text')
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('status', 'smallint', (c) => c.notNull())
    .addColumn('http_status', 'smallint', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('cold_start', 'smallint', (c) => c.notNull())
    .addColumn('cpu_ms', 'integer', (c) => c.notNull())
    .addColumn('peak_memory_kib', 'integer', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('request_bytes', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('queued_ms', 'integer', (c) => c.notNull())
    .addColumn('run_ms', 'integer', (c) => c.notNull())
    .addColumn('placement_ms', 'integer', (c) => c.notNull())
    .addColumn('agent_us', 'integer', (c) => c.notNull())
    .addColumn('cold', 'text')
    .addColumn('logs', 'smallint', (c) => c.notNull())
    .addPrimaryKeyConstraint('executions_key', ['function_id', 'started_at', 'id'])
    // SQLite: the table is its key's b-tree (no rowid and no second index): ≈ 130 bytes a call. PostgreSQL: one
    // partition per day (db/record-days.ts), dropped whole by the purge.
    .$call((b) => b.modifyEnd(pg ? sql`partition by range (started_at)` : sql`without rowid`))
    .execute();
  await db.schema
    .createTable('execution_logs')
    .addColumn('function_id', bytes, (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('id', bytes, (c) => c.notNull())
    .addColumn('lines', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('execution_logs_key', ['function_id', 'started_at', 'id'])
    .$call((b) => b.modifyEnd(pg ? sql`partition by range (started_at)` : sql`without rowid`))
    .execute();
  if (pg) {
    for (const t of PARTITIONED) await sql`CREATE TABLE ${sql.table(`${t}_default`)} PARTITION OF ${sql.table(t)} DEFAULT`.execute(db);
    // The days of this shape (by started_at; 0008 partitions by id): as db/record-days.ts made them then.
    const from = Math.min(Date.now() - DAY, oldest);
    for (let day = from - (from % DAY); day < Date.now() + 8 * DAY; day += DAY) {
      for (const t of PARTITIONED) {
        const name = `${t}_d${new Date(day).toISOString().slice(0, 10).replace(/-/g, '')}`;
        await sql`CREATE TABLE IF NOT EXISTS ${sql.table(name)} PARTITION OF ${sql.table(t)} FOR VALUES FROM (${sql.lit(day)}) TO (${sql.lit(day + DAY)})`.execute(db);
      }
    }
  }
  // Records made before ids were UUIDv7 of their start: found by id through this table (they age out with retention).
  await db.schema
    .createTable('legacy_execution_ids')
    .addColumn('id', bytes, (c) => c.primaryKey())
    .addColumn('function_id', bytes, (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .execute();
}

interface OldRow {
  id: string;
  function_id: string;
  version: number;
  node_id: string | null;
  trigger: string;
  status: string;
  http_status: number;
  started_at: number;
  duration_ms: number;
  cold_start: number;
  timings: string;
  cpu_ms: number;
  peak_memory_bytes: number;
  method: string;
  path: string;
  request_bytes: number;
  error: string | null;
  logs: string;
  logs_truncated: number;
}

interface Roll {
  function_id: string;
  size_ms: number;
  start: number;
  version: number;
  n: Record<string, number>;
  latency: Histogram;
}

/**
 * Copies the old records a page at a time (by key), with their logs, and sums them into rollups: minutes for all,
 * hours and days for the hours before the current one, which become the folding's watermark (stats/rollup-folder.ts).
 */
async function convert(db: Kysely<any>): Promise<void> {
  const folded = Date.now() - (Date.now() % 3_600_000);
  const rolls = new Map<string, Roll>();
  let after: { f: string; t: number; id: string } | undefined;
  for (;;) {
    let q = db.selectFrom('executions_v1').selectAll();
    if (after) {
      const a = after;
      q = q.where((eb) => eb.or([eb('function_id', '>', a.f), eb.and([eb('function_id', '=', a.f), eb.or([eb('started_at', '>', a.t), eb.and([eb('started_at', '=', a.t), eb('id', '>', a.id)])])])]));
    }
    const rows = (await q.orderBy('function_id').orderBy('started_at').orderBy('id').limit(PAGE).execute()) as OldRow[];
    if (!rows.length) break;
    const last = rows[rows.length - 1]!;
    after = { f: last.function_id, t: Number(last.started_at), id: last.id };
    const kept = rows.filter((r) => isUuid(r.id) && isUuid(r.function_id));
    if (kept.length) {
      await db
        .insertInto('executions')
        .values(
          kept.map((r) => {
            const t = JSON.parse(r.timings || '{}') as Record<string, number | boolean | undefined>;
            const num = (k: string) => Math.round(Number(t[k] ?? 0)) || 0;
            return {
              function_id: uuidBytes(r.function_id),
              started_at: Number(r.started_at),
              id: uuidBytes(r.id),
              version: r.version,
              node_id: r.node_id,
              trigger: r.trigger,
              status: Math.max(0, STATUSES.indexOf(r.status)),
              http_status: r.http_status,
              duration_ms: r.duration_ms,
              cold_start: r.cold_start,
              cpu_ms: r.cpu_ms,
              peak_memory_kib: Math.round(Number(r.peak_memory_bytes) / 1024),
              method: r.method,
              path: r.path,
              request_bytes: r.request_bytes,
              error: r.error,
              queued_ms: num('queuedMs'),
              run_ms: num('runMs'),
              placement_ms: num('placementMs'),
              agent_us: Math.round(Number(t.agentMs ?? 0) * 1000) || 0,
              cold: r.cold_start ? JSON.stringify({ createMs: num('createMs'), startMs: num('startMs'), readyMs: num('readyMs'), prewarmed: Boolean(t.prewarmed) }) : null,
              logs: r.logs && r.logs !== '[]' ? 1 + (r.logs_truncated ? 1 : 0) : 0,
            };
          }),
        )
        .execute();
      const legacy = kept.filter((r) => {
        const at = parseInt(r.id.replace(/-/g, '').slice(0, 12), 16);
        return r.id[14] !== '7' || at < Number(r.started_at) || at > Number(r.started_at) + 60_000;
      });
      if (legacy.length) await db.insertInto('legacy_execution_ids').values(legacy.map((r) => ({ id: uuidBytes(r.id), function_id: uuidBytes(r.function_id), started_at: Number(r.started_at) }))).execute();
      const withLogs = kept.filter((r) => r.logs && r.logs !== '[]');
      if (withLogs.length) await db.insertInto('execution_logs').values(withLogs.map((r) => ({ function_id: uuidBytes(r.function_id), started_at: Number(r.started_at), id: uuidBytes(r.id), lines: r.logs }))).execute();
    }
    for (const r of rows) {
      for (const size of SIZES) {
        if (size > SIZES[0] && Number(r.started_at) >= folded) continue;
        const start = Math.floor(Number(r.started_at) / size) * size;
        const key = `${r.function_id}|${size}|${start}|${r.version}`;
        let roll = rolls.get(key);
        if (!roll) rolls.set(key, (roll = { function_id: r.function_id, size_ms: size, start, version: r.version, n: {}, latency: new Histogram() }));
        const add = (k: string, v: number) => (roll!.n[k] = (roll!.n[k] ?? 0) + v);
        add('calls', 1);
        add(STATUSES.includes(r.status) ? r.status : 'error', 1);
        add('cold_starts', r.cold_start ? 1 : 0);
        add('duration_sum_ms', r.duration_ms);
        add('cpu_sum_ms', r.cpu_ms);
        roll.n.memory_max_bytes = Math.max(roll.n.memory_max_bytes ?? 0, Number(r.peak_memory_bytes));
        roll.latency.add(r.duration_ms);
      }
    }
  }
  const all = [...rolls.values()].map((r) => ({
    function_id: r.function_id,
    size_ms: r.size_ms,
    start: r.start,
    version: r.version,
    ...Object.fromEntries(['calls', ...STATUSES, 'cold_starts', 'duration_sum_ms', 'cpu_sum_ms', 'memory_max_bytes'].map((k) => [k, r.n[k] ?? 0])),
    latency: r.latency.encode(),
  }));
  for (let i = 0; i < all.length; i += 500) await db.insertInto('execution_rollups').values(all.slice(i, i + 500)).execute();
  await db.insertInto('meta').values({ key: 'rollups_folded_until', value: String(folded) }).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  // (On PostgreSQL the partitions go with their tables.)
  for (const t of ['record_purges', 'legacy_execution_ids', 'execution_rollups', 'execution_logs', 'executions']) await db.schema.dropTable(t).execute();
  // The old table's shape, empty: records are not converted back.
  await db.schema
    .createTable('executions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('function_id', 'text', (c) => c.notNull().references('functions.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('node_id', 'text')
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('http_status', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('cold_start', 'integer', (c) => c.notNull())
    .addColumn('timings', 'text', (c) => c.notNull())
    .addColumn('cpu_ms', 'integer', (c) => c.notNull())
    .addColumn('peak_memory_bytes', 'bigint', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('request_bytes', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('logs', 'text', (c) => c.notNull())
    .addColumn('logs_truncated', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('functions').dropColumn('execution_sample_rate').execute();
  await db.schema.alterTable('functions').dropColumn('execution_retention_ms').execute();
}
