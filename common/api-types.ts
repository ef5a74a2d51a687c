// The JSON answers of the public HTTP API as plain types, so the CLI never imports server source and the
// server's views are checked against the same shapes (types only: nothing here exists at run time).

/** Who may call a function by its URL: the owner's token, an API key of the function, or anyone. */
export type FunctionAuth = 'private' | 'key' | 'public';
export type FunctionNetwork = 'none' | 'egress';

/** A function (`{ function }` from GET, POST, PATCH /api/functions… and POST …/rollback). */
export interface FunctionView {
  id: string;
  name: string;
  /** The handle of the team that owns it (a personal team's is its person's handle). */
  owner: string;
  /** The handle of its team (the same as owner). */
  team: string;
  /** /fn/<owner>/<name>, absolute when the server has a public URL. */
  url: string;
  memoryMb: number;
  cpus: number;
  timeoutMs: number;
  concurrency: number;
  maxInstances: number;
  auth: FunctionAuth;
  network: FunctionNetwork;
  /** How long its execution records are kept (`7d`, `12h`); null: the server's default. */
  executionRetention: string | null;
  /** Successful calls per second that get a record (errors and cold starts always do); null: the server's default. */
  executionSampling: number | null;
  /** Calls of its async queue running at once; null: concurrency × maxInstances. */
  asyncConcurrency: number | null;
  /** How long a call over its capacity waits for a slot before a 429 (ms; 0: at once). */
  queueTimeoutMs: number;
  /** A streamed answer's body at most, MiB (default 100). */
  responseLimitMb: number;
  /** A request body at its URL at most, MiB (default 100). */
  requestLimitMb: number;
  /** Containers of its live version(s) kept started across the fleet, idle or not (the warm floor); 0: none. */
  minInstances: number;
  /** How its async calls are retried (the whole policy, defaults filled in). */
  retry: RetryPolicyView;
  /** Where the outcomes of its async calls are POSTed (signed with its destination secret); null: nowhere. */
  destinations: { onSuccess: string | null; onFailure: string | null };
  /** Whether a viewer of its team may invoke it. */
  viewerInvoke: boolean;
  activeVersion: number | null;
  status: 'ready' | 'not_deployed';
  createdAt: string;
  updatedAt: string;
}

/** A function's retry policy for async calls. */
export interface RetryPolicyView {
  /** Attempts after the first (0–10). */
  maxAttempts: number;
  backoff: { baseMs: number; maxMs: number; jitter: boolean };
  /** What earns a retry. */
  on: ('error' | 'timeout' | 'oom' | 'crashed' | 'agent_lost' | 'no_agent' | 'http_5xx' | 'http_4xx')[];
}

/** GET /api/functions: a page, newest first. */
export interface FunctionList {
  functions: FunctionView[];
  nextCursor: string | null;
}

export type DeploymentStatus = 'building' | 'ready' | 'failed';

/** A version of a function (`{ deployment }` from POST …/deployments). */
export interface DeploymentView {
  /** <function id>@<version> */
  id: string;
  version: number;
  status: DeploymentStatus;
  digest: string;
  sizeBytes: number;
  /** The runtime its containerpub.json names ("node" unless it names another). */
  runtime: string;
  active: boolean;
  createdAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  error: string | null;
}

/** `{ deployment }` from GET …/deployments/:version: the version with its build log. */
export interface DeploymentDetail extends DeploymentView {
  buildLog: string;
}

/** GET …/deployments: a page, newest first. */
export interface DeploymentList {
  deployments: DeploymentView[];
  nextCursor: string | null;
}

export type { ExecutionStatus } from '../proto/outcomes.js';
import type { ExecutionStatus } from '../proto/outcomes.js';

/** One line a call wrote, as kept with its execution. */
export interface ExecutionLogEntry {
  atMs: number;
  stream: string;
  level: string;
  message: string;
}

/** How a call came: the API, the function URL, or a schedule (async-calls/schedules). */
export type Trigger = 'api' | 'url' | 'schedule';

