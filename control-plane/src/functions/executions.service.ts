// Reading the record of calls: a function's executions (newest first, by status and time) and one execution.
import type { Kysely } from 'kysely';
import type { Database, ExecutionStatus, FunctionRow, User } from '../db/schema.js';
import { Invalid, NotFound } from '../errors.js';
import { decodeCursor, page } from '../http/cursor.js';
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

export class ExecutionsService {
  constructor(private readonly db: Kysely<Database>) {}

  async list(fn: FunctionRow, q: { limit: number; cursor?: string | undefined; status?: ExecutionStatus | undefined; since?: string | undefined }): Promise<{ executions: ExecutionView[]; nextCursor: string | null }> {
    let query = this.db.selectFrom('executions').selectAll().where('function_id', '=', fn.id);
    if (q.status) query = query.where('status', '=', q.status);
    const since = parseSince(q.since);
    if (since !== undefined) query = query.where('started_at', '>=', since);
    if (q.cursor) {
      const after = decodeCursor(q.cursor);
      query = query.where((eb) => eb.or([eb('started_at', '<', after.createdAt), eb.and([eb('started_at', '=', after.createdAt), eb('id', '<', after.id)])]));
    }
    const rows = await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(q.limit + 1).execute();
    const p = page(
      rows.map((r) => ({ ...r, created_at: Number(r.started_at) })),
      q.limit,
      (r) => r.id,
      (r) => toExecutionView(r, false),
    );
    return { executions: p.items, nextCursor: p.nextCursor };
  }

  /** The log lines of the function's calls since `since`, oldest first, at most `limit` (the newest ones). */
  async recentLines(fn: FunctionRow, since: string, limit: number): Promise<{ executionId: string; atMs: number; level: string; stream: string; message: string }[]> {
    const from = parseSince(since) ?? Date.now() - 3_600_000;
    const rows = await this.db
      .selectFrom('executions')
      .select(['id', 'logs'])
      .where('function_id', '=', fn.id)
      .where('started_at', '>=', from)
      .orderBy('started_at', 'desc')
      .limit(Math.min(limit, 500))
      .execute();
    const lines = rows.flatMap((r) => (JSON.parse(r.logs) as { atMs: number; level: string; stream: string; message: string }[]).map((l) => ({ executionId: r.id, ...l })));
    return lines.sort((a, b) => a.atMs - b.atMs).slice(-limit);
  }

  /** One execution with its logs, if it is a call of one of the user's functions. */
  async get(user: User, id: string): Promise<ExecutionView> {
    const row = await this.db
      .selectFrom('executions')
      .innerJoin('functions', 'functions.id', 'executions.function_id')
      .selectAll('executions')
      .where('executions.id', '=', id)
      .where('functions.owner_id', '=', user.id)
      .executeTakeFirst();
    if (!row) throw NotFound('execution_not_found', `no execution ${id}`);
    return toExecutionView(row, true);
  }
}
