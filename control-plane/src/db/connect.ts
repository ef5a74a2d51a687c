// Opens the database: SQLite (better-sqlite3, the embedded default) or PostgreSQL (a pg pool). The only file that knows the dialect.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import SQLite from 'better-sqlite3';
import type pg from 'pg';
import { Kysely, PostgresAdapter, PostgresDialect, SqliteDialect, SqliteDriver, sql, type DatabaseConnection, type DialectAdapter, type Driver, type QueryResult, type RawBuilder, type SqliteDatabase, type SqliteDialectConfig } from 'kysely';
import type { Database } from './schema.js';
import { Conflict, type AppError } from '../errors.js';
import { noRecordDays, postgresRecordDays, type RecordDays } from './record-days.js';

export type Dialect = 'sqlite' | 'postgres';

/** How often the checkpoint worker copies the write-ahead log into the database file. */
const CHECKPOINT_EVERY_MS = 500;
/** The log size (pages of 4 KiB) past which a commit on the main connection checkpoints itself. */
const FALLBACK_CHECKPOINT_PAGES = 20_000;

export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  /**
   * Whether several control-plane replicas may share this database (PostgreSQL): what only one replica's disk
   * holds (uploaded artifacts) must then be kept in the database too.
   */
  shared: boolean;
  /** Where the data lives, for messages (never includes a password). */
  location: string;
  /** Cheap round trip, for /ready. */
  ping(): Promise<void>;
  /** One small write (a row in `meta`), for /ready: throws the driver's error (e.g. SQLITE_FULL) when it cannot. */
  probeWrite(): Promise<void>;
  /**
   * A writer for a hot path: rows inserted into several tables and rows merged into one, all in one transaction.
   * On SQLite its statements are prepared once (Kysely compiles and prepares every query, which costs more than the
   * insert) and a merge is one upsert (the blob merged by a function registered with SQLite); on PostgreSQL
   * multi-row INSERTs, and each merged row locked (SELECT … FOR UPDATE) while it is combined, so replicas sharing
   * the database add up, never overwrite.
   */
  batchWriter(spec: BatchSpec): (batch: Batch) => Promise<void>;
  /** The daily partitions of the call records (PostgreSQL; nothing on SQLite): db/record-days.ts. */
  recordDays: RecordDays;
  close(): Promise<void>;
}

type Row = Record<string, unknown>;

export interface BatchSpec {
  inserts: { table: keyof Database & string; columns: readonly string[] }[];
  /** How a row folds into a stored one of the same key: columns summed, columns kept at their maximum, one merged in JavaScript. */
  merge: {
    table: keyof Database & string;
    key: readonly string[];
    sum: readonly string[];
    max: readonly string[];
    blob: { column: string; merge(stored: Uint8Array, add: Uint8Array): Uint8Array };
  };
}

export interface Batch {
  /** Rows for each of spec.inserts, in order. */
  inserts: Row[][];
  /** Rows to fold into spec.merge's table (at most one per key). */
  merges: Row[];
}

const mergeColumns = (m: BatchSpec['merge']): string[] => [...m.key, ...m.sum, ...m.max, m.blob.column];

export interface DbOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
}

export function connectDb(opts: DbOptions): Db {
  return opts.databaseUrl ? connectPostgres(opts.databaseUrl, opts.poolSize ?? 10) : connectSqlite(opts.dataDir);
}

