// Idempotency keys: a call made with `Idempotency-Key` runs once per function and key for 24 hours. The first
// call takes the key (a row, inserted or not: the database decides between replicas); a repeat gets the first
// call's answer and execution id instead of a second run, and a repeat that comes while the first still runs waits
// for it. The same key with another request (method, path, query, body; sync or async) is a 422. A first call
// refused before it ran (too many calls, no ready version) gives the key back, so a retry can run.
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, FunctionRow } from '../db/schema.js';
import { AppError, Invalid } from '../errors.js';
import type { RecordedCall } from '../executions/call-recorder.js';

export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** How long a first call may hold its key without answering (past its own timeout) before a repeat takes over. */
const ABANDONED_AFTER_MS = 60_000;
const POLL_MS = 25;

/** A key as a header carries it: 1–255 visible ASCII characters. */
export function checkKey(key: string): string {
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) throw Invalid('invalid_idempotency_key', 'Idempotency-Key is 1–255 visible ASCII characters', { field: 'Idempotency-Key' });
  return key;
}

export function requestHash(kind: 'sync' | 'async', r: { method: string; path: string; query: string; body: Buffer }): string {
  return createHash('sha256').update(`${kind}\0${r.method}\0${r.path}\0${r.query}\0`).update(r.body).digest('hex');
}

/** A sync call's answer as kept (the body apart). */
interface StoredCall extends Omit<RecordedCall, 'body' | 'error'> {
  error?: { kind: AppError['kind']; code: string; detail: string; extra: Record<string, unknown> };
}

export class Idempotency {
  constructor(private readonly db: Kysely<Database>) {}

  /** A sync call: `run` once per key; a repeat gets its answer (`replayed`). */
  async call(fn: FunctionRow, key: string, hash: string, run: () => Promise<RecordedCall>): Promise<RecordedCall & { replayed?: boolean }> {
    return this.once(fn, key, hash, fn.timeout_ms, run, encodeCall, decodeCall);
  }

  /** An async call: queued once per key; a repeat gets the same call's id. */
  async queued(fn: FunctionRow, key: string, hash: string, enqueue: () => Promise<{ executionId: string }>): Promise<{ executionId: string; replayed?: boolean }> {
    return this.once(
      fn,
      key,
      hash,
      0,
      enqueue,
      (r) => ({ answer: JSON.stringify(r), body: null }),
      (answer) => JSON.parse(answer) as { executionId: string },
    );
  }

  private async once<T>(fn: FunctionRow, key: string, hash: string, runMs: number, run: () => Promise<T>, encode: (t: T) => { answer: string; body: Buffer | null }, decode: (answer: string, body: Buffer | null) => T): Promise<T & { replayed?: boolean }> {
    const holdMs = runMs + ABANDONED_AFTER_MS;
    for (const give = Date.now() + holdMs + 5000; ; ) {
      const now = Date.now();
      const taken = await this.db
        .insertInto('idempotency_keys')
        .values({ function_id: fn.id, key, request_hash: hash, state: 'running', answer: null, answer_body: null, created_at: now, expires_at: now + IDEMPOTENCY_TTL_MS })
        .onConflict((oc) => oc.columns(['function_id', 'key']).doNothing())
        .executeTakeFirst();
      let mine = Number(taken.numInsertedOrUpdatedRows ?? 0) === 1;
      if (!mine) {
        const row = await this.db.selectFrom('idempotency_keys').selectAll().where('function_id', '=', fn.id).where('key', '=', key).executeTakeFirst();
        if (!row) continue; // given back meanwhile
        if (Number(row.expires_at) <= now) {
          await this.db.deleteFrom('idempotency_keys').where('function_id', '=', fn.id).where('key', '=', key).where('expires_at', '<=', now).execute();
          continue;
        }
        if (row.request_hash !== hash) throw new AppError('invalid', 'idempotency_key_reused', `Idempotency-Key ${key} was used for another request to ${fn.name} (in the last 24 hours)`, { httpStatus: 422 });
        if (row.state === 'done') return { ...decode(row.answer!, row.answer_body), replayed: true };
        // The first call is running (here or on another replica): wait for its answer, or take the key over if
        // its replica stopped before it answered.
        if (now - Number(row.created_at) > holdMs) {
          const r = await this.db.updateTable('idempotency_keys').set({ created_at: now }).where('function_id', '=', fn.id).where('key', '=', key).where('state', '=', 'running').where('created_at', '=', row.created_at).executeTakeFirst();
          mine = Number(r.numUpdatedRows) === 1;
        }
        if (!mine) {
          if (now > give) throw new AppError('unavailable', 'idempotency_key_busy', `the first call with Idempotency-Key ${key} has not answered yet`, { httpStatus: 409, retryAfter: 1 });
          await new Promise((r) => setTimeout(r, POLL_MS));
          continue;
        }
      }
      let out: T;
      try {
        out = await run();
      } catch (err) {
        // Refused before it ran: the key is given back (a retry may run).
        await this.db.deleteFrom('idempotency_keys').where('function_id', '=', fn.id).where('key', '=', key).where('state', '=', 'running').execute();
        throw err;
      }
      const { answer, body } = encode(out);
      await this.db.updateTable('idempotency_keys').set({ state: 'done', answer, answer_body: body }).where('function_id', '=', fn.id).where('key', '=', key).execute();
      return out as T & { replayed?: boolean };
    }
  }

}

/** Keys past their 24 hours (the purge's): the number deleted. */
export async function purgeIdempotencyKeys(db: Kysely<Database>, now: number): Promise<number> {
  const r = await db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}

function encodeCall(c: RecordedCall): { answer: string; body: Buffer } {
  const { body, error, ...rest } = c;
  const stored: StoredCall = { ...rest, ...(error ? { error: { kind: error.kind, code: error.code, detail: error.detail, extra: error.extra } } : {}) };
  return { answer: JSON.stringify(stored), body };
}

function decodeCall(answer: string, body: Buffer | null): RecordedCall {
  const { error, ...rest } = JSON.parse(answer) as StoredCall;
  return { ...rest, body: body ?? Buffer.alloc(0), ...(error ? { error: new AppError(error.kind, error.code, error.detail, error.extra) } : {}) };
}
