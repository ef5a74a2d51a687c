// In-process cache in front of the shared access-token denylist, bounded in how stale it may be.
//
// How a revocation on another replica reaches this one within a few seconds:
// - at start the cache loads every unexpired denylist row;
// - rows are stamped with the database's clock when inserted, and every `pollMs` (1 s) the cache reads the
//   rows stamped since its previous poll began (read from the same clock), minus `overlapMs` (5 s) for the
//   gap between a row's insert and its transaction's commit — so replica clock skew plays no part;
// - `has()` answers from memory only while the last successful poll is younger than `maxStaleMs` (3 s);
//   past that (database slow or unreachable) it asks the database itself, and fails closed if it cannot.
// So a token revoked anywhere is refused everywhere within pollMs + one query, ≈ 1–2 s, and never later
// than maxStaleMs. Revocations made by this replica are added to memory at once.
import type { Executor } from '../db/schema.js';
import { tokenStore, type DenylistEntry } from './token-store.repo.js';
import { Unavailable } from '../errors.js';
import type { Logger } from '../../../common/logger.js';

export interface DenylistCacheOptions {
  pollMs?: number;
  overlapMs?: number;
  maxStaleMs?: number;
  now?: () => number;
}

export class DenylistCache {
  private readonly denied = new Map<string, number>();
  private lastSyncAt = 0;
  /** Database clock at the start of the last successful poll. */
  private lastPollDbTime = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private readonly pollMs: number;
  private readonly overlapMs: number;
  private readonly maxStaleMs: number;
  private readonly now: () => number;

  constructor(
    private readonly db: Executor,
    private readonly log: Logger,
    opts: DenylistCacheOptions = {},
  ) {
    this.pollMs = opts.pollMs ?? 1000;
    this.overlapMs = opts.overlapMs ?? 5000;
    this.maxStaleMs = opts.maxStaleMs ?? 3000;
    this.now = opts.now ?? Date.now;
  }

  async start(): Promise<void> {
    await this.sync(0);
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  /** Adds entries this replica just committed to the denylist. */
  add(entries: DenylistEntry[]): void {
    for (const e of entries) this.denied.set(e.jti, e.expiresAt);
  }

  async has(jti: string): Promise<boolean> {
    if (this.denied.has(jti)) return true;
    if (this.now() - this.lastSyncAt <= this.maxStaleMs) return false;
    try {
      return await tokenStore.isDenied(this.db, jti);
    } catch (err) {
      this.log.error({ err }, 'denylist lookup failed');
      throw Unavailable('database_unavailable', 'cannot check token revocation right now; try again');
    }
  }

  get size(): number {
    return this.denied.size;
  }

  private poll(): Promise<void> {
    this.polling ??= this.sync(Math.max(0, this.lastPollDbTime - this.overlapMs))
      .catch((err) => this.log.warn({ err }, 'denylist poll failed; checking the database per request until it recovers'))
      .finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async sync(since: number): Promise<void> {
    const started = this.now();
    const dbTime = await tokenStore.dbNow(this.db);
    const rows = await tokenStore.deniedSince(this.db, since, started);
    this.add(rows);
    for (const [jti, exp] of this.denied) if (exp <= started) this.denied.delete(jti);
    this.lastPollDbTime = dbTime;
    this.lastSyncAt = started;
  }
}
