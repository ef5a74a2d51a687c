// Canaries (migration 0019): one row per canary of a function's version, and the numbers it is judged by — the
// minute rollups of the two versions since it started.
import type { CanaryRow, CanaryState, Executor } from '../db/schema.js';
import { Histogram } from '../stats/histogram.js';
import { MINUTE } from '../stats/rollups.js';
import type { VersionNumbers } from './canary-judge.js';

const OPEN: CanaryState[] = ['building', 'running'];

export const canariesRepo = {
  async insert(db: Executor, row: CanaryRow): Promise<void> {
    await db.insertInto('canaries').values(row).execute();
  },

  get(db: Executor, id: string): Promise<CanaryRow | undefined> {
    return db.selectFrom('canaries').selectAll().where('id', '=', id).executeTakeFirst();
  },

  /** The function's canary under way (building or running), if any. */
  open(db: Executor, functionId: string): Promise<CanaryRow | undefined> {
    return db.selectFrom('canaries').selectAll().where('function_id', '=', functionId).where('state', 'in', OPEN).executeTakeFirst();
  },

  /** The canary building for this version, if any (its build must not make it active). */
  building(db: Executor, functionId: string, version: number): Promise<CanaryRow | undefined> {
    return db.selectFrom('canaries').selectAll().where('function_id', '=', functionId).where('version', '=', version).where('state', '=', 'building').executeTakeFirst();
  },

  /** Every canary under way, of every function (the watcher's pass). */
  allOpen(db: Executor): Promise<CanaryRow[]> {
    return db.selectFrom('canaries').selectAll().where('state', 'in', OPEN).execute();
  },

  /** The function's canaries, newest first: its history of them. */
  list(db: Executor, functionId: string, limit: number): Promise<CanaryRow[]> {
    return db.selectFrom('canaries').selectAll().where('function_id', '=', functionId).orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
  },

  /** Moves a canary on from `from` (compare-and-set: another replica may have moved it); whether this did. */
  async move(db: Executor, id: string, from: CanaryState, set: Partial<CanaryRow>): Promise<boolean> {
    const r = await db.updateTable('canaries').set(set).where('id', '=', id).where('state', '=', from).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  async setSeen(db: Executor, id: string, seen: string): Promise<void> {
    await db.updateTable('canaries').set({ seen }).where('id', '=', id).execute();
  },

  /** Calls, function failures and p95 of each version since `from`, from the minute rollups (the minute of `from` on). */
  async numbers(db: Executor, functionId: string, versions: number[], from: number): Promise<Map<number, VersionNumbers>> {
    const rows = await db
      .selectFrom('execution_rollups')
      .select(['version', 'calls', 'error', 'timeout', 'oom', 'crashed', 'agent_lost', 'latency'])
      .where('function_id', '=', functionId)
      .where('size_ms', '=', MINUTE)
      .where('start', '>=', from - (from % MINUTE))
      .where('version', 'in', versions)
      .execute();
    const out = new Map<number, { calls: number; errors: number; latency: Histogram }>(versions.map((v) => [v, { calls: 0, errors: 0, latency: new Histogram() }]));
    for (const r of rows) {
      const n = out.get(Number(r.version))!;
      n.calls += Number(r.calls);
      n.errors += Number(r.error) + Number(r.timeout) + Number(r.oom) + Number(r.crashed) + Number(r.agent_lost);
      n.latency.merge(Histogram.decode(r.latency));
    }
    return new Map([...out].map(([version, n]) => [version, { version, calls: n.calls, errors: n.errors, p95Ms: n.calls ? n.latency.quantile(0.95) : null }]));
  },
};
