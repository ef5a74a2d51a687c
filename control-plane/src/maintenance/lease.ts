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
