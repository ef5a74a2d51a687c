// Runs the schema migrations (at start and by `cpub-server migrate`); the list is static so bundling keeps it.
import { Migrator, type Kysely, type MigrationResultSet } from 'kysely';
import * as m0001 from './migrations/0001-users-and-tokens.js';
import * as m0002 from './migrations/0002-nodes.js';
import * as m0003 from './migrations/0003-node-tls.js';
import * as m0004 from './migrations/0004-functions.js';
import * as m0005 from './migrations/0005-fleet.js';
import * as m0006 from './migrations/0006-refresh-grace.js';
import * as m0007 from './migrations/0007-records.js';
import * as m0008 from './migrations/0008-record-rows.js';
import * as m0009 from './migrations/0009-async-calls.js';
import * as m0010 from './migrations/0010-record-days.js';
import * as m0011 from './migrations/0011-idempotency.js';
import * as m0012 from './migrations/0012-schedules.js';
import * as m0013 from './migrations/0013-destinations.js';
import * as m0014 from './migrations/0014-rollup-async.js';
import * as m0015 from './migrations/0015-async-queue-indexes.js';
import * as m0016 from './migrations/0016-aliases.js';
import * as m0017 from './migrations/0017-call-queue.js';
import * as m0018 from './migrations/0018-warm-floor.js';
import * as m0019 from './migrations/0019-canaries.js';
import * as m0020 from './migrations/0020-alias-floors.js';
import * as m0021 from './migrations/0021-teams.js';
import * as m0022 from './migrations/0022-access-tokens.js';
import * as m0023 from './migrations/0023-rate-limits.js';
import * as m0024 from './migrations/0024-alerts.js';
import * as m0025 from './migrations/0025-response-limit.js';
import * as m0026 from './migrations/0026-runtimes.js';
import * as m0027 from './migrations/0027-alert-held.js';
import * as m0028 from './migrations/0028-rollup-index-twin.js';

const migrations = {
  '0001-users-and-tokens': m0001,
  '0002-nodes': m0002,
  '0003-node-tls': m0003,
  '0004-functions': m0004,
  '0005-fleet': m0005,
  '0006-refresh-grace': m0006,
  '0007-records': m0007,
  '0008-record-rows': m0008,
  '0009-async-calls': m0009,
  '0010-record-days': m0010,
  '0011-idempotency': m0011,
  '0012-schedules': m0012,
  '0013-destinations': m0013,
  '0014-rollup-async': m0014,
  '0015-async-queue-indexes': m0015,
  '0016-aliases': m0016,
  '0017-call-queue': m0017,
  '0018-warm-floor': m0018,
  '0019-canaries': m0019,
  '0020-alias-floors': m0020,
  '0021-teams': m0021,
  '0022-access-tokens': m0022,
  '0023-rate-limits': m0023,
  '0024-alerts': m0024,
  '0025-response-limit': m0025,
  '0026-runtimes': m0026,
  '0027-alert-held': m0027,
  '0028-rollup-index-twin': m0028,
};

export type MigrationName = keyof typeof migrations;

export function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  return migrateTo(db, undefined);
}

/** Up (or down) to `target`, for tests of one migration; the latest when undefined. The migrations that ran. */
export async function migrateTo(db: Kysely<any>, target: MigrationName | undefined): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'cpub_migrations',
    migrationLockTableName: 'cpub_migrations_lock',
  });
  const { error, results }: MigrationResultSet = await (target ? migrator.migrateTo(target) : migrator.migrateToLatest());
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`migration ${failed ?? ''} failed: ${(error as Error).message ?? error}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
