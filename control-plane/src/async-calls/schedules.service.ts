// A function's schedules: made, listed, changed (timing, payload, pause) and deleted by the function's owner. The
// scheduler (scheduler.ts) fires them; a change here wakes it on this replica, other replicas see it within a pass.
import { auditRepo, functionChange } from '../audit/audit.repo.js';
import { v7 as uuidv7 } from 'uuid';
import type { Kysely } from 'kysely';
import type { Database, User } from '../db/schema.js';
import { Conflict, Invalid, NotFound, TooLarge } from '../errors.js';
import type { FunctionLookup } from '../functions/functions.service.js';
import type * as api from '../../../common/api-types.js';
import { schedulesRepo, type ScheduleRow } from './schedules.repo.js';
import { nextTick, nextTicks, planOf, type Plan } from './schedule-times.js';

/** Schedules one function may have. */
export const MAX_SCHEDULES = 50;
/** The largest payload, as JSON text. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

export interface ScheduleInput {
  cron: string;
  timezone: string;
  payload?: unknown;
  overlap: 'skip' | 'queue';
  catchUp: 'none' | 'last';
  paused: boolean;
}

export type ScheduleChange = Partial<ScheduleInput>;

function planOrInvalid(cron: string, timezone: string): Plan {
  try {
    return planOf(cron, timezone);
  } catch (err) {
    throw Invalid('invalid_schedule', (err as Error).message);
  }
}

function payloadText(payload: unknown): string | null {
  if (payload === undefined || payload === null) return null;
  const text = JSON.stringify(payload);
  if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) throw TooLarge('payload_too_large', `a schedule's payload is at most ${MAX_PAYLOAD_BYTES} bytes of JSON`);
  return text;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export function toScheduleView(s: ScheduleRow, now = Date.now()): api.ScheduleView {
  let nextRuns: string[] = [];
  if (!s.paused && s.next_run_at !== null) {
    try {
      const plan = planOf(s.cron, s.timezone);
      nextRuns = [Number(s.next_run_at), ...nextTicks(plan, Math.max(now, Number(s.next_run_at)), Number(s.anchor_at), 2)].map((t) => new Date(t).toISOString());
    } catch {
      // shown without them; the scheduler pauses it and logs why
    }
  }
  return {
    id: s.id,
    functionId: s.function_id,
    cron: s.cron,
    timezone: s.timezone,
    payload: s.payload === null ? null : (JSON.parse(s.payload) as unknown),
    overlap: s.overlap,
    catchUp: s.catch_up,
    paused: Boolean(s.paused),
    nextRunAt: s.paused ? null : iso(s.next_run_at),
    nextRuns,
    lastRunAt: iso(s.last_tick_at),
    lastCallId: s.last_call_id,
    fired: Number(s.fired),
    skipped: Number(s.skipped),
    createdAt: new Date(Number(s.created_at)).toISOString(),
  };
}

export class SchedulesService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly functions: FunctionLookup,
    /** A schedule was made or changed: the scheduler looks again. */
    private readonly onChanged: () => void = () => {},
  ) {}

  async list(user: User, ref: string): Promise<api.ScheduleView[]> {
    const fn = await this.functions.find(user, ref, 'functions:read');
    return (await schedulesRepo.list(this.db, fn.id)).map((s) => toScheduleView(s));
  }

  async get(user: User, ref: string, id: string): Promise<api.ScheduleView> {
    const fn = await this.functions.find(user, ref, 'functions:read');
    return toScheduleView(await this.row(fn.id, fn.name, id));
  }

  async create(user: User, ref: string, input: ScheduleInput): Promise<api.ScheduleView> {
    const fn = await this.functions.find(user, ref, 'functions:deploy');
    const plan = planOrInvalid(input.cron, input.timezone);
    const payload = payloadText(input.payload);
    if ((await schedulesRepo.count(this.db, fn.id)) >= MAX_SCHEDULES) throw Conflict('too_many_schedules', `${fn.name} has ${MAX_SCHEDULES} schedules already; delete one first`);
    const now = Date.now();
    const row: ScheduleRow = {
      id: uuidv7({ msecs: now }),
      function_id: fn.id,
      cron: input.cron.trim(),
      timezone: input.timezone,
      payload,
      overlap: input.overlap,
      catch_up: input.catchUp,
      paused: input.paused ? 1 : 0,
      anchor_at: now,
      next_run_at: nextTick(plan, now, now),
      last_tick_at: null,
      last_call_id: null,
      fired: 0,
      skipped: 0,
      created_at: now,
    };
    await this.db.transaction().execute(async (tx) => {
      await schedulesRepo.insert(tx, row);
      await auditRepo.record(tx, functionChange(user, fn, 'schedule_created', { target: `schedule:${fn.name}/${row.id}`, after: { cron: row.cron, timezone: row.timezone, overlap: row.overlap, catchUp: row.catch_up, paused: Boolean(row.paused) } }), now);
    });
    this.onChanged();
    return toScheduleView(row, now);
  }

  /** A change of timing (cron, timezone) or a resume starts the ticks again from now: ticks missed while paused are not fired. */
  async update(user: User, ref: string, id: string, change: ScheduleChange): Promise<api.ScheduleView> {
    const fn = await this.functions.find(user, ref, 'functions:deploy');
    const s = await this.row(fn.id, fn.name, id);
    const cron = change.cron?.trim() ?? s.cron;
    const timezone = change.timezone ?? s.timezone;
    const plan = planOrInvalid(cron, timezone);
    const now = Date.now();
    const retimed = cron !== s.cron || timezone !== s.timezone;
    const resumed = change.paused === false && Boolean(s.paused);
    const anchor = retimed ? now : Number(s.anchor_at);
    const set = {
      cron,
      timezone,
      ...(change.payload !== undefined ? { payload: payloadText(change.payload) } : {}),
      ...(change.overlap ? { overlap: change.overlap } : {}),
      ...(change.catchUp ? { catch_up: change.catchUp } : {}),
      ...(change.paused !== undefined ? { paused: change.paused ? 1 : 0 } : {}),
      anchor_at: anchor,
      ...(retimed || resumed ? { next_run_at: nextTick(plan, now, anchor) } : {}),
    };
    await this.db.transaction().execute(async (tx) => {
      if (!(await schedulesRepo.update(tx, fn.id, id, set))) throw NotFound('schedule_not_found', `no schedule ${id} of ${fn.name}`);
      const shown = (r: { cron: string; timezone: string; overlap?: string; catch_up?: string; paused?: number }) => ({ cron: r.cron, timezone: r.timezone, overlap: r.overlap, catchUp: r.catch_up, paused: r.paused === undefined ? undefined : Boolean(r.paused) });
      await auditRepo.record(tx, functionChange(user, fn, 'schedule_updated', { target: `schedule:${fn.name}/${id}`, before: shown(s), after: shown({ ...s, ...set }) }), now);
    });
    this.onChanged();
    return toScheduleView(await this.row(fn.id, fn.name, id), now);
  }

  async remove(user: User, ref: string, id: string): Promise<void> {
    const fn = await this.functions.find(user, ref, 'functions:deploy');
    await this.db.transaction().execute(async (tx) => {
      if (!(await schedulesRepo.remove(tx, fn.id, id))) throw NotFound('schedule_not_found', `no schedule ${id} of ${fn.name}`);
      await auditRepo.record(tx, functionChange(user, fn, 'schedule_deleted', { target: `schedule:${fn.name}/${id}` }));
    });
  }

  private async row(functionId: string, name: string, id: string): Promise<ScheduleRow> {
    const s = await schedulesRepo.byId(this.db, functionId, id);
    if (!s) throw NotFound('schedule_not_found', `no schedule ${id} of ${name}`);
    return s;
  }
}
