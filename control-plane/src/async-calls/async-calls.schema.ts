// Calls that run later and what they need: the queue, idempotency keys, schedules and the deliveries of outcomes.
import type { Trigger } from '../../../common/api-types.js';

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

export interface AsyncCallTables {
  async_calls: AsyncCallsTable;
  idempotency_keys: IdempotencyKeysTable;
  schedules: SchedulesTable;
  destination_deliveries: DestinationDeliveriesTable;
}
