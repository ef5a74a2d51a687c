// Deliveries of async calls' outcomes to their function's destinations: written with the call's settling, taken
// by the deliverer when due, then delivered, retried later, or failed for good.
import type { Insertable } from 'kysely';
import type { DestinationDeliveriesTable, Executor } from '../db/schema.js';

export type DeliveryRow = DestinationDeliveriesTable;

export const deliveriesRepo = {
  async insert(db: Executor, row: Insertable<DestinationDeliveriesTable>): Promise<void> {
    await db.insertInto('destination_deliveries').values(row).execute();
  },

  /** Pending deliveries due at `now`, the longest waiting first. */
  due(db: Executor, now: number, limit: number): Promise<DeliveryRow[]> {
    return db.selectFrom('destination_deliveries').selectAll().where('state', '=', 'pending').where('due_at', '<=', now).orderBy('due_at').limit(limit).execute() as Promise<DeliveryRow[]>;
  },

  /** The earliest pending delivery's due time; null when none is pending. */
  async earliest(db: Executor): Promise<number | null> {
    const r = await db.selectFrom('destination_deliveries').select((eb) => eb.fn.min('due_at').as('at')).where('state', '=', 'pending').executeTakeFirst();
    return r?.at === null || r?.at === undefined ? null : Number(r.at);
  },

  /**
   * Takes a delivery read as due for one attempt: it is due again only at `until` (a sender that died mid-attempt
   * is covered then). Compare-and-set on what was read, so a stale read — the delivery finished or taken by another
   * pass since — takes nothing: false.
   */
  async claim(db: Executor, read: DeliveryRow, now: number, until: number): Promise<boolean> {
    const r = await db
      .updateTable('destination_deliveries')
      .set({ due_at: until })
      .where('id', '=', read.id)
      .where('state', '=', 'pending')
      .where('attempts', '=', read.attempts)
      .where('due_at', '<=', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  /** Where an attempt of a delivery claimed with `attempts` before it went; false when it was not that claim's to finish. */
  async finish(db: Executor, id: string, attempts: number, to: { state: 'pending' | 'delivered' | 'failed'; dueAt?: number; error: string | null; finishedAt: number | null }): Promise<boolean> {
    const r = await db
      .updateTable('destination_deliveries')
      .set({ state: to.state, attempts: attempts + 1, last_error: to.error, finished_at: to.finishedAt, ...(to.dueAt !== undefined ? { due_at: to.dueAt } : {}) })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .where('attempts', '=', attempts)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  forCall(db: Executor, callId: string): Promise<DeliveryRow[]> {
    return db.selectFrom('destination_deliveries').selectAll().where('call_id', '=', callId).orderBy('created_at').execute() as Promise<DeliveryRow[]>;
  },

  /** Deliveries finished (delivered or failed) before `before`: the number deleted. */
  async purgeFinished(db: Executor, before: number): Promise<number> {
    const r = await db.deleteFrom('destination_deliveries').where('state', '!=', 'pending').where('finished_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  },
};
