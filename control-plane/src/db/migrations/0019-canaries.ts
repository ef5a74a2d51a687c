// Canaries (issue 20): a new version that gets a share of live's calls for a window while its error rate and p95
// are compared with the active version's (from the rollups), then is promoted, or rolled back on its own. Each row
// is the history of one canary: what it was given, what was seen, and how it ended.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('canaries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('function_id', 'text', (c) => c.notNull().references('functions.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    // The active version when it started: what it is compared with, and what live returns to on a rollback.
    .addColumn('baseline', 'integer', (c) => c.notNull())
    .addColumn('percent', 'integer', (c) => c.notNull())
    .addColumn('window_ms', 'bigint', (c) => c.notNull())
    // building → running → promoted | rolled_back | aborted; building → failed (its build failed).
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    // JSON: the last comparison (calls, errors, p95 of each version).
    .addColumn('seen', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('ends_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema.createIndex('canaries_function').on('canaries').columns(['function_id', 'created_at']).execute();
  await db.schema.createIndex('canaries_state').on('canaries').column('state').execute();
  // One canary under way per function, however many replicas start one at once.
  await db.schema
    .createIndex('canaries_one_open')
    .on('canaries')
    .column('function_id')
    .unique()
    .where(sql.ref('state'), 'in', [sql.lit('building'), sql.lit('running')])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('canaries').execute();
}
