// A function's streamed-answer limit (issue 23): the body of an answer it streams at most, in MiB (null: the
// default, 100 MiB). Answers it makes whole stay capped at 16 MiB.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('functions').addColumn('response_limit_mb', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('functions').dropColumn('response_limit_mb').execute();
}
