// Delivers async calls' outcomes to their function's destinations. One replica at a time does it (the
// `destinations` lease); a delivery is a signed POST (destinations.ts) that succeeds on a 2xx within 10 s, and is
// otherwise retried with exponential backoff (1 s doubling to 5 min, jittered) up to 10 attempts, then failed. The
// connection resolves the destination's name itself and refuses addresses the operator did not allow. At least
// once: a receiver de-duplicates by X-Cpub-Delivery. Each attempt first claims its delivery as read (compare-and-set
// on its attempts), so a pass reading a delivery that another pass, or a replica, has just sent or finished sends
// nothing.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import { LeasedLoop, type Leases } from '../maintenance/lease.js';
import type { Sealer } from '../secrets/crypto.js';
import { functionsRepo } from '../functions/functions.repo.js';
import { deliveriesRepo, type DeliveryRow } from './destination-deliveries.repo.js';
import { backoffMs, deliveryAgent, postDelivery, signatureHeaders, type AddressGuard, type DeliveryAgent } from './destinations.js';

export interface DelivererOptions {
  passMs?: number;
  leaseMs?: number;
  /** The wait before the first retry (doubled for each next, up to maxBackoffMs). */
  baseMs?: number;
  maxBackoffMs?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  /** Deliveries in flight at once. */
  parallel?: number;
  onDelivered?: (d: DeliveryRow, result: 'delivered' | 'retry' | 'failed') => void;
}


export class Deliverer {
  private readonly loop: LeasedLoop;
  private readonly inFlight = new Set<string>();
  private readonly agent: DeliveryAgent;
  private readonly o: Required<Omit<DelivererOptions, 'onDelivered'>> & Pick<DelivererOptions, 'onDelivered'>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly sealer: Sealer,
    private readonly guard: AddressGuard,
    private readonly log: Logger,
    leases: Leases | undefined,
    o: DelivererOptions = {},
  ) {
    this.o = { passMs: 500, leaseMs: 10_000, baseMs: 1000, maxBackoffMs: 300_000, maxAttempts: 10, timeoutMs: 10_000, parallel: 16, ...o };
    this.loop = new LeasedLoop('destinations', () => this.pass(), log, leases, this.o.passMs, this.o.leaseMs);
    this.agent = deliveryAgent(this.guard, this.o.timeoutMs);
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.agent.close();
  }

  /** A pass now (a delivery was written here). */
  wake(): void {
    this.loop.wake();
  }

  /** Starts the deliveries due, as many as there is room for; when the next is due. */
  private async pass(): Promise<number | null> {
    const room = this.o.parallel - this.inFlight.size;
    if (room > 0) {
      for (const d of await deliveriesRepo.due(this.db, Date.now(), room + this.inFlight.size)) {
        if (this.inFlight.has(d.id) || this.inFlight.size >= this.o.parallel) continue;
        this.inFlight.add(d.id);
        void this.deliver(d)
          .catch((err) => this.log.warn({ err, delivery: d.id }, 'delivery not settled; it will be tried again'))
          .finally(() => {
            this.inFlight.delete(d.id);
            this.wake();
          });
      }
    }
    return deliveriesRepo.earliest(this.db);
  }

  /** One attempt of the delivery (when this pass's read of it is still current: claimed), then where it goes. */
  private async deliver(d: DeliveryRow): Promise<void> {
    const claimedAt = Date.now();
    if (!(await deliveriesRepo.claim(this.db, d, claimedAt, claimedAt + 3 * this.o.timeoutMs))) return;
    const fn = await functionsRepo.byId(this.db, d.function_id);
    const attempts = d.attempts + 1;
    let error: string | null = null;
    if (!fn?.destination_secret) error = 'the function has no destination secret';
    else {
      const secret = this.sealer.open(fn.destination_secret, `destination:${fn.id}`);
      const body = Buffer.from(d.body);
      error = await postDelivery(this.guard, this.agent, d.url, body, { 'user-agent': 'ContainerPub-Destinations/1', 'x-cpub-event': d.event, 'x-cpub-delivery': d.id, ...signatureHeaders(secret, body) }, this.o.timeoutMs);
    }
    const now = Date.now();
    if (error === null) {
      await deliveriesRepo.finish(this.db, d.id, d.attempts, { state: 'delivered', error: null, finishedAt: now });
      this.o.onDelivered?.(d, 'delivered');
    } else if (attempts >= this.o.maxAttempts) {
      await deliveriesRepo.finish(this.db, d.id, d.attempts, { state: 'failed', error, finishedAt: now });
      this.log.warn({ delivery: d.id, call: d.call_id, function: d.function_id, error }, 'destination delivery failed after its last attempt');
      this.o.onDelivered?.(d, 'failed');
    } else {
      await deliveriesRepo.finish(this.db, d.id, d.attempts, { state: 'pending', dueAt: now + backoffMs(attempts, this.o.baseMs, this.o.maxBackoffMs), error, finishedAt: null });
      this.o.onDelivered?.(d, 'retry');
    }
  }
}
