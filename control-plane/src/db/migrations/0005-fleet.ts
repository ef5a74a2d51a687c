// Fleet placement and replicas: what each node holds (memory used and reserved, warm containers per function
// version), leases, so background work runs on one control-plane replica at a time, and artifact blobs, so a
// replica can build a version another replica received (written only with PostgreSQL).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('nodes').addColumn('memory_used_bytes', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('nodes').addColumn('memory_reserved_bytes', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('nodes').addColumn('warm', 'text', (c) => c.notNull().defaultTo('[]')).execute();
  await db.schema
    .createTable('leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  // `bytea` is PostgreSQL's binary type; SQLite stores the Buffer as a blob under any declared type.
  await db.schema
    .createTable('artifact_blobs')
    .addColumn('digest', 'text', (c) => c.primaryKey())
    .addColumn('data', 'bytea', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('artifact_blobs').execute();
  await db.schema.dropTable('leases').execute();
  for (const c of ['warm', 'memory_reserved_bytes', 'memory_used_bytes']) await db.schema.alterTable('nodes').dropColumn(c).execute();
}
