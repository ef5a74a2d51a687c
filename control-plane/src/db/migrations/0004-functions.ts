// Functions, their versions (deployments), every call (executions), API keys and env; users get the stable
// handle that function URLs use (`/fn/<handle>/<name>`).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('handle', 'text').execute();
  await sql`UPDATE users SET handle = 'u' || substr(replace(id, '-', ''), 1, 10) WHERE handle IS NULL`.execute(db);
  await db.schema.createIndex('users_handle').on('users').column('handle').unique().execute();

  await db.schema
    .createTable('functions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('memory_mb', 'integer', (c) => c.notNull())
    .addColumn('cpus', 'real', (c) => c.notNull())
    .addColumn('timeout_ms', 'integer', (c) => c.notNull())
    .addColumn('concurrency', 'integer', (c) => c.notNull())
    .addColumn('max_instances', 'integer', (c) => c.notNull())
    .addColumn('auth', 'text', (c) => c.notNull())
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('active_version', 'integer')
    .addColumn('next_version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('functions_owner_name', ['owner_id', 'name'])
    .execute();
  await db.schema.createIndex('functions_owner_created').on('functions').columns(['owner_id', 'created_at']).execute();

  await db.schema
    .createTable('deployments')
    .addColumn('function_id', 'text', (c) => c.notNull().references('functions.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('entry', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('image', 'text')
    .addColumn('node_id', 'text')
    .addColumn('build_log', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addPrimaryKeyConstraint('deployments_pk', ['function_id', 'version'])
    .execute();

  await db.schema
    .createTable('executions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('function_id', 'text', (c) => c.notNull().references('functions.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('node_id', 'text')
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('http_status', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('cold_start', 'integer', (c) => c.notNull())
    .addColumn('timings', 'text', (c) => c.notNull())
    .addColumn('cpu_ms', 'integer', (c) => c.notNull())
    .addColumn('peak_memory_bytes', 'bigint', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('request_bytes', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('logs', 'text', (c) => c.notNull())
    .addColumn('logs_truncated', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('executions_function_started').on('executions').columns(['function_id', 'started_at']).execute();
  await db.schema.createIndex('executions_started').on('executions').column('started_at').execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('function_id', 'text', (c) => c.notNull().references('functions.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('api_keys_function').on('api_keys').column('function_id').execute();

  // A signed call's signature is accepted once: remembered until its timestamp leaves the ±300 s window.
  await db.schema
    .createTable('used_signatures')
    .addColumn('signature_hash', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('function_env')
    .addColumn('function_id', 'text', (c) => c.notNull().references('functions.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('secret', 'integer', (c) => c.notNull())
    // plain values as they are; secrets sealed with the encryption key (secrets/crypto.ts)
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('function_env_pk', ['function_id', 'key'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('function_env').execute();
  await db.schema.dropTable('used_signatures').execute();
  await db.schema.dropTable('api_keys').execute();
  await db.schema.dropTable('executions').execute();
  await db.schema.dropTable('deployments').execute();
  await db.schema.dropTable('functions').execute();
  await db.schema.dropIndex('users_handle').execute();
  await db.schema.alterTable('users').dropColumn('handle').execute();
}
