// The database schema as Kysely types. Times are epoch milliseconds (bigint in PostgreSQL, integer in SQLite).
import type { Generated, Insertable, Selectable } from 'kysely';
import type { Trigger } from '../../../common/api-types.js';
import type { AlertTables } from '../alerts/alerts.schema.js';

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  role: 'admin' | 'user';
  created_at: number;
  updated_at: number;
  disabled_at: number | null;
  /** Carried in every token as `sv`; bumped by a password change or disabling, which kills every older token. */
  session_version: number;
  /** Stable, unique, URL-safe: function URLs are `/fn/<handle>/<function name>`. */
  handle: string;
  /** A person signs in; a team's account (teams/) only owns functions and never signs in. */
  kind: Generated<'person' | 'team'>;
}

export type TeamRole = 'owner' | 'admin' | 'developer' | 'viewer';

/** A team: its account row in `users` (same id) holds its handle. A person's personal team is their own account. */
export interface TeamsTable {
  id: string;
  name: string;
  personal: number;
  /** The quotas a server admin set (teams/quotas.ts Quotas, JSON); null: none. */
  quotas: string | null;
  created_at: number;
}

export interface TeamMembersTable {
  team_id: string;
  user_id: string;
  role: TeamRole;
  created_at: number;
}

/** A personal access token (a person's) or a team service token (its team account's): scoped, hashed, shown once. */
export interface AccessTokensTable {
  id: string;
  kind: 'personal' | 'service';
  /** The person, or the team's account. */
  holder_id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  /** JSON array of scopes. */
  scopes: string;
  created_by: string | null;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  /** {perSecond, burst} (JSON); null: none. */
  rate_limit: Generated<string | null>;
}

export interface TeamInvitationsTable {
  id: string;
  team_id: string;
  /** Who may accept it: the invitee signs in with this address. */
  email: string;
  role: TeamRole;
  /** SHA-256 (hex) of the token, which is shown once. */
  token_hash: string;
  invited_by: string | null;
  created_at: number;
  expires_at: number;
  accepted_at: number | null;
  accepted_by: string | null;
}

/** A login session: the chain of refresh tokens descending from one login. */
export interface TokenFamiliesTable {
  id: string;
  user_id: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoke_reason: string | null;
}

export interface RefreshTokensTable {
  /** The refresh JWT's jti. */
  id: string;
  /** SHA-256 (hex) of the whole token; the token itself is never stored. */
  token_hash: string;
  user_id: string;
  family_id: string;
  parent_id: string | null;
  created_at: number;
  expires_at: number;
  spent_at: number | null;
  revoked_at: number | null;
  revoke_reason: string | null;
  /** The pair this token was rotated into, sealed; kept for the refresh grace window only. */
  successor_sealed: string | null;
  /** The client address that spent it. */
  spent_ip: string | null;
}

/** The link from a refresh token to the access token issued beside it (the architecture's token_links). */
export interface TokenLinksTable {
  refresh_id: string;
  access_jti: string;
  access_expires_at: number;
}

/** Revoked access tokens, keyed by jti, kept until they would have expired anyway. */
export interface AccessDenylistTable {
  jti: string;
  expires_at: number;
  /** Stamped with the database's clock at insert (db/connect.ts dbNowMs), so every replica's poller agrees on it. */
  created_at: number;
  reason: string;
}

export interface AuditLogTable {
  id: string;
  at: number;
  event: string;
  actor_id: string | null;
  subject_id: string | null;
  client_ip: string | null;
  /** JSON object of non-secret details. */
  detail: string;
  /** The team the change was made in (null: an account event). */
  team_id: Generated<string | null>;
  /** What was changed, as `kind:name` (function:api, key:…, member:…). */
  target: Generated<string | null>;
  /** JSON of the settings before and after the change, never a secret value. */
  before: Generated<string | null>;
  after: Generated<string | null>;
}

