// Alerting (issue 22): rules, alerts and their history, channels, silences, the deliveries waiting to go out, and
// the security events the security rules count (alerts/alerts.schema.ts).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('alert_rules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('function_id', 'text', (c) => c.references('functions.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alert_rules_owner').on('alert_rules').column('owner_id').execute();
  await db.schema
    .createTable('alerts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('rule_id', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('function_id', 'text', (c) => c.references('functions.id').onDelete('cascade'))
    .addColumn('labels', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('value', 'real', (c) => c.notNull())
    .addColumn('threshold', 'real', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('fired_at', 'bigint')
    .addColumn('clear_since', 'bigint')
    .addColumn('resolved_at', 'bigint')
    .addColumn('notified', 'text', (c) => c.notNull().defaultTo('none'))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  // One open alert per rule and subject, however the evaluator is interrupted.
  await db.schema
    .createIndex('alerts_open')
    .on('alerts')
    .column('fingerprint')
    .unique()
    .where(sql.ref('state'), 'in', [sql.lit('pending'), sql.lit('firing')])
    .execute();
  await db.schema.createIndex('alerts_owner').on('alerts').columns(['owner_id', 'started_at']).execute();
  await db.schema.createIndex('alerts_function').on('alerts').columns(['function_id', 'state']).execute();
  await db.schema
    .createTable('alert_channels')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('secret_sealed', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alert_channels_owner').on('alert_channels').column('owner_id').execute();
  await db.schema
    .createTable('alert_silences')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('matchers', 'text', (c) => c.notNull())
    .addColumn('comment', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('ends_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alert_silences_ends').on('alert_silences').column('ends_at').execute();
  await db.schema
    .createTable('alert_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel_id', 'text', (c) => c.notNull().references('alert_channels.id').onDelete('cascade'))
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('due_at', 'bigint', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema.createIndex('alert_deliveries_due').on('alert_deliveries').column('due_at').where(sql.ref('state'), '=', sql.lit('pending')).execute();
  await db.schema
    .createTable('security_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('security_events_at').on('security_events').columns(['event', 'at']).execute();
  // The rules read every function's recent rollup rows by size and time.
  await db.schema.createIndex('execution_rollups_recent').on('execution_rollups').columns(['size_ms', 'start']).execute();
  // A node's disk (the container storage's file system), from its heartbeats.
  await db.schema.alterTable('nodes').addColumn('disk_bytes', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('nodes').addColumn('disk_used_bytes', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const c of ['disk_used_bytes', 'disk_bytes']) await db.schema.alterTable('nodes').dropColumn(c).execute();
  await db.schema.dropIndex('execution_rollups_recent').execute();
  for (const t of ['security_events', 'alert_deliveries', 'alert_silences', 'alert_channels', 'alerts', 'alert_rules']) await db.schema.dropTable(t).execute();
}
