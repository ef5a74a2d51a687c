// 0024 gave the rollups a second index over the columns 0007's `execution_rollups_slot` already covers (size, start):
// every new rollup row was written into both, and both were kept on disk. The twin goes; the slot index serves the
// alert rules' reads as it serves the statistics' (tests/helpers/store.ts checks no table has two such indexes).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('execution_rollups_recent').ifExists().execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('execution_rollups_recent').on('execution_rollups').columns(['size_ms', 'start']).execute();
}
