// Calls that run later: the control plane's own database is the queue (async-calls/). A call is a row from its 202
// until its retention ends: queued (due at a time), running (claimed by a replica for a while, renewed as it runs),
// then succeeded or failed (the failed ones are the function's dead letters). Functions get `async_concurrency`
// (calls of the queue running at once) and `retry` (the policy, JSON).
import type { Kysely } from 'kysely';
import { isPostgres } from '../connect.js';

export async function up(db: Kysely<any>): Promise<void> {
  const bytes = isPostgres(db) ? 'bytea' : 'blob';
  await db.schema.alterTable('functions').addColumn('async_concurrency', 'integer').execute();
  await db.schema.alterTable('functions').addColumn('retry', 'text').execute();
  await db.schema
    .createTable('async_calls')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('function_id', 'text', (c) => c.notNull().references('functions.id').onDelete('cascade'))
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('query', 'text', (c) => c.notNull())
    .addColumn('headers', 'text', (c) => c.notNull())
    .addColumn('body', bytes, (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('due_at', 'bigint', (c) => c.notNull())
    .addColumn('claimed_by', 'text')
    .addColumn('claimed_until', 'bigint')
    .addColumn('history', 'text', (c) => c.notNull())
    .addColumn('answer', 'text')
    .addColumn('answer_body', bytes)
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    // A dead letter replayed: the call that replays it (it leaves the list).
    .addColumn('replayed_as', 'text')
    .execute();
  // The dispatcher's pass: a function's due calls, oldest first; and the calls running (per function, and expired).
  await db.schema.createIndex('async_calls_due').on('async_calls').columns(['function_id', 'state', 'due_at']).execute();
  await db.schema.createIndex('async_calls_state').on('async_calls').columns(['state', 'due_at']).execute();
  // A function's dead letters, the newest first.
  await db.schema.createIndex('async_calls_finished').on('async_calls').columns(['function_id', 'state', 'finished_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('async_calls').execute();
  await db.schema.alterTable('functions').dropColumn('retry').execute();
  await db.schema.alterTable('functions').dropColumn('async_concurrency').execute();
}
