// A function's body limits (issue 23): the body of an answer it streams at most, and of a request body that streams
// into it, in MiB (null: the default, 100 MiB each). Answers it makes whole stay capped at 16 MiB, and request
// bodies read whole (the JSON invoke route, signed and idempotent calls, async calls) at 6 MB.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('functions').addColumn('response_limit_mb', 'integer').execute();
  await db.schema.alterTable('functions').addColumn('request_limit_mb', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('functions').dropColumn('request_limit_mb').execute();
  await db.schema.alterTable('functions').dropColumn('response_limit_mb').execute();
}