function connectSqlite(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'containerpub.db');
  // 0600 whatever the folder's mode or the umask: SQLite gives its -wal and -shm files the database file's mode.
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  const database = new SQLite(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  // Checkpoints run on a worker thread (db/checkpointer.ts); this connection checkpoints only as a fallback,
  // once the log is far past what the worker keeps it to.
  database.pragma(`wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`);
  const checkpointer = new Worker(new URL('./checkpointer.js', import.meta.url), { workerData: { file, everyMs: CHECKPOINT_EVERY_MS } });
  checkpointer.unref();
  let checkpointerGone = false;
  // Should it fail (it cannot open the file), this connection's own fallback threshold still bounds the log.
  checkpointer.on('error', () => {});
  checkpointer.once('exit', () => (checkpointerGone = true));
  const kysely = new Kysely<Database>({ dialect: new KeepCauseSqliteDialect({ database: cachingStatements(database) }, () => database.inTransaction) });
  return {
    kysely,
    dialect: 'sqlite',
    shared: false,
    location: file,
    recordDays: noRecordDays(),
    ping: async () => {
      await sql`select 1`.execute(kysely);
    },
    probeWrite: () => probeWrite(kysely),
    batchWriter: (spec) => {
      const cols = (c: readonly string[]) => c.map((x) => `"${x}"`).join(', ');
      const marks = (c: readonly string[]) => c.map(() => '?').join(', ');
      const inserts = spec.inserts.map((i) => ({ columns: i.columns, statement: database.prepare(`insert into "${i.table}" (${cols(i.columns)}) values (${marks(i.columns)})`) }));
      const m = spec.merge;
      const columns = mergeColumns(m);
      const fn = `cpub_merge_${m.blob.column}`;
      database.function(fn, { deterministic: true }, (a: unknown, b: unknown) => Buffer.from(m.blob.merge(a as Uint8Array, b as Uint8Array)));
      const set = [...m.sum.map((c) => `"${c}" = "${c}" + excluded."${c}"`), ...m.max.map((c) => `"${c}" = max("${c}", excluded."${c}")`), `"${m.blob.column}" = ${fn}("${m.blob.column}", excluded."${m.blob.column}")`].join(', ');
      // Rows of one batch usually come in threes (a minute, its hour, its day): one statement for three.
      const upsert = (n: number) => database.prepare(`insert into "${m.table}" (${cols(columns)}) values ${Array(n).fill(`(${marks(columns)})`).join(', ')} on conflict (${cols(m.key)}) do update set ${set}`);
      const upsert1 = upsert(1);
      const upsert3 = upsert(3);
      const run = database.transaction((batch: Batch) => {
        inserts.forEach((ins, i) => {
          for (const row of batch.inserts[i] ?? []) ins.statement.run(ins.columns.map((c) => row[c] ?? null));
        });
        const rows = batch.merges;
        let i = 0;
        for (; i + 3 <= rows.length; i += 3) upsert3.run(rows.slice(i, i + 3).flatMap((r) => columns.map((c) => r[c] ?? null)));
        for (; i < rows.length; i++) upsert1.run(columns.map((c) => rows[i]![c] ?? null));
      });
      // Between the statements and transactions of everything else on the one connection: a transaction left open
      // while its code awaits other I/O must not take these rows into it — they would be committed only with it, or
      // rolled back with it, after their calls were answered — so while one is open the batch waits its turn
      // (Kysely's lock). With none open it is written at once: it runs to its end before any other code does, and
      // the lock's turn (its promises) cost a lone call's row a fifth of its write.
      return (batch) => {
        if (database.inTransaction) return kysely.connection().execute(async () => run(batch));
        try {
          return Promise.resolve(run(batch));
        } catch (err) {
          return Promise.reject(err);
        }
      };
    },
    close: async () => {
      if (!checkpointerGone) {
        const exited = new Promise((r) => checkpointer.once('exit', r));
        checkpointer.ref(); // an unref'd worker's exit would not keep this process alive to see it
        checkpointer.postMessage('stop');
        await exited;
      }
      await kysely.destroy();
    },
  };
}

/** pg, loaded only for a PostgreSQL database: ≈ 0.08 s of every start of a server on SQLite otherwise. */
const loadPg = (): typeof pg => createRequire(import.meta.url)('pg') as typeof pg;

function connectPostgres(url: string, max: number): Db {
  const pg = loadPg();
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 5000,
    // bigint columns hold epoch milliseconds, well inside Number's exact range.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client's error (e.g. the server restarting) must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const u = new URL(url);
  return {
    kysely,
    dialect: 'postgres',
    shared: true,
    location: `postgres://${u.host}${u.pathname}`,
    recordDays: postgresRecordDays(kysely),
    ping: async () => {
      await sql`select 1`.execute(kysely);
    },
    probeWrite: () => probeWrite(kysely),
    batchWriter: (spec) => {
      const m = spec.merge;
      const columns = mergeColumns(m);
      const combine = (stored: Row, add: Row): Row => {
        const out: Row = { ...add };
        for (const c of m.sum) out[c] = Number(stored[c]) + Number(add[c]);
        for (const c of m.max) out[c] = Math.max(Number(stored[c]), Number(add[c]));
        out[m.blob.column] = Buffer.from(m.blob.merge(stored[m.blob.column] as Uint8Array, add[m.blob.column] as Uint8Array));
        return out;
      };
      const keyOf = (r: Row) => m.key.map((k) => String(r[k])).join('\u0000');
      return async (batch) => {
        // Keys in one order on every replica: two batches locking the same rows never wait on each other in a cycle.
        const merges = [...batch.merges].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
        await kysely.transaction().execute(async (tx) => {
          for (const [i, ins] of spec.inserts.entries()) {
            const rows = batch.inserts[i] ?? [];
            if (rows.length) await tx.insertInto(ins.table).values(rows as never).execute();
          }
          const t = tx as unknown as Kysely<Record<string, Row>>;
          for (const add of merges) {
            const locked = () =>
              t.selectFrom(m.table).select(columns).where((eb) => eb.and(m.key.map((k) => eb(k, '=', add[k])))).forUpdate().executeTakeFirst();
            let stored = await locked();
            if (!stored) {
              const inserted = await t.insertInto(m.table).values(add).onConflict((oc) => oc.columns(m.key as string[]).doNothing()).executeTakeFirst();
              if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) continue;
              stored = await locked(); // another replica inserted it meanwhile
            }
            const row = combine(stored!, add);
            await t.updateTable(m.table).set(Object.fromEntries(columns.filter((c) => !m.key.includes(c)).map((c) => [c, row[c]]))).where((eb) => eb.and(m.key.map((k) => eb(k, '=', add[k])))).execute();
          }
        });
      };
    },
    close: () => kysely.destroy(),
  };
}

