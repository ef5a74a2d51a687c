// Leases in the database, so background work (purges, node liveness) runs on one control-plane replica at a
// time: a replica holds a job's lease while it renews it; when it stops renewing (it died), another takes the
// lease once it has expired. One conditional upsert, the same on SQLite and PostgreSQL, timed by the database's clock.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { dbNowMs } from '../db/connect.js';
import type { Logger } from '../../../common/logger.js';

export class Leases {
  constructor(
    private readonly db: Kysely<Database>,
    /** This replica's name in the leases table. */
    readonly holder: string,
  ) {}

  /**
   * Takes or renews the lease `name` for `ttlMs`; true when this replica holds it now. Expiry is on the
   * database's clock (replicas' clocks may differ); `now` overrides it in tests.
   */
  async acquire(name: string, ttlMs: number, now?: number): Promise<boolean> {
    const at = now === undefined ? dbNowMs(this.db) : now;
    const expires = now === undefined ? sql<number>`${dbNowMs(this.db)} + ${ttlMs}` : now + ttlMs;
    await this.db
      .insertInto('leases')
      .values({ name, holder: this.holder, expires_at: expires })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ holder: this.holder, expires_at: expires })
          .where((eb) => eb.or([eb('leases.holder', '=', this.holder), eb('leases.expires_at', '<', at)])),
      )
      .execute();
    const row = await this.db.selectFrom('leases').select('holder').where('name', '=', name).executeTakeFirst();
    return row?.holder === this.holder;
  }

  /** Gives a lease up (a clean stop), so another replica need not wait for it to expire. */
  async release(name: string): Promise<void> {
    await this.db.deleteFrom('leases').where('name', '=', name).where('holder', '=', this.holder).execute();
  }
}

/**
 * A background job run now and every `everyMs` while this replica holds its lease (always, with no leases): the
 * purge, the rollups' folding.
 */
export class LeasedJob {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly name: string,
    private readonly everyMs: number,
    private readonly run: () => Promise<void>,
    private readonly log: Logger,
    private readonly leases?: Leases,
  ) {}

  start(): void {
    const tick = () =>
      void (this.leases ? this.leases.acquire(this.name, 2 * this.everyMs + 5000) : Promise.resolve(true)).then(
        (mine) => (mine ? this.run() : undefined),
        (err) => this.log.warn({ err }, `${this.name} lease check failed; will retry`),
      );
    this.timer = setInterval(tick, this.everyMs);
    this.timer.unref();
    tick();
  }

  /** Stops the timer, waits for a run under way (`running`), and gives the lease up. */
  async stop(running: Promise<void> | undefined): Promise<void> {
    clearInterval(this.timer);
    await running;
    await this.leases?.release(this.name).catch(() => {});
  }
}

/**
 * Work that wakes at a time of its own choosing, on one replica at a time: while this replica holds the lease
 * `name` (renewed every third of `leaseMs`), `pass` runs and says when it is next wanted (the next tick, the next
 * delivery due), at most `passMs` away; a replica without the lease looks again every third of `leaseMs`. `wake`
 * runs a pass now (work added on this replica). The scheduler and the deliverer of async calls.
 */
export class LeasedLoop {
  private timer: NodeJS.Timeout | undefined;
  private passing: Promise<void> | undefined;
  private stopped = true;
  private held = false;
  private leaseAt = 0;

  constructor(
    private readonly name: string,
    private readonly pass: () => Promise<number | null>,
    private readonly log: Logger,
    private readonly leases: Leases | undefined,
    private readonly passMs: number,
    private readonly leaseMs: number,
  ) {}

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Waits for a pass under way, and gives the lease up. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.passing;
    if (this.held) await this.leases?.release(this.name).catch(() => {});
    this.held = false;
  }

  wake(): void {
    if (this.stopped || this.passing) return;
    clearTimeout(this.timer);
    this.passing = this.loop()
      .catch((err) => this.log.warn({ err }, `${this.name} pass failed; will retry`))
      .then((sleepMs) => {
        this.passing = undefined;
        if (this.stopped) return;
        this.timer = setTimeout(() => this.wake(), sleepMs ?? this.passMs);
        this.timer.unref();
      });
  }

  private async loop(): Promise<number> {
    const now = Date.now();
    if (this.leases && now - this.leaseAt >= this.leaseMs / 3) {
      this.held = await this.leases.acquire(this.name, this.leaseMs);
      this.leaseAt = now;
    } else if (!this.leases) this.held = true;
    if (!this.held) return this.leaseMs / 3;
    const wanted = await this.pass();
    const untilLease = this.leases ? this.leaseAt + this.leaseMs / 3 - Date.now() : this.passMs;
    return Math.max(5, Math.min(this.passMs, untilLease, wanted === null ? this.passMs : wanted - Date.now()));
  }
}