export interface LoginThrottleTable {
  key: string;
  failures: number;
  window_start: number;
  blocked_until: number;
}

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

export type AuthMode = 'private' | 'key' | 'public';
export type DeploymentStatus = 'building' | 'ready' | 'failed';
export type { ExecutionStatus } from '../../../proto/outcomes.js';

export interface FunctionsTable {
  id: string;
  owner_id: string;
  name: string;
  memory_mb: number;
  cpus: number;
  timeout_ms: number;
  concurrency: number;
  max_instances: number;
  auth: AuthMode;
  network: 'none' | 'egress';
  active_version: number | null;
  /** How long its execution records are kept (ms); null: the server's default (CPUB_EXECUTION_RETENTION). */
  execution_retention_ms: number | null;
  /** Successful calls recorded per second at most (every error and cold start is); null: the server's default. */
  execution_sample_rate: number | null;
  /** The next version number to hand out (taken with an atomic increment: two deploys never share one). */
  next_version: Generated<number>;
  /** Calls of its async queue running at once; null: concurrency × max_instances. */
  async_concurrency: number | null;
  /** How long a call over its capacity waits for a slot before a 429 (null: 1 s). */
  queue_timeout_ms: number | null;
  /** A streamed answer's body at most, MiB; null: 100. */
  response_limit_mb: number | null;
  /** A request body that streams in at most, MiB; null: 100. */
  request_limit_mb: number | null;
  /** Containers of its live version(s) kept started across the fleet, idle or not (null: none). */
  min_instances: number | null;
  /** Its retry policy for async calls (async-calls/retry.ts RetryPolicy, JSON); null: the default. */
  retry: string | null;
  /** Where its async calls' outcomes are POSTed (async-calls/destinations.ts Destinations, JSON); null: nowhere. */
  destinations: string | null;
  /** The secret deliveries are signed with, sealed; made when destinations are first set. */
  destination_secret: string | null;
  /** 1: a viewer of its team may invoke it. */
  viewer_invoke: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface DeploymentsTable {
  function_id: string;
  version: number;
  /** sha256 of the artifact, hex: it is stored at artifacts/sha256/<digest>. */
  digest: string;
  size_bytes: number;
  entry: string;
  /** The runtime its containerpub.json names ("node" unless it names another). */
  runtime: Generated<string>;
  status: DeploymentStatus;
  /** The image tag agents build for it (the same on every node). */
  image: string | null;
  /** The node that built it first. */
  node_id: string | null;
  build_log: Generated<string>;
  error: string | null;
  created_at: number;
  finished_at: number | null;
}

/**
 * The record of one call, ≈ 60 bytes (SQLite) or ≈ 130 (PostgreSQL) on disk, since a busy function writes one per
 * call: keyed by (fn, id), its function's number and its UUIDv7 (whose first 48 bits are the call's start), so a
 * function's records are one range of the table in time order, paged and purged by id. executions/records.ts is the
 * only reader and writer of `detail`.
 */
export interface ExecutionsTable {
  /** The function's number (record_numbers). */
  fn: number;
  /** The execution's UUIDv7 as 16 bytes: its time is the call's start. */
  id: Buffer;
  /** The status's code (executions/records.ts STATUS_CODES). */
  status: number;
  /** The rest of the record: executions/records.ts ExecutionDetail (protobuf). */
  detail: Buffer;
}

/** The log lines of a call that logged any (common/call-log.ts's JSON), beside its record. */
export interface ExecutionLogsTable {
  fn: number;
  id: Buffer;
  lines: string;
}

export type AsyncCallState = 'queued' | 'running' | 'succeeded' | 'failed';

/** A call that runs later (async-calls/): its request, where it is in the queue, its attempts and its answer. */
export interface AsyncCallsTable {
  /** A UUIDv7: the id the 202 gave (executionId). */
  id: string;
  function_id: string;
  trigger: Trigger;
  /** failed: after its last attempt, a dead letter. */
  state: AsyncCallState;
  method: string;
  path: string;
  query: string;
  /** JSON [name, value][] (the platform's credentials stripped, as for any call). */
  headers: string;
  body: Buffer;
  /** Attempts begun (a claim begins one). */
  attempts: number;
  /** When it may run (next): epoch ms. */
  due_at: number;
  /** The replica running it, until claimed_until (renewed while it runs; past it, another takes the call back). */
  claimed_by: string | null;
  claimed_until: number | null;
  /** JSON: async-calls/async-calls.view.ts Attempt[]. */
  history: string;
  /** JSON {statusCode, headers, error?} of the last attempt that finished. */
  answer: string | null;
  answer_body: Buffer | null;
  created_at: number;
  finished_at: number | null;
  /** A dead letter replayed: the id of the call that replays it. */
  replayed_as: string | null;
  /** The version it runs, chosen when it was queued through an alias (migration 0016); null: live's, when it runs. */
  version: number | null;
}

/** The first call made with an idempotency key, and its answer once it has one (invocations/idempotency.ts). */
export interface IdempotencyKeysTable {
  function_id: string;
  key: string;
  /** sha256 of the request (method, path, query, body): the same key with another request is refused. */
  request_hash: string;
  /** running: the first call has not answered yet (a repeat waits); done: `answer` is its answer. */
  state: 'running' | 'done';
  /** JSON: invocations/idempotency.ts StoredAnswer. */
  answer: string | null;
  answer_body: Buffer | null;
  created_at: number;
  expires_at: number;
}

/** The numbers that stand for functions and nodes in the records (executions/record-numbers.ts); never deleted. */
export interface RecordNumbersTable {
  kind: 'function' | 'node';
  name: string;
  no: number;
}

/**
 * The numbers of a function version's calls per minute, hour and day (size_ms), written with the records they
 * summarise: what every statistic reads.
 */
export interface ExecutionRollupsTable {
  function_id: string;
  size_ms: number;
  /** Epoch ms, a multiple of size_ms. */
  start: number;
  version: number;
  calls: number;
  success: number;
  error: number;
  timeout: number;
  oom: number;
  crashed: number;
  rejected: number;
  agent_lost: number;
  cold_starts: number;
  /** Attempts of async calls; of them, retries (an attempt after the first). */
  queued: number;
  retries: number;
  duration_sum_ms: number;
  cpu_sum_ms: number;
  memory_max_bytes: number;
  /** stats/histogram.ts, of duration_ms. */
  latency: Buffer;
}

/** Records made before execution ids were UUIDv7 of the call's start: where to find them by id. */
export interface LegacyExecutionIdsTable {
  /** The id callers know. */
  id: Buffer;
  fn: number;
  /** The record's key (its id re-made as a UUIDv7 of the start, migration 0008). */
  key: Buffer;
}

/** Functions deleted whose records the purger still has to remove (in batches, not in the delete's transaction). */
export interface RecordPurgesTable {
  function_id: string;
  deleted_at: number;
}

export interface ApiKeysTable {
  id: string;
  function_id: string;
  name: string;
  /** The first characters of the secret, to tell keys apart in a list. */
  prefix: string;
  /** SHA-256 (hex) of the secret: bearer keys are found by it. */
  secret_hash: string;
  /** The secret sealed with the encryption key: signed calls need it to check the HMAC. */
  secret_sealed: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  /** {perSecond, burst} (JSON); null: none. */
  rate_limit: Generated<string | null>;
}

export interface UsedSignaturesTable {
  signature_hash: string;
  expires_at: number;
}

export interface FunctionEnvTable {
  function_id: string;
  key: string;
  /** 0/1 */
  secret: number;
  /** Plain value, or the secret sealed (secrets/crypto.ts). */
  value: string;
  updated_at: number;
}

/** A function's schedule (async-calls/scheduler.ts): each tick queues an async call with trigger `schedule`. */
/** A named pointer to a function's version(s) (migration 0016); `live` has a row only once it is given a split. */
export interface FunctionAliasesTable {
  function_id: string;
  name: string;
  /** The version it serves (for `live`: unused, the function's active version is). */
  version: number;
  /** JSON {"<version>": percent, …} summing to 100; null: all calls to `version`. */
  weights: string | null;
  /** `header:<name>` or `cookie:<name>`: a caller sending it always gets the same version of a split. */
  sticky: string | null;
  /** Containers of its version(s) kept started across the fleet (null: none; live's is the function's min_instances). */
  min_instances: number | null;
  created_at: number;
  updated_at: number;
}
export type FunctionAliasRow = FunctionAliasesTable;

export type CanaryState = 'building' | 'running' | 'promoted' | 'rolled_back' | 'aborted' | 'failed';

/** A canary of a function's version (migration 0019, canaries/): its share, window, state and what ended it. */
export interface CanariesTable {
  id: string;
  function_id: string;
  version: number;
  /** The active version when it started: compared with, and what live returns to on a rollback. */
  baseline: number;
  percent: number;
  window_ms: number;
  state: CanaryState;
  reason: string | null;
  /** JSON canaries/canary-judge.ts Seen: the last comparison. */
  seen: string | null;
  created_by: string | null;
  created_at: number;
  started_at: number | null;
  ends_at: number | null;
  finished_at: number | null;
}
export type CanaryRow = CanariesTable;

export interface SchedulesTable {
  id: string;
  function_id: string;
  /** Five-field cron, a nickname (@daily), or `@every 30s`. */
  cron: string;
  /** IANA time zone the cron is read in. */
  timezone: string;
  /** JSON text, the body of its calls; null: none. */
  payload: string | null;
  /** skip: a tick whose previous call is still queued or running is not fired; queue: it is. */
  overlap: 'skip' | 'queue';
  /** Ticks missed while no replica ran: none fired (none), or the last of them (last). */
  catch_up: 'none' | 'last';
  paused: number;
  /** Where @every counts from: the last change of the timing (epoch ms). */
  anchor_at: number;
  next_run_at: number | null;
  last_tick_at: number | null;
  last_call_id: string | null;
  fired: number;
  skipped: number;
  created_at: number;
}

/** A POST of an async call's outcome to a destination, retried until the receiver takes it (async-calls/deliverer.ts). */
export interface DestinationDeliveriesTable {
  id: string;
  function_id: string;
  call_id: string;
  /** call.succeeded or call.failed */
  event: string;
  url: string;
  /** The JSON POSTed. */
  body: Buffer;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  due_at: number;
  last_error: string | null;
  created_at: number;
  finished_at: number | null;
}

export interface Database extends AlertTables {
  users: UsersTable;
  teams: TeamsTable;
  team_members: TeamMembersTable;
  team_invitations: TeamInvitationsTable;
  access_tokens: AccessTokensTable;
  token_families: TokenFamiliesTable;
  refresh_tokens: RefreshTokensTable;
  token_links: TokenLinksTable;
  access_denylist: AccessDenylistTable;
  audit_log: AuditLogTable;
  login_throttle: LoginThrottleTable;
  meta: MetaTable;
  nodes: NodesTable;
  functions: FunctionsTable;
  deployments: DeploymentsTable;
  executions: ExecutionsTable;
  execution_logs: ExecutionLogsTable;
  execution_rollups: ExecutionRollupsTable;
  record_purges: RecordPurgesTable;
  legacy_execution_ids: LegacyExecutionIdsTable;
  record_numbers: RecordNumbersTable;
  async_calls: AsyncCallsTable;
  schedules: SchedulesTable;
  function_aliases: FunctionAliasesTable;
  canaries: CanariesTable;
  destination_deliveries: DestinationDeliveriesTable;
  idempotency_keys: IdempotencyKeysTable;
  api_keys: ApiKeysTable;
  used_signatures: UsedSignaturesTable;
  function_env: FunctionEnvTable;
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
