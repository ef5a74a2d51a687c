// Opens the database: SQLite (better-sqlite3, the embedded default) or PostgreSQL (a pg pool). The only file that knows the dialect.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresAdapter, PostgresDialect, SqliteDialect, SqliteDriver, sql, type DatabaseConnection, type Driver, type Insertable, type RawBuilder, type SqliteDialectConfig } from 'kysely';
import type { Database } from './schema.js';
import { Conflict, type AppError } from '../errors.js';

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
   * An insert of many rows in one transaction, for hot paths: on SQLite a statement prepared once (Kysely
   * compiles and prepares every query, which costs more than the insert); on PostgreSQL one multi-row INSERT.
   */
  bulkInsert<T extends keyof Database & string>(table: T, columns: readonly (keyof Database[T] & string)[]): (rows: Insertable<Database[T]>[]) => Promise<void>;
  close(): Promise<void>;
}

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
  const kysely = new Kysely<Database>({ dialect: new KeepCauseSqliteDialect({ database }, () => database.inTransaction) });
  return {
    kysely,
    dialect: 'sqlite',
    shared: false,
    location: file,
    ping: async () => {
      await sql`select 1`.execute(kysely);
    },
    probeWrite: () => probeWrite(kysely),
    bulkInsert: (table, columns) => {
      const statement = database.prepare(`insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})`);
      const insert = database.transaction((rows: Record<string, unknown>[]) => {
        for (const row of rows) statement.run(columns.map((c) => row[c] ?? null));
      });
      return async (rows) => {
        insert(rows as Record<string, unknown>[]);
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

function connectPostgres(url: string, max: number): Db {
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
    ping: async () => {
      await sql`select 1`.execute(kysely);
    },
    probeWrite: () => probeWrite(kysely),
    // One multi-row INSERT; Kysely takes the columns from the rows.
    bulkInsert: (table) => async (rows) => {
      await kysely.insertInto(table).values(rows as never).execute();
    },
    close: () => kysely.destroy(),
  };
}

/**
 * SQLite ends a transaction by itself on some errors (SQLITE_FULL among them); Kysely's ROLLBACK after that fails
 * with "cannot rollback - no transaction is active", which would replace the error that matters. This driver
 * rolls back only a transaction that is still open.
 */
class KeepCauseSqliteDialect extends SqliteDialect {
  constructor(
    private readonly settings: SqliteDialectConfig,
    private readonly inTransaction: () => boolean,
  ) {
    super(settings);
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
  return db.getExecutor().adapter instanceof PostgresAdapter
    ? sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`
    : sql<number>`cast(unixepoch('subsec') * 1000 as integer)`;
}
