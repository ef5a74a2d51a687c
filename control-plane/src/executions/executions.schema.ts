// The records of calls: one row per call, their logs, the functions' record numbers, the rollups, the ids of
// records from before the compact format, and the purges' progress.

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

export interface ExecutionTables {
  executions: ExecutionsTable;
  execution_logs: ExecutionLogsTable;
  execution_rollups: ExecutionRollupsTable;
  record_purges: RecordPurgesTable;
  legacy_execution_ids: LegacyExecutionIdsTable;
  record_numbers: RecordNumbersTable;
}
