// Schedules (async-calls/scheduler.ts): a function's cron or @every timing, the payload its calls carry, and the
// next tick. A tick is fired by moving next_run_at on with a compare-and-set in the transaction that queues its
// call, so a tick fires once however many replicas or restarts see it.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('schedules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('function_id', 'text', (c) => c.notNull().references('functions.id').onDelete('cascade'))
    .addColumn('cron', 'text', (c) => c.notNull())
    .addColumn('timezone', 'text', (c) => c.notNull())
    // JSON text of the payload (the body of its calls, application/json); null: an empty body.
    .addColumn('payload', 'text')
    .addColumn('overlap', 'text', (c) => c.notNull())
    .addColumn('catch_up', 'text', (c) => c.notNull())
    .addColumn('paused', 'integer', (c) => c.notNull())
    // Where @every counts its ticks from: the last change of the timing.
    .addColumn('anchor_at', 'bigint', (c) => c.notNull())
    // The next tick (epoch ms); null when it has none (paused, or a cron that never fires again).
    .addColumn('next_run_at', 'bigint')
    .addColumn('last_tick_at', 'bigint')
    .addColumn('last_call_id', 'text')
    .addColumn('fired', 'bigint', (c) => c.notNull())
    // Ticks not fired: overlap skip (the last call still queued or running), or missed while no replica ran.
    .addColumn('skipped', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('schedules_function').on('schedules').columns(['function_id', 'created_at']).execute();
  await db.schema.createIndex('schedules_due').on('schedules').column('next_run_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('schedules').execute();
}