/** An execution as GET …/executions lists it (without its log). */
export interface ExecutionListItem {
  id: string;
  functionId: string;
  version: number;
  nodeId: string | null;
  trigger: Trigger;
  status: ExecutionStatus;
  httpStatus: number;
  startedAt: string;
  durationMs: number;
  coldStart: boolean;
  /** createMs, startMs, readyMs, runMs, … and flags such as whether a stem was used. */
  timings: Record<string, number | boolean>;
  cpuMs: number;
  peakMemoryBytes: number;
  request: { method: string; path: string; bytes: number };
  error: string | null;
  logsTruncated: boolean;
  /** The async call this execution was an attempt of (GET /api/executions/{callId}); null for a sync call. */
  callId: string | null;
  /** The call's trace id (32 hex digits), or null. */
  traceId: string | null;
}

/** One execution (`{ execution }` from GET /api/executions/:id), with its log. */
export interface ExecutionView extends ExecutionListItem {
  logs?: ExecutionLogEntry[] | undefined;
}

/** GET …/executions: a page, newest first. */
export interface ExecutionList {
  executions: ExecutionListItem[];
  nextCursor: string | null;
}

/** A line of a function's log as GET …/logs answers it, and as each `log` event of …/logs?follow=true carries it. */
export interface LogLine extends ExecutionLogEntry {
  executionId: string;
}

/** GET …/logs: the recent lines, oldest first. */
export interface LogLines {
  lines: LogLine[];
}

/** An env var or secret of a function; a secret's value is masked. */
export interface EnvEntry {
  key: string;
  value: string;
  secret: boolean;
  updatedAt: string;
}

/** GET and PUT …/env. */
export interface EnvList {
  env: EnvEntry[];
}

/** An API key of a function, without its secret. */
export interface KeyView {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** Calls a second it may make, with a burst; null: no limit. */
  rateLimit: RateLimitView | null;
}

export interface RateLimitView {
  perSecond: number;
  burst: number;
}

/** POST …/keys and …/keys/:id/roll: the secret is in this answer only. */
export interface KeyWithSecret {
  key: KeyView;
  secret: string;
}

/** GET …/keys. */
export interface KeyList {
  keys: KeyView[];
}

/** GET …/stats?period=: the calls of a period. */
export interface StatsSummary {
  /** 1h, 24h, 7d or 30d. */
  period: string;
  invocations: number;
  successes: number;
  errors: number;
  /** errors / invocations, 0 to 1. */
  errorRate: number;
  latencyMs: { p50: number; p95: number; p99: number; avg: number };
  coldStarts: number;
  /** Calls that were attempts of async calls (counted in invocations too); of them, retries. */
  asyncAttempts: number;
  retries: number;
  avgCpuMs: number;
  maxMemoryBytes: number;
}

/** One hour or day of calls (UTC), empty ones included. */
export interface StatsBucket {
  start: string;
  invocations: number;
  errors: number;
  coldStarts: number;
  asyncAttempts: number;
  retries: number;
  avgDurationMs: number;
  latencyMs: { p50: number; p95: number; p99: number };
  avgCpuMs: number;
  maxMemoryBytes: number;
}

/** GET …/stats/hourly and …/stats/daily, oldest first. */
export interface StatsBuckets {
  buckets: StatsBucket[];
}

/** POST …/invoke: the function's own answer. */
export interface InvokeResult {
  executionId: string;
  statusCode: number;
  headers: Record<string, string>;
  /** The body as text, or base64 when it is not valid UTF-8 (see bodyEncoding). */
  body: string;
  bodyEncoding: 'utf8' | 'base64';
  durationMs: number;
  coldStart: boolean;
  /** True when sampling kept no execution record of the call (a success past the function's rate): it counts in the stats only. */
  sampled: boolean;
}

/** POST …/invoke and the function URL with `Prefer: respond-async`: the call is queued (202). */
export interface AsyncAccepted {
  executionId: string;
  /** Where the call's progress and answer are: GET /api/executions/{executionId}. */
  statusUrl: string;
}

