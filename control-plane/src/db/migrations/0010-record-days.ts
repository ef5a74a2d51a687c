// PostgreSQL's record days without a default partition: with one, a day cannot be detached CONCURRENTLY, and the
// purge's detach would lock calls' writes out while it runs (db/record-days.ts). The rows the default partitions
// hold (a clock far off) move to days of their own; from now on such a row makes its day when it is written.
import { sql, type Kysely } from 'kysely';
import { isPostgres } from '../connect.js';
import { PARTITIONED, postgresRecordDays } from '../record-days.js';

export async function up(db: Kysely<any>): Promise<void> {
  if (!isPostgres(db)) return;
  const days = postgresRecordDays(db);
  // Both tables' defaults out first: a day is made for both tables at once.
  for (const table of PARTITIONED) {
    await sql`ALTER TABLE ${sql.table(table)} DETACH PARTITION ${sql.table(`${table}_default`)}`.execute(db);
    await sql`ALTER TABLE ${sql.table(`${table}_default`)} RENAME TO ${sql.table(`${table}_default_0009`)}`.execute(db);
  }
  for (const table of PARTITIONED) {
    const old = `${table}_default_0009`;
    // (bytea has no min(): the ends of the index's order.)
    const end = async (dir: 'asc' | 'desc') => (await sql<{ id: Buffer }>`SELECT id FROM ${sql.table(old)} ORDER BY id ${sql.raw(dir)} LIMIT 1`.execute(db)).rows[0]?.id;
    const first = await end('asc');
    const last = await end('desc');
    if (first && last) {
      await days.ensure(first.readUIntBE(0, 6), last.readUIntBE(0, 6) + 1);
      await sql`INSERT INTO ${sql.table(table)} SELECT * FROM ${sql.table(old)}`.execute(db);
    }
    await sql`DROP TABLE ${sql.table(old)}`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!isPostgres(db)) return;
  for (const table of PARTITIONED) await sql`CREATE TABLE ${sql.table(`${table}_default`)} PARTITION OF ${sql.table(table)} DEFAULT`.execute(db);
}
