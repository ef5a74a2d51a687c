// Rollups count the attempts of async calls and, of those, the retries (stats/rollups.ts): the statistics and
// charts show how much of a function's work came from its queue and how much of it was retrying.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('execution_rollups').addColumn('queued', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('execution_rollups').addColumn('retries', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('execution_rollups').dropColumn('retries').execute();
  await db.schema.alterTable('execution_rollups').dropColumn('queued').execute();
}
