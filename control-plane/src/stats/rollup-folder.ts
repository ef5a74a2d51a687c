// Folds minute rollups into hours and days once an hour is settled (SETTLE_MS after it ends: no call of it is still
// to be recorded). A watermark in `meta` says up to which hour the folding is done; readers take hour and day rows
// before it and minute rows after (rollups.ts cover). Each hour is one transaction that moves the watermark with a
// compare-and-set, so two replicas can never fold an hour twice; one replica at a time holds the job's lease.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import { LeasedJob, type Leases } from '../maintenance/lease.js';
import { DAY, foldRows, HOUR, SETTLE_MS } from './rollups.js';
import { statsRepo } from './stats.repo.js';

export class RollupFolder {
  private running: Promise<void> | undefined;
  private readonly job: LeasedJob;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
    leases?: Leases,
    everyMs = 60_000,
  ) {
    this.job = new LeasedJob('rollup-fold', everyMs, () => this.runOnce(), log, leases);
  }

  start(): void {
    this.job.start();
  }

  stop(): Promise<void> {
    return this.job.stop(this.running);
  }

  /** Folds every settled hour not folded yet. */
  runOnce(now = Date.now()): Promise<void> {
    const run = (this.running ??= this.foldUntil(now - SETTLE_MS - ((now - SETTLE_MS) % HOUR)).then(
      () => {},
      (err) => this.log.warn({ err }, 'rollup fold failed; will retry'),
    ));
    void run.finally(() => (this.running = undefined));
    return run;
  }

  /** Folds the hours before `until` (a whole hour). */
  async foldUntil(until: number): Promise<number> {
    let at = await statsRepo.foldedUntil(this.db, until);
    while (at < until) {
      const hour = at;
      const moved = await this.db.transaction().execute(async (tx) => {
        const minutes = await statsRepo.minuteRows(tx, hour, hour + HOUR);
        const hours = foldRows(minutes, HOUR);
        if (!(await statsRepo.advanceFolded(tx, hour, hour + HOUR))) return false;
        await statsRepo.mergeRows(tx, [...hours, ...foldRows(hours, DAY)]);
        return true;
      });
      if (!moved) return statsRepo.foldedUntil(this.db, until); // another replica folded it meanwhile
      at = hour + HOUR;
    }
    return at;
  }
}
