// Reading the record of calls: a function's executions (newest first, by status and time), one execution, and
// the recent log lines of a function's calls.
import type { Kysely } from 'kysely';
import type { Database, ExecutionStatus, User } from '../db/schema.js';
import { Invalid, NotFound } from '../errors.js';
import { decodeCursor, page } from '../http/cursor.js';
import { decodeCallLog, type CallLogLine } from '../../../common/call-log.js';
import type { FunctionLookup } from '../functions/functions.service.js';
import { executionsRepo } from './executions.repo.js';
import { uuidText } from './records.js';
import { asyncCallsRepo } from '../async-calls/async-calls.repo.js';
import { toAsyncCallView } from '../async-calls/async-calls.view.js';
import { deliveriesRepo } from '../async-calls/destination-deliveries.repo.js';
import type { AsyncCallView } from '../../../common/api-types.js';
import { toExecutionView, type ExecutionView } from './executions.view.js';

/** `since` as an ISO time or a duration back from now (`30s`, `10m`, `24h`, `7d`). */
export function parseSince(since: string | undefined, now = Date.now()): number | undefined {
  if (!since) return undefined;
  const m = /^(\d+)(s|m|h|d)$/.exec(since);
  // Clamped at the epoch: a duration longer than all time (99999999999d) means "everything", not a bigint overflow.
  if (m) return Math.max(0, now - Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd']);
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw Invalid('invalid_since', 'since must be an ISO time or a duration like 10m, 24h, 7d', { field: 'since' });
  return t;
}

export interface ExecutionListQuery {
  limit: number;
  cursor?: string | undefined;
  status?: ExecutionStatus | undefined;
  since?: string | undefined;
}

export type LogLineOfCall = CallLogLine & { executionId: string };

export class ExecutionsService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly functions: FunctionLookup,
  ) {}

  async list(user: User, ref: string, q: ExecutionListQuery): Promise<{ executions: ExecutionView[]; nextCursor: string | null }> {
    const fn = await this.functions.find(user, ref, 'logs:read');
    const after = q.cursor ? decodeCursor(q.cursor) : undefined;
    const rows = await executionsRepo.list(this.db, { functionId: fn.id, limit: q.limit + 1, status: q.status, since: parseSince(q.since), before: after?.id });
    const p = page(
      rows.map((r) => ({ record: r, created_at: r.startedAt })),
      q.limit,
      (r) => uuidText(r.record.key),
      (r) => toExecutionView(r.record),
    );
    return { executions: p.items, nextCursor: p.nextCursor };
  }

  /** The log lines of the function's calls since `since`, oldest first, at most `limit` (the newest ones). */
  async recentLines(user: User, ref: string, since: string, limit: number): Promise<{ functionId: string; lines: LogLineOfCall[] }> {
    const fn = await this.functions.find(user, ref, 'logs:read');
    const from = parseSince(since) ?? Date.now() - 3_600_000;
    const rows = await executionsRepo.recentLogs(this.db, fn.id, from, Math.min(limit, 500));
    const lines = rows.flatMap((r) => decodeCallLog(r.logs).map((l) => ({ executionId: r.id, ...l })));
    return { functionId: fn.id, lines: lines.sort((a, b) => a.atMs - b.atMs).slice(-limit) };
  }

  /**
   * One execution with its logs, if it is a call of one of the user's functions; or, for the id a queued call was
   * given (Prefer: respond-async), that call: where it is, its attempts and its answer.
   */
  async get(user: User, id: string): Promise<{ execution: ExecutionView } | { call: AsyncCallView }> {
    const row = await executionsRepo.forMember(this.db, user.id, id);
    if (row) {
      await this.functions.find(user, row.functionId, 'logs:read');
      return { execution: toExecutionView(row, row.logs ? await executionsRepo.lines(this.db, row) : null) };
    }
    const call = await asyncCallsRepo.forMember(this.db, user.id, id);
    if (call) {
      await this.functions.find(user, call.function_id, 'logs:read');
      return { call: toAsyncCallView(call, await deliveriesRepo.forCall(this.db, call.id)) };
    }
    throw NotFound('execution_not_found', `no execution ${id}`);
  }
}