/**
 * SQLite ends a transaction by itself on some errors (SQLITE_FULL among them); Kysely's ROLLBACK after that fails
 * with "cannot rollback - no transaction is active", which would replace the error that matters. This driver
 * rolls back only a transaction that is still open.
 */
/** Statements kept prepared, by their SQL (the most recently used ones). */
const STATEMENT_CACHE = 500;

/**
 * The database as Kysely's SQLite driver sees it, with its statements kept prepared: the driver prepares every
 * query it runs, and preparing (parsing the SQL, planning) costs more than running most of ours. A statement is
 * not shared while it runs — better-sqlite3 runs each to its end synchronously, and nothing here streams rows.
 */
function cachingStatements(database: SQLite.Database): SqliteDialectConfig['database'] {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => void database.close(),
    prepare(text: string) {
      let stmt = cache.get(text);
      if (stmt) cache.delete(text);
      else {
        stmt = database.prepare(text);
        if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value!);
      }
      cache.set(text, stmt);
      return stmt as never;
    },
  };
}

/**
 * Each SQLite database's statements, by the Kysely adapter of its dialect: one object, shared by the Kysely instance
 * and every transaction begun on it (which is how a transaction leads back to its database).
 */
const statementsByAdapter = new WeakMap<DialectAdapter, SqliteDatabase>();

/**
 * Runs a compiled query on SQLite at once, without Kysely's executor (its connection lock, its promises: ≈ 8 µs a
 * statement, more than SQLite takes to run most of the queue's), when `db` is a transaction on SQLite: its
 * connection is held by it, so the statement runs inside it as Kysely would run it. Undefined otherwise (the query
 * must then take its turn on the connection through Kysely). The result is Kysely's own SQLite driver's.
 */
export function runInSqliteTransaction<R>(db: Kysely<any>, text: string, params: readonly unknown[]): QueryResult<R> | undefined {
  if (!db.isTransaction) return undefined;
  const statements = statementsByAdapter.get(db.getExecutor().adapter);
  if (!statements) return undefined;
  const stmt = statements.prepare(text) as unknown as SQLite.Statement;
  if (stmt.reader) return { rows: stmt.all(params) as R[] };
  const { changes, lastInsertRowid } = stmt.run(params);
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
}

class KeepCauseSqliteDialect extends SqliteDialect {
  constructor(
    private readonly settings: SqliteDialectConfig,
    private readonly inTransaction: () => boolean,
  ) {
    super(settings);
  }

  override createAdapter(): DialectAdapter {
    const adapter = super.createAdapter();
    statementsByAdapter.set(adapter, this.settings.database as SqliteDatabase);
    return adapter;
  }

  override createDriver(): Driver {
    const inTransaction = this.inTransaction;
    return new (class extends SqliteDriver {
      override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
        if (inTransaction()) await super.rollbackTransaction(connection);
      }
    })(this.settings);
  }
}

async function probeWrite(kysely: Kysely<Database>): Promise<void> {
  await kysely
    .insertInto('meta')
    .values({ key: 'ready_probe', value: String(Date.now()) })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: String(Date.now()) }))
    .execute();
}

/** True when a driver error is a unique-constraint violation (SQLite or PostgreSQL). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** Runs `fn`, turning a unique violation into a Conflict with the given code and detail. */
export async function uniqueAsConflict<T>(fn: () => Promise<T>, code: string, detail: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isUniqueViolation(err)) throw Conflict(code, detail);
    throw err;
  }
}

/** True when a driver error is a foreign-key violation (the referenced row is gone). */
export function isForeignKeyViolation(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503';
}

/** Runs `fn`, turning a foreign-key violation into `error` (e.g. the user was deleted meanwhile). */
export async function foreignKeyAs<T>(fn: () => Promise<T>, error: () => AppError): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isForeignKeyViolation(err)) throw error();
    throw err;
  }
}

/**
 * The database's own clock in epoch milliseconds, read when the statement runs — not the replica's clock
 * and, in PostgreSQL, not the transaction's start (clock_timestamp(), not now()).
 */
export function dbNowMs(db: Kysely<any>): RawBuilder<number> {
  return isPostgres(db)
    ? sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`
    : sql<number>`cast(unixepoch('subsec') * 1000 as integer)`;
}

/** For migrations, whose SQL differs by dialect in places (column types, table options). */
export function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
