// The queue's indexes hold only the rows each question is about (partial indexes): the calls queued, the calls
// running, the finished ones and the dead letters. A call moving from one state to the next then touches two small
// indexes instead of moving its entry in three indexes over every call ever made — each commit of a claim or a
// settling writes half the pages it did (bench `async`, the drain), and the finished calls pile up in no index that
// the dispatcher reads. Queries must name the state as a literal (async-calls.repo.ts), as the indexes do.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  for (const name of ['async_calls_due', 'async_calls_state', 'async_calls_finished']) await db.schema.dropIndex(name).execute();
  // A function's due calls, oldest first (the claim; the pass's look at each function's head).
  await db.schema.createIndex('async_calls_queued').on('async_calls').columns(['function_id', 'due_at']).where(sql.ref('state'), '=', sql.lit('queued')).execute();
  // The calls running: per function (its room) and all of them (claims run out).
  await db.schema.createIndex('async_calls_running').on('async_calls').columns(['function_id', 'claimed_until']).where(sql.ref('state'), '=', sql.lit('running')).execute();
  // A function's finished calls by when (retention).
  await db.schema.createIndex('async_calls_finished').on('async_calls').columns(['function_id', 'finished_at']).where(sql.ref('finished_at'), 'is not', null).execute();
  // A function's dead letters, the newest first.
  await db.schema
    .createIndex('async_calls_dead')
    .on('async_calls')
    .columns(['function_id', 'finished_at', 'id'])
    .where(sql.ref('state'), '=', sql.lit('failed'))
    .where(sql.ref('replayed_as'), 'is', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const name of ['async_calls_queued', 'async_calls_running', 'async_calls_finished', 'async_calls_dead']) await db.schema.dropIndex(name).execute();
  await db.schema.createIndex('async_calls_due').on('async_calls').columns(['function_id', 'state', 'due_at']).execute();
  await db.schema.createIndex('async_calls_state').on('async_calls').columns(['state', 'due_at']).execute();
  await db.schema.createIndex('async_calls_finished').on('async_calls').columns(['function_id', 'state', 'finished_at']).execute();
}
