// The fleet registry: one row per agent that joined, with its last reported state.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('nodes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('advertise', 'text', (c) => c.notNull())
    .addColumn('credential_sealed', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('epoch', 'text')
    .addColumn('last_heartbeat_at', 'bigint')
    .addColumn('memory_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('cpus', 'real', (c) => c.notNull().defaultTo(0))
    .addColumn('max_containers', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('containers', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('in_flight', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('limits_enforced', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('limit_notes', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('rootless', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('agent_version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('nodes').execute();
}
