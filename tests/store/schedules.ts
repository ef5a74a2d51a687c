// Store cases for schedules: a tick fires once however many schedulers see it at once (the compare-and-set that
// queues its call), missed ticks follow catchUp, overlap skip leaves a tick whose previous call is still waiting,
// paused schedules are left alone — on both dialects, the scheduler's pass driven with a chosen `now`.
import * as assert from 'uvu/assert';
import type { Logger } from '../../common/logger.js';
import { AsyncQueue } from '../../control-plane/src/async-calls/async-queue.js';
import { Scheduler } from '../../control-plane/src/async-calls/scheduler.js';
import { schedulesRepo, type ScheduleRow } from '../../control-plane/src/async-calls/schedules.repo.js';
import { asyncCallsRepo } from '../../control-plane/src/async-calls/async-calls.repo.js';
import type { Db } from '../../control-plane/src/db/connect.js';
import { NOW, ownerWith, type StoreCases } from '../helpers/store.js';

const silent = { info() {}, warn() {}, error() {} } as unknown as Logger;
const MIN = 60_000;

async function schedule(db: Db, id: string, fn: string, patch: Partial<ScheduleRow> = {}): Promise<void> {
  await schedulesRepo.insert(db.kysely, { id, function_id: fn, cron: '* * * * *', timezone: 'UTC', payload: '{"job":"nightly"}', overlap: 'queue', catch_up: 'none', paused: 0, anchor_at: NOW - 3600_000, next_run_at: NOW, last_tick_at: null, last_call_id: null, fired: 0, skipped: 0, created_at: NOW - 3600_000, ...patch });
}

/** The calls the function's schedules queued: [scheduled time, body]. */
async function calls(db: Db, fn: string): Promise<[string, string][]> {
  const rows = await db.kysely.selectFrom('async_calls').selectAll().where('function_id', '=', fn).where('trigger', '=', 'schedule').orderBy('id').execute();
  return rows.map((r) => [Object.fromEntries(JSON.parse(r.headers) as [string, string][])['cpub-scheduled-time']!, Buffer.from(r.body).toString()]);
}

const row = async (db: Db, fn: string, id: string) => (await schedulesRepo.byId(db.kysely, fn, id))!;
const scheduler = (db: Db) => new Scheduler(db.kysely, new AsyncQueue(db.kysely), silent, undefined);
const iso = (ms: number) => new Date(ms).toISOString();

export const schedulesCases: StoreCases = (s) => {
  s('schedules: each tick fires once, with three schedulers taking it at once; the next tick is the one after now', async ({ db }) => {
    await ownerWith(db, 'sc-owner', 'sc-f1');
    await schedule(db, 'sc-s1', 'sc-f1');
    const replicas = [scheduler(db), scheduler(db), scheduler(db)];
    for (let i = 0; i < 5; i++) await Promise.all(replicas.map((r) => r.pass(NOW + i * MIN + 20)));
    assert.equal(await calls(db, 'sc-f1'), [0, 1, 2, 3, 4].map((i) => [iso(NOW + i * MIN), '{"job":"nightly"}']));
    const r = await row(db, 'sc-f1', 'sc-s1');
    assert.equal([Number(r.next_run_at), Number(r.fired), Number(r.skipped), Number(r.last_tick_at)], [NOW + 5 * MIN, 5, 0, NOW + 4 * MIN]);
    // A tick not yet due is not taken (a restarted scheduler sees the same row).
    await scheduler(db).pass(NOW + 5 * MIN - 1);
    assert.is((await calls(db, 'sc-f1')).length, 5);
  });

  s('schedules: ticks missed while no replica ran: catchUp none fires none, last fires the latest; a late tick within the grace still fires', async ({ db }) => {
    await ownerWith(db, 'sc-owner2', 'sc-none', 'sc-last', 'sc-late');
    await schedule(db, 'sc-s2', 'sc-none');
    await schedule(db, 'sc-s3', 'sc-last', { catch_up: 'last' });
    const lateTick = NOW + 10 * MIN - 40_000;
    await schedule(db, 'sc-s4', 'sc-late', { cron: '@every 1h', anchor_at: lateTick - 3600_000, next_run_at: lateTick });
    await scheduler(db).pass(NOW + 10 * MIN + 5);
    assert.equal(await calls(db, 'sc-none'), []);
    assert.equal(await calls(db, 'sc-last'), [[iso(NOW + 10 * MIN), '{"job":"nightly"}']]);
    assert.equal(await calls(db, 'sc-late'), [[iso(lateTick), '{"job":"nightly"}']], 'one tick 40 s late (the grace is 60 s), none after it due: fired');
    const none = await row(db, 'sc-none', 'sc-s2');
    const last = await row(db, 'sc-last', 'sc-s3');
    assert.equal([Number(none.next_run_at), Number(none.fired), Number(none.skipped)], [NOW + 11 * MIN, 0, 11]);
    assert.equal([Number(last.next_run_at), Number(last.fired), Number(last.skipped)], [NOW + 11 * MIN, 1, 10]);
  });

  s('schedules: overlap skip leaves a tick while the previous call is queued or running; queue fires it; paused schedules wait', async ({ db }) => {
    await ownerWith(db, 'sc-owner3', 'sc-skip', 'sc-queue', 'sc-paused');
    await schedule(db, 'sc-s5', 'sc-skip', { overlap: 'skip' });
    await schedule(db, 'sc-s6', 'sc-queue');
    await schedule(db, 'sc-s7', 'sc-paused', { paused: 1 });
    const sch = scheduler(db);
    await sch.pass(NOW + 1);
    await sch.pass(NOW + MIN + 1);
    assert.is((await calls(db, 'sc-skip')).length, 1, 'the first call is still queued: the second tick is skipped');
    assert.is((await calls(db, 'sc-queue')).length, 2);
    assert.equal(await calls(db, 'sc-paused'), []);
    const first = (await row(db, 'sc-skip', 'sc-s5')).last_call_id!;
    await db.kysely.updateTable('async_calls').set({ state: 'succeeded', finished_at: NOW }).where('id', '=', first).execute();
    await sch.pass(NOW + 2 * MIN + 1);
    const r = await row(db, 'sc-skip', 'sc-s5');
    assert.equal([(await calls(db, 'sc-skip')).length, Number(r.fired), Number(r.skipped)], [2, 2, 1]);
    assert.is((await asyncCallsRepo.byId(db.kysely, r.last_call_id!))!.state, 'queued', 'the tick’s call waits for the dispatcher');
  });
};
