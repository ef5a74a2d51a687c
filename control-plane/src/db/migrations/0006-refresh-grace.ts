// Refresh grace: a spent refresh token remembers (sealed, for a few seconds) the pair it was rotated into and the
// address that spent it, so the same client presenting it again at once (two tabs, two CLI processes) gets that
// pair instead of revoking the session.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('refresh_tokens').addColumn('successor_sealed', 'text').execute();
  await db.schema.alterTable('refresh_tokens').addColumn('spent_ip', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('refresh_tokens').dropColumn('spent_ip').execute();
  await db.schema.alterTable('refresh_tokens').dropColumn('successor_sealed').execute();
}
