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
import { LeasedLoop, type Leases } from '../maintenance/lease.js';
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


export class Scheduler {
  private readonly loop: LeasedLoop;
  private readonly graceMs: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly queue: AsyncQueue,
    private readonly log: Logger,
    leases: Leases | undefined,
    private readonly o: SchedulerOptions = {},
  ) {
    this.graceMs = o.graceMs ?? 60_000;
    this.loop = new LeasedLoop(
      'schedules',
      async () => {
        await this.pass(Date.now());
        return schedulesRepo.earliest(this.db);
      },
      log,
      leases,
      o.passMs ?? 500,
      o.leaseMs ?? 10_000,
    );
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** A pass now (a schedule changed on this replica). */
  wake(): void {
    this.loop.wake();
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
