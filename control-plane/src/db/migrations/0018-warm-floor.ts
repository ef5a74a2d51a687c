// The warm floor (issue 20): a function keeps min_instances containers of its live version(s) started across the
// fleet, idle or not (null: none).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('functions').addColumn('min_instances', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('functions').dropColumn('min_instances').execute();
}
