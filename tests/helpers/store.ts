// The store suite's harness (Fn's datastoretest): one uvu suite per dialect on a fresh database, into which the
// case modules under tests/store/ register their cases, so every repository runs the same cases on both.
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Insertable } from 'kysely';
import { connectDb, type Db, type Dialect } from '../../control-plane/src/db/connect.js';
import { migrateToLatest } from '../../control-plane/src/db/migrate.js';
import type { DeploymentRow, FunctionsTable, NewUser } from '../../control-plane/src/db/schema.js';
import { usersRepo } from '../../control-plane/src/users/users.repo.js';
import { teamsRepo } from '../../control-plane/src/teams/teams.repo.js';
import { functionsRepo } from '../../control-plane/src/functions/functions.repo.js';
import { AppError } from '../../control-plane/src/errors.js';
import { uuidBytes, uuidText, type ExecutionRecord } from '../../control-plane/src/executions/records.js';
import { recordNumbers } from '../../control-plane/src/executions/record-numbers.js';
import { createTestDatabase } from './postgres.js';
import { loud } from './hooks.js';

/** Every case's clock: a fixed instant, a whole number of hours and of minutes since the epoch. */
export const NOW = 1_800_000_000_000;

export interface StoreContext {
  db: Db;
  dialect: Dialect;
}
export type StoreSuite = Test<StoreContext>;
/** A case module: registers its cases into one dialect's suite. Ids it creates are its own (one database per suite). */
export type StoreCases = (s: StoreSuite) => void;

export function storeSuite(dialect: Dialect, modules: StoreCases[]): StoreSuite {
  const s = suite<StoreContext>(`store [${dialect}]`, { dialect } as StoreContext);
  let cleanup: () => Promise<void> = async () => {};

  s.before(loud(async (ctx) => {
    if (dialect === 'sqlite') {
      const dir = mkdtempSync(join(tmpdir(), 'cpub-store-'));
      ctx.db = connectDb({ dataDir: dir });
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    } else {
      const pg = await createTestDatabase();
      ctx.db = connectDb({ dataDir: '/nonexistent', databaseUrl: pg.url });
      cleanup = pg.drop;
    }
    assert.equal(await migrateToLatest(ctx.db.kysely), ['0001-users-and-tokens', '0002-nodes', '0003-node-tls', '0004-functions', '0005-fleet', '0006-refresh-grace', '0007-records', '0008-record-rows', '0009-async-calls', '0010-record-days', '0011-idempotency', '0012-schedules', '0013-destinations', '0014-rollup-async', '0015-async-queue-indexes', '0016-aliases', '0017-call-queue', '0018-warm-floor', '0019-canaries', '0020-alias-floors', '0021-teams', '0022-access-tokens', '0023-rate-limits', '0024-alerts', '0025-response-limit', '0026-runtimes', '0027-alert-held', '0028-rollup-index-twin']);
    // PostgreSQL's record days around the cases' clock, as the purge makes them around the real one.
    await ctx.db.recordDays.ensure(NOW - 30 * 86_400_000, NOW + 30 * 86_400_000);
  }));

  s.after(loud(async (ctx) => {
    await ctx.db?.close();
    await cleanup();
  }));

  s('migrations are idempotent', async ({ db }) => {
    assert.equal(await migrateToLatest(db.kysely), []);
  });

  s('no table has two indexes over the same columns and rows (each is written on every insert, for nothing)', async ({ db, dialect }) => {
    const twins = new Map<string, string[]>();
    for (const i of await indexesOf(db, dialect)) {
      const key = `${i.table} (${i.columns}) where ${i.where ?? '-'}`;
      twins.set(key, [...(twins.get(key) ?? []), i.name]);
    }
    assert.equal([...twins].filter(([, names]) => names.length > 1), []);
  });

  for (const register of modules) register(s);
  return s;
}

/** Every index of the schema: its table, its columns in order, and its predicate (a partial index's). */
async function indexesOf(db: Db, dialect: Dialect): Promise<{ table: string; name: string; columns: string; where: string | null }[]> {
  if (dialect === 'sqlite') {
    const { rows } = await sql<{ table: string; name: string; columns: string; ddl: string | null }>`
      SELECT m.tbl_name AS "table", m.name AS name, m.sql AS ddl,
        (SELECT group_concat(name, ', ') FROM (SELECT i.name FROM pragma_index_info(m.name) i ORDER BY i.seqno)) AS columns
      FROM sqlite_master m WHERE m.type = 'index'`.execute(db.kysely);
    return rows.map((r) => ({ table: r.table, name: r.name, columns: r.columns, where: /\swhere\s(.*)$/is.exec(r.ddl ?? '')?.[1]?.trim() ?? null }));
  }
  // A partition's indexes are its own table's (record days): only the tables a query names.
  const { rows } = await sql<{ table: string; name: string; columns: string; where: string | null }>`
    SELECT t.relname AS "table", c.relname AS name, pg_get_expr(x.indpred, x.indrelid) AS "where",
      (SELECT string_agg(a.attname, ', ' ORDER BY k.n) FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
        JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum) AS columns
    FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace ns ON ns.oid = t.relnamespace
    WHERE ns.nspname = current_schema() AND NOT t.relispartition`.execute(db.kysely);
  return rows;
}

