// Aliases (issue 20): named pointers to a function's versions. `live` is implicit — the active version, what the
// function URL serves — until it is given a split; any other alias is a row. An alias serves its version, or splits
// its calls between two versions by weight (`weights`, JSON {"<version>": percent}), sticky per caller when the
// request carries the header or cookie named by `sticky` (`header:<name>` or `cookie:<name>`). A call queued through
// an alias keeps the version chosen for it.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('function_aliases')
    .addColumn('function_id', 'text', (c) => c.notNull().references('functions.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('weights', 'text')
    .addColumn('sticky', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('function_aliases_pk', ['function_id', 'name'])
    .execute();
  // A call queued through an alias runs the version its split chose then.
  await db.schema.alterTable('async_calls').addColumn('version', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('async_calls').dropColumn('version').execute();
  await db.schema.dropTable('function_aliases').execute();
}
