// Periodic purge of rows that can no longer matter: expired denylist entries, expired refresh tokens, stale
// throttle rows, used signatures past their window, audit entries past CPUB_AUDIT_RETENTION, execution records past their function's retention (and all
// of a deleted function's), and rollups past theirs. Records go in small batches, each its own short
// transaction, with a pause between them: calls' writes never wait behind the purge for more than one batch.
// With several replicas on one database, the one holding the `purge` lease runs it; another takes over when it stops.
import { alertsRepo } from '../alerts/alerts.repo.js';
import { auditRepo } from '../audit/audit.repo.js';
import { keysRepo } from '../keys/keys.repo.js';
import { executionsRepo } from '../executions/executions.repo.js';
import { asyncCallsRepo } from '../async-calls/async-calls.repo.js';
import { purgeIdempotencyKeys } from '../invocations/idempotency.js';
import { deliveriesRepo } from '../async-calls/destination-deliveries.repo.js';
import { functionsRepo } from '../functions/functions.repo.js';
import { statsRepo } from '../stats/stats.repo.js';
import { MINUTE, RECENT, RECENT_RETENTION, ROLLUP_RETENTION, SIZES } from '../stats/rollups.js';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { tokenStore } from '../auth/token-store.repo.js';
import { loginThrottle } from '../auth/login-throttle.js';
import type { Logger } from '../../../common/logger.js';
import { LeasedJob, type Leases } from './lease.js';
import { noRecordDays, type RecordDays } from '../db/record-days.js';

const DAY = 86_400_000;

export class Purger {
  private running: Promise<void> | undefined;
  private readonly job: LeasedJob;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
    everyMs = 10 * 60_000,
    /** Executions older than this go (with their logs), unless their function sets its own retention. */
    private readonly executionRetentionMs = 7 * 86_400_000,
    leases?: Leases,
    /** Told after every run this replica made. */
    private readonly onRun?: () => void,
    /** Records deleted per transaction. */
    private readonly batch = 500,
    /** The pause after each batch: calls' writes go in between, and SQLite's checkpoint thread keeps up with the log. */
    private readonly pauseMs = 5,
    /** PostgreSQL's daily partitions of the records: made a week ahead, dropped whole once every function is done with a day. */
    private readonly days: RecordDays = noRecordDays(),
    /** Audit entries older than this go. */
    private readonly auditRetentionMs = 400 * DAY,
  ) {
    this.job = new LeasedJob('purge', everyMs, () => this.runOnce(), log, leases);
  }

  /** Runs now and then every `everyMs`, while this replica holds the lease. */
  start(): void {
    this.job.start();
  }

  stop(): Promise<void> {
    return this.job.stop(this.running);
  }

  /**
   * The records past retention; `longestBatchMs`: the longest of its batches — the most a call's write could wait
   * behind the purge.
   */
  private async purgeRecords(now: number): Promise<{ executions: number; rollups: number; longestBatchMs: number }> {
    const { live, deleted } = await functionsRepo.retentions(this.db);
    // Minute rollups go once past their retention and folded into hours and days.
    const folded = await statsRepo.folded(this.db);
    const rollupsBefore = (size: number) => (size === MINUTE ? Math.min(folded, now - ROLLUP_RETENTION[size]!) : now - ROLLUP_RETENTION[size]!);
    await this.days.ensure(now - DAY, now + 8 * DAY);
    const longest = Math.max(this.executionRetentionMs, ...live.map((f) => f.retentionMs ?? 0));
    let longestBatchMs = 0;
    const timed = async <T>(work: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await work();
      } finally {
        longestBatchMs = Math.max(longestBatchMs, performance.now() - t0);
      }
    };
    // (A day is detached without locking calls' writes out: not one of the purge's transactions they wait for.)
    let executions = await this.days.dropBefore(now - longest);
    let rollups = 0;
    const drain = async (functionId: string, before: number) => {
      for (let n = this.batch; n >= this.batch; ) {
        n = await timed(() => executionsRepo.purgeBatch(this.db, functionId, before, this.batch));
        executions += n;
        await new Promise((r) => setTimeout(r, this.pauseMs));
      }
    };
    for (const f of live) {
      await drain(f.id, now - (f.retentionMs ?? this.executionRetentionMs));
      // Async calls, once finished, are kept as long as the records of their attempts.
      executions += await asyncCallsRepo.purgeFinished(this.db, f.id, now - (f.retentionMs ?? this.executionRetentionMs));
      for (const size of SIZES) rollups += await statsRepo.purge(this.db, f.id, size, rollupsBefore(size));
      rollups += await statsRepo.purge(this.db, f.id, RECENT, now - RECENT_RETENTION);
    }
    for (const id of deleted) {
      await drain(id, Number.MAX_SAFE_INTEGER);
      await functionsRepo.recordsPurged(this.db, id);
    }
    return { executions, rollups, longestBatchMs: executions ? Math.round(longestBatchMs * 10) / 10 : 0 };
  }

  /** Deletes are idempotent, so replicas running this at once do no harm. */
  runOnce(now = Date.now()): Promise<void> {
    this.running ??= (async () => {
      try {
        const t0 = performance.now();
        const t = await tokenStore.purgeExpired(this.db, now);
        const throttle = await loginThrottle.purge(this.db, now);
        const signatures = await keysRepo.purgeSignatures(this.db, now);
        const idempotencyKeys = await purgeIdempotencyKeys(this.db, now);
        // Deliveries finished (delivered, or failed for good) are kept as long as the server keeps records.
        const deliveries = await deliveriesRepo.purgeFinished(this.db, now - this.executionRetentionMs);
        // Alert history (resolved alerts, sent deliveries, ended silences) as long as the audit trail; security
        // events once no rule's window can reach them.
        const alertRows = await alertsRepo.purge(this.db, now - this.auditRetentionMs, now - DAY);
        const { executions, rollups, longestBatchMs } = await this.purgeRecords(now);
        let audit = 0;
        for (let n = this.batch; n >= this.batch; audit += n) n = await auditRepo.purge(this.db, now - this.auditRetentionMs, this.batch);
        if (t.denylist + t.refresh + throttle + signatures + idempotencyKeys + deliveries + alertRows + executions + rollups + audit > 0) this.log.info({ ...t, throttle, signatures, idempotencyKeys, deliveries, alertRows, executions, rollups, audit, longestBatchMs, ms: Math.round(performance.now() - t0) }, 'purged expired rows');
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
