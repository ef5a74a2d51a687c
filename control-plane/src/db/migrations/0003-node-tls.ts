// Whether the control plane dials a node over TLS (the agent joined saying it serves gRPC with a certificate).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('nodes').addColumn('tls', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('nodes').dropColumn('tls').execute();
}
