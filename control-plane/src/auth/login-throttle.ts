// Login throttling per account and per client address, kept in the database so every replica enforces it.
import type { Executor } from '../db/schema.js';

export interface ThrottlePolicy {
  /** Failures allowed within `windowMs` before the key is blocked. */
  maxFailures: number;
  windowMs: number;
  /** First block; doubles with each further failure, up to maxBlockMs. */
  baseBlockMs: number;
  maxBlockMs: number;
}

export const ACCOUNT_POLICY: ThrottlePolicy = { maxFailures: 5, windowMs: 15 * 60_000, baseBlockMs: 30_000, maxBlockMs: 15 * 60_000 };
export const ADDRESS_POLICY: ThrottlePolicy = { maxFailures: 30, windowMs: 15 * 60_000, baseBlockMs: 60_000, maxBlockMs: 30 * 60_000 };

export const throttleKeys = {
  account: (email: string) => `acct:${email}`,
  address: (ip: string) => `ip:${ip}`,
};

export const loginThrottle = {
  /** Milliseconds until the most-blocked of `keys` is free again; 0 when none is blocked. */
  async blockedFor(db: Executor, keys: string[], now: number): Promise<number> {
    const rows = await db.selectFrom('login_throttle').select('blocked_until').where('key', 'in', keys).execute();
    return Math.max(0, ...rows.map((r) => r.blocked_until - now));
  },

  async recordFailure(db: Executor, key: string, policy: ThrottlePolicy, now: number): Promise<void> {
    const row = await db.selectFrom('login_throttle').selectAll().where('key', '=', key).executeTakeFirst();
    const fresh = !row || now - row.window_start > policy.windowMs;
    const failures = fresh ? 1 : row.failures + 1;
    const windowStart = fresh ? now : row.window_start;
    const over = failures - policy.maxFailures;
    const blockedUntil = over >= 0 ? now + Math.min(policy.baseBlockMs * 2 ** Math.min(over, 20), policy.maxBlockMs) : 0;
    await db
      .insertInto('login_throttle')
      .values({ key, failures, window_start: windowStart, blocked_until: blockedUntil })
      .onConflict((oc) => oc.column('key').doUpdateSet({ failures, window_start: windowStart, blocked_until: blockedUntil }))
      .execute();
  },

  async reset(db: Executor, key: string): Promise<void> {
    await db.deleteFrom('login_throttle').where('key', '=', key).execute();
  },

  async purge(db: Executor, now: number, olderThanMs = 60 * 60_000): Promise<number> {
    const r = await db
      .deleteFrom('login_throttle')
      .where('window_start', '<', now - olderThanMs)
      .where('blocked_until', '<', now)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  },
};
