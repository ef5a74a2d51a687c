// Rate limits (issue 21): a scoped token or an API key may carry {perSecond, burst} (JSON; null: none).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('access_tokens').addColumn('rate_limit', 'text').execute();
  await db.schema.alterTable('api_keys').addColumn('rate_limit', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_keys').dropColumn('rate_limit').execute();
  await db.schema.alterTable('access_tokens').dropColumn('rate_limit').execute();
}
