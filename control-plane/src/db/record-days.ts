// Daily partitions of the call records on PostgreSQL: `executions` and `execution_logs` are partitioned by range of
// id — a UUIDv7, whose first six bytes are the call's start in ms —, one partition per UTC day
// (`executions_d20261205`, from the day's first id to the next day's), so the purge drops a day that every function is
// done with as a whole table instead of deleting its rows. The purge makes the days a week ahead; a row of a day
// that has none (a clock far off) makes its day when it is written (ExecutionWriter). There is no default
// partition: with one, PostgreSQL would not detach a day without locking the writers out (migration 0010). SQLite
// has no partitions: there the purge deletes in batches only.
import { sql, type Kysely } from 'kysely';

const DAY = 86_400_000;
export const PARTITIONED = ['executions', 'execution_logs'] as const;

export interface RecordDays {
  /** Creates the partitions of the days from `from` to `to` (epoch ms) that do not exist yet. */
  ensure(from: number, to: number): Promise<void>;
  /**
   * Drops the partitions of days that end at or before `before`: the number of records they held. A day is
   * detached CONCURRENTLY — calls' writes do not wait for it — then dropped on its own.
   */
  dropBefore(before: number): Promise<number>;
}

/** The partition bound of a time: the smallest id of a call started then (executions/records.ts idFloor). */
const bound = (ms: number) => sql.raw(`'\\x${ms.toString(16).padStart(12, '0')}${'0'.repeat(20)}'::bytea`);

const dayName = (table: string, day: number) => `${table}_d${new Date(day).toISOString().slice(0, 10).replace(/-/g, '')}`;

export function noRecordDays(): RecordDays {
  return { ensure: async () => {}, dropBefore: async () => 0 };
}

export function postgresRecordDays(db: Kysely<any>): RecordDays {
  return {
    async ensure(from, to) {
      for (let day = from - (from % DAY); day < to; day += DAY) {
        for (const table of PARTITIONED) {
          await sql`CREATE TABLE IF NOT EXISTS ${sql.table(dayName(table, day))} PARTITION OF ${sql.table(table)} FOR VALUES FROM (${bound(day)}) TO (${bound(day + DAY)})`
            .execute(db)
            .catch((err: { code?: string }) => {
              // Another replica made it at the same moment (IF NOT EXISTS does not see a table being made).
              if (err.code !== '42P07' && err.code !== '23505') throw err;
            });
        }
      }
    },
    async dropBefore(before) {
      let records = 0;
      // Days still attached, and days detached by a purge that stopped before it dropped them (no parent).
      const parts = await sql<{ name: string; parent: string | null; pending: boolean | null }>`
        SELECT c.relname AS name, p.relname AS parent, i.inhdetachpending AS pending FROM pg_class c
        LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent
        WHERE c.relkind = 'r' AND c.relname ~ '^(executions|execution_logs)_d[0-9]{8}$' AND c.relnamespace = current_schema()::regnamespace`.execute(db);
      for (const { name, parent, pending } of parts.rows) {
        const m = /_d(\d{4})(\d{2})(\d{2})$/.exec(name)!;
        const end = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + DAY;
        if (end > before) continue;
        if (name.startsWith('executions_')) {
          const n = await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(name)}`.execute(db);
          records += Number(n.rows[0]?.n ?? 0);
        }
        // Detached first, CONCURRENTLY: it waits for the transactions that may still write to it, and takes no
        // lock that calls' writes wait for; then dropped on its own (removing its files locks only itself). A detach
        // a stopped purge left pending is finished. The count above locks nothing calls write.
        if (parent) await sql`ALTER TABLE ${sql.table(parent)} DETACH PARTITION ${sql.table(name)} ${sql.raw(pending ? 'FINALIZE' : 'CONCURRENTLY')}`.execute(db);
        await sql`DROP TABLE IF EXISTS ${sql.table(name)}`.execute(db);
      }
      return records;
    },
  };
}
