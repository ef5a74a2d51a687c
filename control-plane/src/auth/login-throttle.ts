// Login throttling per account and per client address, kept in the database so every replica enforces it.
//
// Every attempt is counted *before* the password is checked, in one atomic upsert, so parallel guesses cannot
// slip past the limit while earlier ones are still being verified: an attempt in flight counts as a failure
// until it succeeds. A success clears the account's count and gives the address its attempt back.
import { sql } from 'kysely';
import type { Executor } from '../db/schema.js';

export interface ThrottlePolicy {
  /** Attempts allowed within `windowMs` before the key is blocked. */
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

function blockFor(policy: ThrottlePolicy, failures: number): number {
  const over = Math.max(0, failures - policy.maxFailures);
  return Math.min(policy.baseBlockMs * 2 ** Math.min(over, 20), policy.maxBlockMs);
}

export const loginThrottle = {
  /**
   * Counts one attempt for `key`. Returns 0 when it may proceed, or the milliseconds until the key is free.
   * A key over its limit is blocked here, before any password is checked.
   */
  async attempt(db: Executor, key: string, policy: ThrottlePolicy, now: number): Promise<number> {
    const windowStart = now - policy.windowMs;
    const row = await db
      .insertInto('login_throttle')
      .values({ key, failures: 1, window_start: now, blocked_until: 0 })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          failures: sql<number>`case when login_throttle.window_start < ${windowStart} and login_throttle.blocked_until < ${now} then 1 else login_throttle.failures + 1 end`,
          window_start: sql<number>`case when login_throttle.window_start < ${windowStart} and login_throttle.blocked_until < ${now} then ${now} else login_throttle.window_start end`,
        }),
      )
      .returning(['failures', 'blocked_until'])
      .executeTakeFirstOrThrow();
    if (row.blocked_until > now) return row.blocked_until - now;
    if (row.failures <= policy.maxFailures) return 0;
    const until = now + blockFor(policy, row.failures - 1);
    await db.updateTable('login_throttle').set({ blocked_until: until }).where('key', '=', key).execute();
    return until - now;
  },

  /** A failed attempt: once the key has used up its allowance, it is blocked, for longer each time. */
  async failed(db: Executor, key: string, policy: ThrottlePolicy, now: number): Promise<void> {
    const row = await db.selectFrom('login_throttle').select('failures').where('key', '=', key).executeTakeFirst();
    if (row && row.failures >= policy.maxFailures) {
      await db.updateTable('login_throttle').set({ blocked_until: now + blockFor(policy, row.failures) }).where('key', '=', key).execute();
    }
  },

  /** A successful attempt: the account starts afresh; the address gets this attempt back. */
  async succeeded(db: Executor, accountKey: string, addressKey: string | undefined): Promise<void> {
    await db.deleteFrom('login_throttle').where('key', '=', accountKey).execute();
    if (addressKey) {
      await db
        .updateTable('login_throttle')
        .set({ failures: sql<number>`case when failures > 0 then failures - 1 else 0 end` })
        .where('key', '=', addressKey)
        .execute();
    }
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
