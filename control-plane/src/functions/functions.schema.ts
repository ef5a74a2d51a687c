// A function's tables: the function, its versions (deployments), API keys and the signatures they used, its
// environment, aliases and canaries.
import type { Generated } from 'kysely';

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

export interface FunctionTables {
  functions: FunctionsTable;
  deployments: DeploymentsTable;
  api_keys: ApiKeysTable;
  used_signatures: UsedSignaturesTable;
  function_env: FunctionEnvTable;
  function_aliases: FunctionAliasesTable;
  canaries: CanariesTable;
}
