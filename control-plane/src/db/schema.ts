// The database schema as Kysely types. Times are epoch milliseconds (bigint in PostgreSQL, integer in SQLite).
// Each feature's tables are declared beside it (`<feature>/<feature>.schema.ts`); this file joins them into the
// Database and keeps the tables no one feature owns.
import type { Generated, Insertable, Selectable } from 'kysely';
import type { AlertTables } from '../alerts/alerts.schema.js';
import type { AsyncCallTables } from '../async-calls/async-calls.schema.js';
import type { AccountTables, AuditLogTable, RefreshTokensTable, UsersTable } from '../auth/accounts.schema.js';
import type { ExecutionTables } from '../executions/executions.schema.js';
import type { DeploymentsTable, FunctionTables, FunctionsTable } from '../functions/functions.schema.js';

export type * from '../alerts/alerts.schema.js';
export type * from '../async-calls/async-calls.schema.js';
export type * from '../auth/accounts.schema.js';
export type * from '../executions/executions.schema.js';
export type * from '../functions/functions.schema.js';

export interface MetaTable {
  key: string;
  value: string;
}

export type NodeStatus = 'up' | 'suspect' | 'down' | 'draining' | 'drained';

export interface NodesTable {
  id: string;
  name: string;
  /** host:port the control plane dials. */
  advertise: string;
  /** The node credential, sealed with the encryption key (secrets/crypto.ts). */
  credential_sealed: string;
  /** 0/1: the agent serves gRPC over TLS (dialled with CPUB_AGENT_CA). */
  tls: Generated<number>;
  status: NodeStatus;
  epoch: string | null;
  last_heartbeat_at: number | null;
  memory_bytes: Generated<number>;
  cpus: Generated<number>;
  max_containers: Generated<number>;
  containers: Generated<number>;
  in_flight: Generated<number>;
  /** 0/1 */
  limits_enforced: Generated<number>;
  limit_notes: Generated<string>;
  /** 0/1 */
  rootless: Generated<number>;
  agent_version: Generated<string>;
  /** The runtimes the node can run (its Info), a JSON array of names. */
  runtimes: Generated<string>;
  memory_used_bytes: Generated<number>;
  /** The container storage's file system, from the last heartbeat (0: not reported). */
  disk_bytes: Generated<number>;
  disk_used_bytes: Generated<number>;
  /** Memory limits of the node's containers (what placement packs by). */
  memory_reserved_bytes: Generated<number>;
  /** JSON: [{functionId, version, idle, busy}] from the last heartbeat. */
  warm: Generated<string>;
  created_at: number;
  updated_at: number;
}

/** Artifacts kept in the database so every replica can build any version (PostgreSQL only). */
export interface ArtifactBlobsTable {
  digest: string;
  data: Buffer;
  created_at: number;
}

export interface LeasesTable {
  /** The background job the lease is for (e.g. `purge`, `liveness`). */
  name: string;
  /** The replica holding it. */
  holder: string;
  expires_at: number;
}

export interface Database extends AccountTables, FunctionTables, ExecutionTables, AsyncCallTables, AlertTables {
  meta: MetaTable;
  nodes: NodesTable;
  leases: LeasesTable;
  artifact_blobs: ArtifactBlobsTable;
}

export type FunctionRow = Selectable<FunctionsTable>;
export type DeploymentRow = Selectable<DeploymentsTable>;

export type NodeRow = Selectable<NodesTable>;

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type RefreshToken = Selectable<RefreshTokensTable>;
export type AuditEntry = Selectable<AuditLogTable>;

/** What repositories run queries on: the database or a transaction. */
export type Executor = import('kysely').Kysely<Database>;