export function user(id: string, email = `${id}@example.com`, created = NOW): NewUser {
  return { id, email, name: id, password_hash: 'h', role: 'user', created_at: created, updated_at: created, disabled_at: null, session_version: 0, handle: `h-${id}` };
}

export function fnRow(id: string, ownerId: string, name = id, createdAt = NOW): Insertable<FunctionsTable> {
  return { id, owner_id: ownerId, name, memory_mb: 128, cpus: 0.5, timeout_ms: 1000, concurrency: 1, max_instances: 1, auth: 'private', network: 'none', execution_retention_ms: null, execution_sample_rate: null, async_concurrency: null, queue_timeout_ms: null, response_limit_mb: null, request_limit_mb: null, min_instances: null, retry: null, destinations: null, destination_secret: null, active_version: null, created_at: createdAt, updated_at: createdAt };
}

/**
 * A user and one function of theirs per id in `functionIds` (named after the id). The user is a day older than
 * NOW, behind the users that the users-list case pages through.
 */
export async function ownerWith(db: Db, ownerId: string, ...functionIds: string[]): Promise<void> {
  await usersRepo.insert(db.kysely, user(ownerId, undefined, NOW - 86_400_000));
  await teamsRepo.insertPersonal(db.kysely, { id: ownerId, name: ownerId }, NOW - 86_400_000);
  for (const id of functionIds) await functionsRepo.insert(db.kysely, fnRow(id, ownerId));
}

/**
 * A readable name as a UUID whose bytes sort as the name does (ASCII, padded with zeros): for the functions of
 * record cases, whose records keep function ids as 16 bytes.
 */
export function uid(name: string): string {
  return uuidText(Buffer.concat([Buffer.from(name, 'ascii'), Buffer.alloc(16)]).subarray(0, 16));
}

/** An execution id like the server's (UUIDv7: its first 6 bytes are the start in ms), then the name: ids of one ms sort by name. */
export function executionId(name: string, startedAt: number): string {
  const b = Buffer.alloc(16);
  b.writeUIntBE(startedAt, 0, 6);
  b.write(name.slice(0, 10), 6, 'ascii');
  return uuidText(b);
}

/** The name in an id made by executionId or uid. */
export function nameOf(id: string | Uint8Array): string {
  const b = typeof id === 'string' ? uuidBytes(id) : Buffer.from(id);
  const name = b.subarray(/^[a-z]/.test(b.subarray(0, 1).toString('ascii')) ? 0 : 6);
  return name.toString('ascii').replace(/\0+$/, '');
}

/** A record of a call `name` of function `fn` (a name given to uid): the fewest fields set, then `patch`. */
export function executionRecord(name: string, fn: string, startedAt: number, patch: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const id = executionId(name, startedAt);
  return {
    functionId: uid(fn),
    key: uuidBytes(id),
    id,
    startedAt,
    status: 'success',
    version: 1,
    nodeId: null,
    trigger: 'api',
    callId: null,
    httpStatus: 200,
    durationMs: 1,
    coldStart: false,
    cpuMs: 0,
    peakMemoryKib: 0,
    method: 'GET',
    path: '/',
    requestBytes: 0,
    error: null,
    queuedMs: 0,
    runMs: 0,
    placementMs: 0,
    agentUs: 0,
    cold: null,
    logs: 0,
    ...patch,
  };
}

/** The names of the records of function `fn` (a name given to uid) in the table, oldest first. */
export async function recordNames(db: Db, fn: string, table: 'executions' | 'execution_logs' = 'executions'): Promise<string[]> {
  const no = await recordNumbers.find(db.kysely, 'function', uid(fn));
  if (no === undefined) return [];
  return (await db.kysely.selectFrom(table).select('id').where('fn', '=', no).orderBy('id').execute()).map((r) => nameOf(r.id));
}

export function deploymentRow(functionId: string, version: number, patch: Partial<Omit<DeploymentRow, 'build_log'>> = {}): Omit<DeploymentRow, 'build_log'> {
  return { function_id: functionId, version, digest: `digest-${functionId}-${version}`, size_bytes: 1024, entry: 'index.js', runtime: 'node', status: 'building', image: null, node_id: null, error: null, created_at: NOW + version, finished_at: null, ...patch };
}

/** Fails unless `p` rejects with an AppError of this code. */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.instance(caught, AppError, `expected an AppError ${code}`);
  assert.is((caught as AppError).code, code);
}

/** Fails unless `p` rejects (a driver error: a constraint the schema enforces). */
export async function rejects(p: Promise<unknown>, message: string): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof Error, message);
}
