// Runtimes (issue 23): the runtime a version's containerpub.json names ("node" unless it says), read at upload, and
// the runtimes each node can run (from its Info, a JSON array), so placement sends a version only to nodes that
// run its runtime.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('deployments').addColumn('runtime', 'text', (c) => c.notNull().defaultTo('node')).execute();
  await db.schema.alterTable('nodes').addColumn('runtimes', 'text', (c) => c.notNull().defaultTo('[]')).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('nodes').dropColumn('runtimes').execute();
  await db.schema.alterTable('deployments').dropColumn('runtime').execute();
}
