// A short-lived, per-replica cache of user rows for request authentication.
// Changes made on this replica invalidate it at once; changes made on another replica are seen within
// `ttlMs` (1 s) — no later than revocations reach this replica through the denylist cache.
import type { Executor, User } from '../db/schema.js';
import { usersRepo } from './users.repo.js';

export class UserCache {
  private readonly rows = new Map<string, { user: User | undefined; at: number }>();

  constructor(
    private readonly db: Executor,
    private readonly ttlMs = 1000,
    private readonly max = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(id: string): Promise<User | undefined> {
    const hit = this.rows.get(id);
    const now = this.now();
    if (hit && now - hit.at < this.ttlMs) return hit.user;
    const user = await usersRepo.findById(this.db, id);
    if (this.rows.size >= this.max) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(id, { user, at: now });
    return user;
  }

  /** Call after any change to the user's row (role, disabled, password, deletion). */
  invalidate(id: string): void {
    this.rows.delete(id);
  }
}