/** One attempt of an async call. */
export interface AsyncAttempt {
  /** Its execution record; null when the attempt was interrupted (the replica running it stopped). */
  executionId: string | null;
  status: string;
  httpStatus: number;
  startedAt: string;
  durationMs: number;
  error: string | null;
}

/** GET /api/executions/{id} of an async call. */
export interface AsyncCallView {
  id: string;
  functionId: string;
  trigger: Trigger;
  /** failed: after its last attempt (a dead letter). */
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  createdAt: string;
  nextAttemptAt: string | null;
  finishedAt: string | null;
  attempts: AsyncAttempt[];
  answer: { statusCode: number; headers: Record<string, string>; body: string; bodyEncoding: 'utf8' | 'base64' } | null;
  /** Its outcome's deliveries to the function's destinations. */
  deliveries: DeliveryView[];
  /** For a call a schedule made: the schedule and the tick it fired for. */
  schedule: { id: string; scheduledAt: string } | null;
}

/** The POST of an async call's outcome to a destination. */
export interface DeliveryView {
  id: string;
  event: 'call.succeeded' | 'call.failed';
  url: string;
  /** pending: not yet taken by the receiver (retried with backoff); failed: after its last attempt. */
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastError: string | null;
}

/** GET …/dead-letters: an async call that failed after its last attempt. */
export interface DeadLetterView {
  /** The call's id (GET /api/executions/{id} shows it whole). */
  id: string;
  /** The last attempt's execution record (its logs); null when the attempt was interrupted. */
  executionId: string | null;
  functionId: string;
  trigger: Trigger;
  request: { method: string; path: string; bytes: number };
  attempts: number;
  lastStatus: string;
  lastError: string | null;
  createdAt: string;
  failedAt: string;
}

/** GET …/dead-letters: a page, the newest first. */
export interface DeadLetterList {
  deadLetters: DeadLetterView[];
  nextCursor: string | null;
}

/** A function's alias (GET …/aliases): a name for a version, or a weighted split between versions. */
export interface AliasView {
  name: string;
  /** The version it serves (live: the active version; null before the first deploy). */
  version: number | null;
  /** {"<version>": percent} summing to 100: calls are split between those versions; null: all to `version`. */
  weights: Record<string, number> | null;
  /** `header:<name>` or `cookie:<name>`: a caller that sends it gets the same version of a split every time. */
  sticky: string | null;
  /** Containers of its version(s) kept started across the fleet (its warm floor; live's is the function's minInstances). */
  minInstances: number;
  createdAt: string;
  updatedAt: string;
}

/** A function's schedule (GET …/schedules): each tick queues an async call with trigger `schedule`. */
export interface ScheduleView {
  id: string;
  functionId: string;
  /** Five-field cron, a nickname (@hourly, @daily, …) or `@every 30s`. */
  cron: string;
  /** The IANA time zone the cron is read in. */
  timezone: string;
  /** The JSON body of its calls (null: an empty body). */
  payload: unknown;
  /** skip: a tick whose previous call is still queued or running is not fired; queue: it is queued anyway. */
  overlap: 'skip' | 'queue';
  /** Ticks missed while no control plane ran: none fires none; last fires the latest. */
  catchUp: 'none' | 'last';
  paused: boolean;
  /** The next tick; null when paused or never again. */
  nextRunAt: string | null;
  /** The next few ticks (for a person checking the expression). */
  nextRuns: string[];
  /** The last tick taken (fired or skipped) and the call the last fired one queued. */
  lastRunAt: string | null;
  lastCallId: string | null;
  fired: number;
  skipped: number;
  createdAt: string;
}

/** POST /api/auth/login and /api/auth/refresh. */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  /** Seconds the access token lives. */
  expiresIn: number;
}

/** A user (GET /api/users/me, `{ user }` from POST /api/auth/register); never the password hash. */
export interface UserView {
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'user';
  /** Function URLs are /fn/<handle>/<function name>. */
  handle: string;
  createdAt: string;
  disabled: boolean;
}

