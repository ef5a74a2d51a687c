// A function's schedules in the database. A tick is taken by `advance`: a compare-and-set of next_run_at from the
// tick to the one after, in the caller's transaction (which queues the tick's call), so of two replicas — or a
// replica before and after a restart — that see one tick, one fires it.
import type { Insertable, Updateable } from 'kysely';
import type { Executor, SchedulesTable } from '../db/schema.js';

export type ScheduleRow = SchedulesTable;

export const schedulesRepo = {
  async insert(db: Executor, row: Insertable<SchedulesTable>): Promise<void> {
    await db.insertInto('schedules').values(row).execute();
  },

  list(db: Executor, functionId: string): Promise<ScheduleRow[]> {
    return db.selectFrom('schedules').selectAll().where('function_id', '=', functionId).orderBy('created_at').orderBy('id').execute() as Promise<ScheduleRow[]>;
  },

  async count(db: Executor, functionId: string): Promise<number> {
    const r = await db.selectFrom('schedules').select((eb) => eb.fn.countAll<number>().as('n')).where('function_id', '=', functionId).executeTakeFirstOrThrow();
    return Number(r.n);
  },

  byId(db: Executor, functionId: string, id: string): Promise<ScheduleRow | undefined> {
    return db.selectFrom('schedules').selectAll().where('function_id', '=', functionId).where('id', '=', id).executeTakeFirst() as Promise<ScheduleRow | undefined>;
  },

  async update(db: Executor, functionId: string, id: string, set: Updateable<SchedulesTable>): Promise<boolean> {
    const r = await db.updateTable('schedules').set(set).where('function_id', '=', functionId).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  async remove(db: Executor, functionId: string, id: string): Promise<boolean> {
    const r = await db.deleteFrom('schedules').where('function_id', '=', functionId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  },

  /** Schedules with a tick due at `now`, the earliest first (paused ones have none due). */
  due(db: Executor, now: number, limit: number): Promise<ScheduleRow[]> {
    return db.selectFrom('schedules').selectAll().where('next_run_at', '<=', now).where('paused', '=', 0).orderBy('next_run_at').limit(limit).execute() as Promise<ScheduleRow[]>;
  },

  /** The earliest tick of any schedule that is not paused; null when there is none. */
  async earliest(db: Executor): Promise<number | null> {
    const r = await db.selectFrom('schedules').select((eb) => eb.fn.min('next_run_at').as('at')).where('paused', '=', 0).executeTakeFirst();
    return r?.at === null || r?.at === undefined ? null : Number(r.at);
  },

  /**
   * Takes tick `tick` of the schedule: moves next_run_at on to `next` and counts the tick fired (as `callId`) or
   * skipped. False when the tick was taken already (by another replica) or the schedule changed meanwhile.
   */
  async advance(db: Executor, id: string, tick: number, to: { next: number | null; tickAt: number; callId: string | null; skipped: number }): Promise<boolean> {
    const r = await db
      .updateTable('schedules')
      .set((eb) => ({
        next_run_at: to.next,
        last_tick_at: to.tickAt,
        ...(to.callId ? { last_call_id: to.callId, fired: eb('fired', '+', 1) } : {}),
        skipped: eb('skipped', '+', to.skipped),
      }))
      .where('id', '=', id)
      .where('next_run_at', '=', tick)
      .where('paused', '=', 0)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },
};
