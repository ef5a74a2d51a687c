// Periodic purge of rows that can no longer matter: expired denylist entries, expired refresh tokens, stale
// throttle rows, used signatures past their window, and executions older than the retention. With several
// replicas on one database, the one holding the `purge` lease runs it; another takes over when it stops.
import { keysRepo } from '../keys/keys.repo.js';
import { executionsRepo } from '../executions/executions.repo.js';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { tokenStore } from '../auth/token-store.repo.js';
import { loginThrottle } from '../auth/login-throttle.js';
import type { Logger } from '../../../common/logger.js';
import type { Leases } from './lease.js';

export class Purger {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
    private readonly everyMs = 10 * 60_000,
    /** Executions older than this go (with their logs). */
    private readonly executionRetentionMs = 30 * 86_400_000,
    private readonly leases?: Leases,
    /** Told after every run this replica made. */
    private readonly onRun?: () => void,
  ) {}

  /** Runs now and then every `everyMs`, while this replica holds the lease. */
  start(): void {
    const tick = () =>
      void (this.leases ? this.leases.acquire('purge', 2 * this.everyMs + 5000) : Promise.resolve(true)).then(
        (mine) => (mine ? this.runOnce() : undefined),
        (err) => this.log.warn({ err }, 'purge lease check failed; will retry'),
      );
    this.timer = setInterval(tick, this.everyMs);
    this.timer.unref();
    tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.leases?.release('purge').catch(() => {});
  }

  /** Deletes are idempotent, so replicas running this at once do no harm. */
  runOnce(now = Date.now()): Promise<void> {
    this.running ??= (async () => {
      try {
        const t = await tokenStore.purgeExpired(this.db, now);
        const throttle = await loginThrottle.purge(this.db, now);
        const signatures = await keysRepo.purgeSignatures(this.db, now);
        const executions = await executionsRepo.purgeBefore(this.db, now - this.executionRetentionMs);
        if (t.denylist + t.refresh + throttle + signatures + executions > 0) this.log.info({ ...t, throttle, signatures, executions }, 'purged expired rows');
        this.onRun?.();
      } catch (err) {
        this.log.warn({ err }, 'purge failed; will retry');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}
