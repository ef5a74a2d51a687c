// Destinations (async-calls/destinations.ts): where a function's async calls' outcomes are POSTed, its signing
// secret (sealed), and the deliveries — each written in the transaction that settles its call, so none is lost,
// and retried with backoff until the receiver takes it.
import type { Kysely } from 'kysely';
import { isPostgres } from '../connect.js';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('functions').addColumn('destinations', 'text').execute();
  await db.schema.alterTable('functions').addColumn('destination_secret', 'text').execute();
  await db.schema
    .createTable('destination_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('function_id', 'text', (c) => c.notNull().references('functions.id').onDelete('cascade'))
    .addColumn('call_id', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('body', isPostgres(db) ? 'bytea' : 'blob', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('due_at', 'bigint', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema.createIndex('destination_deliveries_due').on('destination_deliveries').columns(['state', 'due_at']).execute();
  await db.schema.createIndex('destination_deliveries_call').on('destination_deliveries').column('call_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('destination_deliveries').execute();
  await db.schema.alterTable('functions').dropColumn('destination_secret').execute();
  await db.schema.alterTable('functions').dropColumn('destinations').execute();
}
