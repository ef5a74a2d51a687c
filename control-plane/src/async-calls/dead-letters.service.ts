// A function's dead letters: its async calls that failed after their last attempt. Listed with why they failed,
// replayed (the same request queued again as a new call; the dead letter leaves the list and names that call),
// or deleted.
import type { Kysely } from 'kysely';
import type { Database, User } from '../db/schema.js';
import { Conflict, NotFound } from '../errors.js';
import { decodeCursor, page } from '../http/cursor.js';
import type { FunctionLookup } from '../functions/functions.service.js';
import { statusUrlOf } from '../invocations/prefer.js';
import type * as api from '../../../common/api-types.js';
import { asyncCallsRepo, type AsyncCallRow } from './async-calls.repo.js';
import type { AsyncQueue } from './async-queue.js';
import type { Attempt } from './async-calls.view.js';

export function toDeadLetterView(r: AsyncCallRow): api.DeadLetterView {
  const attempts = JSON.parse(r.history) as Attempt[];
  const last = attempts[attempts.length - 1];
  return {
    id: r.id,
    executionId: last?.executionId ?? null,
    functionId: r.function_id,
    trigger: r.trigger,
    request: { method: r.method, path: r.path, bytes: r.body.length },
    attempts: attempts.length,
    lastStatus: last?.status ?? 'interrupted',
    lastError: last?.error ?? null,
    createdAt: new Date(Number(r.created_at)).toISOString(),
    failedAt: new Date(Number(r.finished_at)).toISOString(),
  };
}

export class DeadLettersService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly functions: FunctionLookup,
    private readonly queue: AsyncQueue,
  ) {}

  async list(user: User, ref: string, limit: number, cursor?: string): Promise<{ deadLetters: api.DeadLetterView[]; nextCursor: string | null }> {
    const fn = await this.functions.find(user, ref, 'functions:read');
    const after = cursor ? decodeCursor(cursor) : undefined;
    const rows = await asyncCallsRepo.deadLetters(this.db, fn.id, limit + 1, after && { at: after.createdAt, id: after.id });
    const p = page(
      rows.map((r) => ({ row: r, created_at: Number(r.finished_at) })),
      limit,
      (r) => r.row.id,
      (r) => toDeadLetterView(r.row),
    );
    return { deadLetters: p.items, nextCursor: p.nextCursor };
  }

  /** Queues the dead letter's request again, as a new call: its id and status URL. */
  async replay(user: User, ref: string, id: string): Promise<api.AsyncAccepted> {
    const fn = await this.functions.find(user, ref, 'functions:deploy');
    const dead = await asyncCallsRepo.byId(this.db, id);
    if (!dead || dead.function_id !== fn.id || dead.state !== 'failed') throw NotFound('dead_letter_not_found', `no dead letter ${id} of ${fn.name}`);
    if (dead.replayed_as) throw Conflict('already_replayed', `dead letter ${id} was replayed as ${dead.replayed_as}`);
    // Marked and queued in one transaction: of two replays at once, one queues a call, the other is a 409.
    const executionId = await this.queue.enqueue(fn, { method: dead.method, path: dead.path, query: dead.query, headers: JSON.parse(dead.headers) as [string, string][], body: dead.body }, dead.trigger, id);
    return { executionId, statusUrl: statusUrlOf(executionId) };
  }

  /** Deletes one dead letter, or all of the function's (`id` undefined): the number deleted. */
  async remove(user: User, ref: string, id?: string): Promise<number> {
    const fn = await this.functions.find(user, ref, 'functions:deploy');
    const n = await asyncCallsRepo.deleteDead(this.db, fn.id, id);
    if (id !== undefined && !n) throw NotFound('dead_letter_not_found', `no dead letter ${id} of ${fn.name}`);
    return n;
  }
}
