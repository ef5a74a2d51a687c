// A consistent snapshot of the database into a folder, and back: SQLite's online backup API (while the server
// runs) or pg_dump / pg_restore. For `cpub-server backup` and `restore`; the dialect is known here only.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { Dialect } from './connect.js';

export type { Dialect } from './connect.js';

const DB_FILE = 'containerpub.db';

interface Where {
  dataDir: string;
  databaseUrl?: string | undefined;
}

const dialectOf = (w: Where): Dialect => (w.databaseUrl ? 'postgres' : 'sqlite');

/** The PostgreSQL client tools (pg_dump, pg_restore): on the PATH, or Debian's versioned folder. */
function pgTool(name: 'pg_dump' | 'pg_restore'): string {
  if (spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0) return name;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, 'bin', name))) return join(root, v, 'bin', name);
  throw new Error(`${name} is not installed (Debian: apt-get install postgresql-client)`);
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().slice(0, 2000)}`);
}

/** Writes the snapshot into `work` (database.sqlite or database.pgdump); resolves with the dialect it is of. */
export async function dumpDatabase(w: Where, work: string, progress: (line: string) => void): Promise<Dialect> {
  if (dialectOf(w) === 'sqlite') {
    const file = join(w.dataDir, DB_FILE);
    if (!existsSync(file)) throw new Error(`no database at ${file}`);
    progress(`database: SQLite online backup of ${file}`);
    const db = new SQLite(file, { fileMustExist: true });
    try {
      // Pages are copied in steps while the server goes on writing; the copy is one consistent snapshot.
      await db.backup(join(work, 'database.sqlite'));
    } finally {
      db.close();
    }
    return 'sqlite';
  }
  progress('database: pg_dump (one consistent snapshot)');
  run(pgTool('pg_dump'), ['--format=custom', '--no-owner', '--no-privileges', `--file=${join(work, 'database.pgdump')}`, w.databaseUrl!]);
  return 'postgres';
}

/** A snapshot restores only into the same kind of database. */
export function checkDialect(w: Where, dialect: Dialect): void {
  if (dialect !== dialectOf(w)) {
    throw new Error(`this is a ${dialect} backup; restore it into ${dialect === 'sqlite' ? 'a data folder without DATABASE_URL' : 'PostgreSQL (set DATABASE_URL)'}`);
  }
}

/** Restores the snapshot in `work` into an empty data folder or an empty PostgreSQL database. */
export async function restoreDatabase(w: Where, work: string, dialect: Dialect, progress: (line: string) => void): Promise<void> {
  checkDialect(w, dialect);
  if (dialect === 'sqlite') {
    const dest = join(w.dataDir, DB_FILE);
    if (existsSync(dest)) throw new Error(`${dest} exists: restore fills an empty data folder`);
    copyFileSync(join(work, 'database.sqlite'), dest);
    chmodSync(dest, 0o600);
    progress(`database: ${dest}`);
    return;
  }
  const client = new pg.Client({ connectionString: w.databaseUrl });
  await client.connect();
  try {
    const r = await client.query(`select count(*)::int as n from information_schema.tables where table_schema = 'public'`);
    if ((r.rows[0] as { n: number }).n > 0) throw new Error('the PostgreSQL database has tables: restore fills an empty database');
  } finally {
    await client.end();
  }
  run(pgTool('pg_restore'), ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${w.databaseUrl!}`, join(work, 'database.pgdump')]);
  progress('database: restored into PostgreSQL');
}
