// A function's call queue (issue 20): a call over its capacity waits up to queue_timeout_ms for a slot before it
// is refused with 429 (null: the default, 1 s).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('functions').addColumn('queue_timeout_ms', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('functions').dropColumn('queue_timeout_ms').execute();
}
