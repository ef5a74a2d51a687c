// Fires schedules. One replica at a time does it (the `schedules` lease); it wakes at the next tick (at least every
// `passMs`) and, for each tick due, queues an async call with trigger `schedule` in the transaction that moves the
// schedule's next_run_at on by compare-and-set — a tick fires once across replicas and restarts, and its call then
// runs, retries and dead-letters like any async call.
//
// A tick is fired when it is the only one due and at most `graceMs` late. Ticks missed while no replica ran (several
// due at once, or one older than the grace) follow the schedule's catchUp: `none` fires none of them, `last` fires
// the latest. overlap `skip` skips a tick whose schedule's previous call is still queued or running.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import type { Leases } from '../maintenance/lease.js';
import { asyncCallsRepo } from './async-calls.repo.js';
import { queuedRow, type AsyncQueue } from './async-queue.js';
import { schedulesRepo, type ScheduleRow } from './schedules.repo.js';
import { lastTickAtOrBefore, nextTick, planOf, ticksBetween } from './schedule-times.js';

export interface SchedulerOptions {
  /** Longest sleep between passes (a schedule made on another replica is seen within it). */
  passMs?: number;
  /** The lease's length; it is renewed every third of it. A replica that stops gives the schedules up this long. */
  leaseMs?: number;
  /** How late a tick may fire and still count as on time (not missed). */
  graceMs?: number;
  /** Told of each tick taken. */
  onTick?: (s: ScheduleRow, result: 'fired' | 'skipped' | 'missed') => void;
}

export type TickResult = 'fired' | 'skipped' | 'missed';

const LEASE = 'schedules';

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private passing: Promise<void> | undefined;
  private stopped = true;
  private held = false;
  private leaseAt = 0;
  private readonly passMs: number;
  private readonly leaseMs: number;
  private readonly graceMs: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly queue: AsyncQueue,
    private readonly log: Logger,
    private readonly leases: Leases | undefined,
    private readonly o: SchedulerOptions = {},
  ) {
    this.passMs = o.passMs ?? 500;
    this.leaseMs = o.leaseMs ?? 10_000;
    this.graceMs = o.graceMs ?? 60_000;
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.passing;
    if (this.held) await this.leases?.release(LEASE).catch(() => {});
    this.held = false;
  }

  /** A pass now (a schedule changed on this replica). */
  wake(): void {
    if (this.stopped || this.passing) return;
    clearTimeout(this.timer);
    this.passing = this.loop()
      .catch((err) => this.log.warn({ err }, 'schedules pass failed; will retry'))
      .then((sleepMs) => {
        this.passing = undefined;
        if (this.stopped) return;
        this.timer = setTimeout(() => this.wake(), sleepMs ?? this.passMs);
        this.timer.unref();
      });
  }

  /** Holds the lease (renewing it), fires what is due, and says how long to sleep. */
  private async loop(): Promise<number> {
    const now = Date.now();
    if (this.leases && now - this.leaseAt >= this.leaseMs / 3) {
      this.held = await this.leases.acquire(LEASE, this.leaseMs);
      this.leaseAt = now;
    } else if (!this.leases) this.held = true;
    if (!this.held) return Math.min(this.passMs * 2, this.leaseMs / 3);
    await this.pass(Date.now());
    const earliest = await schedulesRepo.earliest(this.db);
    const untilLease = this.leases ? this.leaseAt + this.leaseMs / 3 - Date.now() : this.passMs;
    return Math.max(5, Math.min(this.passMs, untilLease, earliest === null ? this.passMs : earliest - Date.now()));
  }

  /** Takes every tick due at `now` (tests call it directly). */
  async pass(now: number): Promise<void> {
    for (;;) {
      const due = await schedulesRepo.due(this.db, now, 100);
      for (const s of due) await this.take(s, now);
      if (due.length < 100) return;
    }
  }

  /** Takes the schedule's due tick: fires it, or skips it, and moves the schedule on to its tick after `now`. */
  private async take(s: ScheduleRow, now: number): Promise<TickResult | undefined> {
    let plan;
    try {
      plan = planOf(s.cron, s.timezone);
    } catch (err) {
      // The host's time-zone data changed under it: the schedule stops, and says why in the log.
      this.log.error({ err, schedule: s.id, function: s.function_id }, 'schedule no longer valid; paused');
      await schedulesRepo.update(this.db, s.function_id, s.id, { paused: 1 });
      return undefined;
    }
    const anchor = Number(s.anchor_at);
    const tick = Number(s.next_run_at);
    const after = nextTick(plan, tick, anchor);
    const missed = (after !== null && after <= now) || now - tick > this.graceMs;
    let fire: number | null = tick;
    let result: TickResult = 'fired';
    if (missed) {
      fire = s.catch_up === 'last' ? lastTickAtOrBefore(plan, now, anchor) : null;
      result = fire === null ? 'missed' : 'fired';
    }
    const next = nextTick(plan, now, anchor);
    const due = 1 + (missed ? ticksBetween(plan, tick, now, anchor) : 0);
    const taken = await this.db.transaction().execute(async (tx) => {
      if (fire !== null && s.overlap === 'skip' && s.last_call_id) {
        const last = await asyncCallsRepo.byId(tx, s.last_call_id);
        if (last && (last.state === 'queued' || last.state === 'running')) {
          fire = null;
          result = 'skipped';
        }
      }
      const row =
        fire === null
          ? undefined
          : queuedRow(
              s.function_id,
              {
                method: 'POST',
                path: '/',
                query: '',
                headers: [
                  ['content-type', 'application/json'],
                  ['cpub-schedule-id', s.id],
                  ['cpub-scheduled-time', new Date(fire).toISOString()],
                ],
                body: Buffer.from(s.payload ?? '', 'utf8'),
              },
              'schedule',
              Date.now(),
            );
      if (!(await schedulesRepo.advance(tx, s.id, tick, { next, tickAt: fire ?? tick, callId: row?.id ?? null, skipped: due - (row ? 1 : 0) }))) return false;
      if (row) await asyncCallsRepo.insert(tx, row);
      return true;
    });
    if (!taken) return undefined;
    if (result === 'fired') this.queue.notify(s.function_id);
    this.o.onTick?.(s, result);
    return result;
  }
}