export type NodeStatus = 'up' | 'suspect' | 'down' | 'draining' | 'drained';

/** Warm containers of one function version on a node. */
export interface NodeWarm {
  functionId: string;
  version: number;
  idle: number;
  busy: number;
  /** Containers the node keeps for the version's warm floor (minInstances), idle or not. */
  floor: number;
  /** How long its idle containers stay there (after a prewarm, or the last call), and when one is started again after a call (0: none). */
  keepAliveMs: number;
  prewarmMs: number;
  /** The keep-alive is learned from the version's calls (else the node's fixed idle timeout). */
  learned: boolean;
}

/** A worker host (GET /api/nodes/:id, POST /api/nodes/:id/drain and …/undrain). */
export interface NodeView {
  id: string;
  name: string;
  advertise: string;
  status: NodeStatus;
  epoch: string | null;
  lastHeartbeatAt: string | null;
  capacity: { memoryBytes: number; cpus: number; maxContainers: number };
  /** memoryBytes: what the containers use now; memoryReservedBytes: their limits, what placement packs by. */
  usage: { containers: number; inFlight: number; memoryBytes: number; memoryReservedBytes: number };
  warm: NodeWarm[];
  limitsEnforced: boolean;
  limitNotes: string;
  rootless: boolean;
  /** The control plane dials this agent over TLS. */
  tls: boolean;
  agentVersion: string;
  /** The runtimes it can build functions on (node, python, and the operator's). */
  runtimes: string[];
}

/** GET /api/nodes (admins). */
export interface NodeList {
  nodes: NodeView[];
  /** Set when every agent stopped answering at once. */
  alert: string | null;
}

/** Every error answer: RFC 9457 application/problem+json with a stable `code`. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  instance: string;
  requestId?: string | undefined;
  /** Some problems carry more (field, retryAfter, deployment, buildLogTail, executionId, …). */
  [extra: string]: unknown;
}

/** A version's containers across the fleet (GET /api/functions/:ref/scaling). */
export interface ScalingVersionView {
  version: number;
  /** Its share of live's calls, percent (100 without a split; 0: not live, containers left from before). */
  weight: number;
  /** Containers idle and busy, summed over nodes (their last heartbeats). */
  idle: number;
  busy: number;
  /** Containers its warm floor asks for, and those nodes hold for it. */
  floorWanted: number;
  floorHeld: number;
  /** Per node: its containers of the version, how many it holds for the floor, and its keep-alive there. */
  nodes: { node: string; name: string; idle: number; busy: number; floor: number; keepAliveMs: number; prewarmMs: number; learned: boolean }[];
}

/** How a function scales now: calls, its queue, its warm containers, floor and cap. */
export interface ScalingView {
  /** Calls running now, and waiting for a slot (on this replica: each replica has its own). */
  inFlight: number;
  waiting: number;
  /** Async calls queued in the database (all replicas). */
  queued: number;
  /** Calls at once before a call waits: concurrency × maxInstances. */
  capacity: number;
  minInstances: number;
  maxInstances: number;
  versions: ScalingVersionView[];
  /** Why the floor is not met, as the replica keeping floors last saw it; null: met (or not known here). */
  floorShortfall: string | null;
}

export type CanaryState = 'building' | 'running' | 'promoted' | 'rolled_back' | 'aborted' | 'failed';

/** What a canary's verdict was made from: each version's calls since it started (the rollups). */
export interface CanaryNumbers {
  version: number;
  calls: number;
  /** Calls that failed in the function (error, timeout, OOM, crash, agent lost). */
  errors: number;
  p95Ms: number | null;
}

