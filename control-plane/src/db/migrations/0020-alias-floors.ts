// A warm floor per alias (issue 20): an alias keeps min_instances containers of its version(s) started across the
// fleet (null: none; live's floor is the function's minInstances).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('function_aliases').addColumn('min_instances', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('function_aliases').dropColumn('min_instances').execute();
}
