// Periodic purge of rows that can no longer matter: expired denylist entries, expired refresh tokens, stale
// throttle rows, used signatures past their window, and executions older than the retention.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { tokenStore } from '../auth/token-store.repo.js';
import { loginThrottle } from '../auth/login-throttle.js';
import type { Logger } from '../logger.js';

export class Purger {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
    private readonly everyMs = 10 * 60_000,
    /** Executions older than this go (with their logs). */
    private readonly executionRetentionMs = 30 * 86_400_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Deletes are idempotent, so replicas running this at once do no harm. */
  runOnce(now = Date.now()): Promise<void> {
    this.running ??= (async () => {
      try {
        const t = await tokenStore.purgeExpired(this.db, now);
        const throttle = await loginThrottle.purge(this.db, now);
        const signatures = Number((await this.db.deleteFrom('used_signatures').where('expires_at', '<', now).executeTakeFirst()).numDeletedRows);
        const executions = Number((await this.db.deleteFrom('executions').where('started_at', '<', now - this.executionRetentionMs).executeTakeFirst()).numDeletedRows);
        if (t.denylist + t.refresh + throttle + signatures + executions > 0) this.log.info({ ...t, throttle, signatures, executions }, 'purged expired rows');
      } catch (err) {
        this.log.warn({ err }, 'purge failed; will retry');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}