/** A canary of a function's version (GET /api/functions/:ref/canaries): its share, window, and how it went. */
export interface CanaryView {
  id: string;
  version: number;
  /** The version it is compared with, and what live returns to on a rollback. */
  baseline: number;
  percent: number;
  windowMs: number;
  state: CanaryState;
  /** Why it ended as it did (or why it is still building); null while it runs. */
  reason: string | null;
  /** The last comparison; null before it had calls. */
  seen: { canary: CanaryNumbers; baseline: CanaryNumbers } | null;
  createdAt: string;
  startedAt: string | null;
  endsAt: string | null;
  finishedAt: string | null;
}

export type TeamRole = 'owner' | 'admin' | 'developer' | 'viewer';

/** A team as one of its members sees it. */
export interface TeamView {
  id: string;
  /** Function URLs are /fn/<handle>/<name>; a personal team's is its person's handle. */
  handle: string;
  name: string;
  personal: boolean;
  /** The caller's role in it. */
  role: TeamRole;
  createdAt: string;
}

export interface TeamMemberView {
  userId: string;
  email: string;
  name: string;
  role: TeamRole;
  since: string;
}

export interface InvitationView {
  id: string;
  team: string;
  email: string;
  role: TeamRole;
  createdAt: string;
  expiresAt: string;
  acceptedAt: string | null;
}

/** One change in the audit trail. */
export interface AuditEntryView {
  id: string;
  at: string;
  event: string;
  /** Who did it (an email, or `service token of <team>`), null for the server itself or a failed login. */
  actor: string | null;
  /** The team's handle, null for an account event. */
  team: string | null;
  /** What it was done to, as kind:name. */
  target: string | null;
  before: unknown;
  after: unknown;
  detail: Record<string, unknown>;
  clientIp: string | null;
}

/** A personal access token or a team service token (never its secret). */
export interface AccessTokenView {
  id: string;
  kind: 'personal' | 'service';
  name: string;
  /** Its first characters, to tell it apart. */
  prefix: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** Calls a second it may make, with a burst; null: no limit. */
  rateLimit: RateLimitView | null;
}

export interface AccessTokenWithSecret {
  token: AccessTokenView;
  /** Shown this once. */
  secret: string;
}

/** A team's quotas and its use of each (limit null: none). */
export interface TeamUsageView {
  team: string;
  quotas: { name: string; limit: number | null; used: number }[];
}

/** An alert (GET /api/alerts): one rule's finding about one subject, while open and after (its history). */
export interface AlertView {
  id: string;
  ruleId: string;
  rule: string;
  kind: string;
  severity: string;
  /** pending: seen, not held long enough to fire yet; firing; resolved. */
  state: 'pending' | 'firing' | 'resolved';
  summary: string;
  /** `team/name` of the function it is about. */
  function: string | null;
  labels: Record<string, string>;
  value: number;
  threshold: number;
  startedAt: string;
  firedAt: string | null;
  resolvedAt: string | null;
  /** A silence of the caller's holds its deliveries back. */
  silenced: boolean;
}

/** An alert rule (GET /api/alerts/rules): a built-in one (fleet-wide, changed by administrators) or a team's. */
export interface AlertRuleView {
  id: string;
  name: string;
  kind: string;
  /** Fleet-wide (every function, nodes, security): administrators change it. */
  fleet: boolean;
  builtin: boolean;
  /** `team/name` of the one function it covers; null: every function it can see. */
  function: string | null;
  enabled: boolean;
  /** Every parameter in force (the kind's defaults where the rule says nothing). */
  params: Record<string, unknown>;
}

export interface AlertChannelView {
  id: string;
  name: string;
  type: 'webhook' | 'slack' | 'alertmanager' | 'email';
  /** The URL (its query string hidden) or the email addresses. */
  target: string;
  fleet: boolean;
  createdAt: string;
  /** The newest delivery to it, if any. */
  lastDelivery: { state: 'pending' | 'delivered' | 'failed'; attempts: number; error: string | null; at: string } | null;
}

export interface AlertSilenceView {
  id: string;
  fleet: boolean;
  ruleId: string | null;
  function: string | null;
  kind: string | null;
  subject: string | null;
  comment: string;
  createdBy: string | null;
  createdAt: string;
  endsAt: string;
}
