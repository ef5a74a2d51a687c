// Alerting (issue 22): what a silence held back from a channel — an alert's firing or its resolution — kept until
// the silence ends, then sent if it still holds (alerts/evaluator.ts). One row per alert and channel.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('alert_held')
    .addColumn('alert_id', 'text', (c) => c.notNull().references('alerts.id').onDelete('cascade'))
    .addColumn('channel_id', 'text', (c) => c.notNull().references('alert_channels.id').onDelete('cascade'))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('held_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('alert_held_pk', ['alert_id', 'channel_id'])
    .execute();
  await db.schema.createIndex('alert_held_channel').on('alert_held').column('channel_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('alert_held').execute();
}
