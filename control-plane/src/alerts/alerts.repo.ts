// Queries of alerting: rules, alerts, channels, silences, deliveries, security events — and the readings the rules
// are evaluated on (rollups, the async queue, builds, nodes, security events), each one grouped query per rule.
import { sql, type Selectable } from 'kysely';
import type { Executor } from '../db/schema.js';
import type { AlertChannelsTable, AlertDeliveriesTable, AlertHeldTable, AlertRulesTable, AlertSilencesTable, AlertsTable } from './alerts.schema.js';

export type RuleRow = Selectable<AlertRulesTable>;
export type AlertRow = Selectable<AlertsTable>;
export type ChannelRow = Selectable<AlertChannelsTable>;
export type SilenceRow = Selectable<AlertSilencesTable>;
export type AlertDeliveryRow = Selectable<AlertDeliveriesTable>;
export type HeldRow = Selectable<AlertHeldTable>;

/** Which functions a rule covers: one, a team's, or every one. */
export type FnScope = { functionId: string } | { ownerId: string } | { all: true };

const scoped = <Q extends { where: (...a: never[]) => Q }>(db: Executor, q: Q, column: string, scope: FnScope): Q => {
  const w = q.where as unknown as (c: string, op: string, v: unknown) => Q;
  if ('functionId' in scope) return w.call(q, column, '=', scope.functionId);
  if ('ownerId' in scope) return w.call(q, column, 'in', db.selectFrom('functions').select('id').where('owner_id', '=', scope.ownerId));
  return q;
};

export const alertsRepo = {
  rules: (db: Executor) => db.selectFrom('alert_rules').selectAll().orderBy('created_at').execute(),
  rule: (db: Executor, id: string) => db.selectFrom('alert_rules').selectAll().where('id', '=', id).executeTakeFirst(),
  async saveRule(db: Executor, row: RuleRow): Promise<void> {
    await db
      .insertInto('alert_rules')
      .values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet({ name: row.name, params: row.params, enabled: row.enabled, function_id: row.function_id, updated_at: row.updated_at }))
      .execute();
  },
  async deleteRule(db: Executor, id: string): Promise<void> {
    await db.deleteFrom('alert_rules').where('id', '=', id).execute();
  },

  /** Alerts pending or firing. */
  open: (db: Executor) => db.selectFrom('alerts').selectAll().where('state', 'in', ['pending', 'firing']).execute(),
  /** Alerts an owner (null: the fleet) sees, newest first; `open`: pending and firing only. */
  list(db: Executor, owner: string | null | 'all', opts: { state?: 'open' | 'firing' | 'resolved' | 'all'; limit: number; functionId?: string }) {
    let q = db.selectFrom('alerts').selectAll();
    if (owner === null) q = q.where('owner_id', 'is', null);
    else if (owner !== 'all') q = q.where('owner_id', '=', owner);
    if (opts.functionId) q = q.where('function_id', '=', opts.functionId);
    if (opts.state === 'open') q = q.where('state', 'in', ['pending', 'firing']);
    else if (opts.state === 'firing' || opts.state === 'resolved') q = q.where('state', '=', opts.state);
    else q = q.where('state', '!=', 'pending');
    return q.orderBy('started_at', 'desc').limit(opts.limit).execute();
  },
  async insertAlert(db: Executor, row: AlertRow): Promise<void> {
    await db.insertInto('alerts').values(row).execute();
  },
  async updateAlert(db: Executor, id: string, set: Partial<AlertRow>): Promise<void> {
    await db.updateTable('alerts').set(set).where('id', '=', id).execute();
  },
  async deleteAlert(db: Executor, id: string): Promise<void> {
    await db.deleteFrom('alerts').where('id', '=', id).execute();
  },

  channels: (db: Executor) => db.selectFrom('alert_channels').selectAll().orderBy('created_at').execute(),
  channelsOf: (db: Executor, owner: string | null) => (owner === null ? db.selectFrom('alert_channels').selectAll().where('owner_id', 'is', null) : db.selectFrom('alert_channels').selectAll().where('owner_id', '=', owner)).orderBy('created_at').execute(),
  channel: (db: Executor, id: string) => db.selectFrom('alert_channels').selectAll().where('id', '=', id).executeTakeFirst(),
  async insertChannel(db: Executor, row: ChannelRow): Promise<void> {
    await db.insertInto('alert_channels').values(row).execute();
  },
  async deleteChannel(db: Executor, id: string): Promise<void> {
    await db.deleteFrom('alert_channels').where('id', '=', id).execute();
  },
  /** Each channel's latest delivery. */
  async lastDeliveries(db: Executor, channelIds: string[]): Promise<Map<string, AlertDeliveryRow>> {
    if (!channelIds.length) return new Map();
    const rows = await db
      .selectFrom('alert_deliveries as d')
      .selectAll()
      .where('channel_id', 'in', channelIds)
      .where('created_at', '=', (eb) => eb.selectFrom('alert_deliveries as e').select((e) => e.fn.max('e.created_at').as('m')).whereRef('e.channel_id', '=', 'd.channel_id'))
      .execute();
    return new Map(rows.map((r) => [r.channel_id, r]));
  },

  silences: (db: Executor, now: number) => db.selectFrom('alert_silences').selectAll().where('ends_at', '>', now).orderBy('ends_at').execute(),
  silence: (db: Executor, id: string) => db.selectFrom('alert_silences').selectAll().where('id', '=', id).executeTakeFirst(),
  async insertSilence(db: Executor, row: SilenceRow): Promise<void> {
    await db.insertInto('alert_silences').values(row).execute();
  },
  /** Ends a silence now (kept, so the history says it was). */
  async endSilence(db: Executor, id: string, now: number): Promise<void> {
    await db.updateTable('alert_silences').set({ ends_at: now }).where('id', '=', id).execute();
  },

  /** What silences hold back, each with its alert as it is now. */
  held: (db: Executor) =>
    db
      .selectFrom('alert_held as h')
      .innerJoin('alerts', 'alerts.id', 'h.alert_id')
      .selectAll('alerts')
      .select(['h.channel_id as held_channel', 'h.state as held_state'])
      .execute(),
  async hold(db: Executor, rows: HeldRow[]): Promise<void> {
    for (const row of rows) await db.insertInto('alert_held').values(row).onConflict((oc) => oc.columns(['alert_id', 'channel_id']).doUpdateSet({ state: row.state, held_at: row.held_at })).execute();
  },
  async unhold(db: Executor, keys: { alert_id: string; channel_id: string }[]): Promise<void> {
    for (const k of keys) await db.deleteFrom('alert_held').where('alert_id', '=', k.alert_id).where('channel_id', '=', k.channel_id).execute();
  },

  async insertDeliveries(db: Executor, rows: AlertDeliveryRow[]): Promise<void> {
    if (rows.length) await db.insertInto('alert_deliveries').values(rows).execute();
  },
  due: (db: Executor, now: number, limit: number) => db.selectFrom('alert_deliveries').selectAll().where('state', '=', 'pending').where('due_at', '<=', now).orderBy('due_at').limit(limit).execute(),
  async earliest(db: Executor): Promise<number | null> {
    const r = await db.selectFrom('alert_deliveries').select((eb) => eb.fn.min<number>('due_at').as('at')).where('state', '=', 'pending').executeTakeFirst();
    return r?.at == null ? null : Number(r.at);
  },
  /** Takes the delivery for one attempt, unless another pass already did (its attempts moved on). */
  async claim(db: Executor, d: AlertDeliveryRow, until: number): Promise<boolean> {
    const r = await db.updateTable('alert_deliveries').set({ attempts: d.attempts + 1, due_at: until }).where('id', '=', d.id).where('attempts', '=', d.attempts).where('state', '=', 'pending').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },
  async finish(db: Executor, id: string, set: Partial<AlertDeliveryRow>): Promise<void> {
    await db.updateTable('alert_deliveries').set(set).where('id', '=', id).execute();
  },

  async addSecurityEvents(db: Executor, rows: { id: string; event: string; subject: string; count: number; at: number }[]): Promise<void> {
    if (rows.length) await db.insertInto('security_events').values(rows).execute();
  },

  /** History past `before`: resolved alerts, finished deliveries, ended silences, security events. */
  async purge(db: Executor, before: number, eventsBefore: number): Promise<number> {
    let n = 0;
    n += Number((await db.deleteFrom('alerts').where('state', '=', 'resolved').where('resolved_at', '<', before).executeTakeFirst()).numDeletedRows);
    n += Number((await db.deleteFrom('alert_deliveries').where('state', '!=', 'pending').where('finished_at', '<', before).executeTakeFirst()).numDeletedRows);
    n += Number((await db.deleteFrom('alert_silences').where('ends_at', '<', before).executeTakeFirst()).numDeletedRows);
    n += Number((await db.deleteFrom('security_events').where('at', '<', eventsBefore).executeTakeFirst()).numDeletedRows);
    return n;
  },

  // ---- readings ----

  /** Rollup rows of `size` starting at or after `from`, of the functions in scope. */
  rollups(db: Executor, scope: FnScope, size: number, from: number, latency: boolean) {
    const cols = ['function_id', 'start', 'calls', 'error', 'timeout', 'oom', 'crashed', 'agent_lost', 'cold_starts'] as const;
    const q = db
      .selectFrom('execution_rollups')
      .select(latency ? [...cols, 'latency'] : [...cols])
      .where('size_ms', '=', size)
      .where('start', '>=', from);
    return scoped(db, q, 'function_id', scope).execute() as Promise<({ [K in (typeof cols)[number]]: K extends 'function_id' ? string : number } & { latency?: Uint8Array })[]>;
  },
  /** Dead letters (not replayed) that failed since `from`, per function. */
  deadLetters(db: Executor, scope: FnScope, from: number) {
    const q = db
      .selectFrom('async_calls')
      .select(['function_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('state', '=', sql.lit('failed') as never)
      .where('replayed_as', 'is', null)
      .where('finished_at', '>=', from)
      .groupBy('function_id');
    return scoped(db, q, 'function_id', scope).execute();
  },
  /** Each function's oldest call due and still queued. */
  oldestQueued(db: Executor, scope: FnScope, now: number) {
    const q = db
      .selectFrom('async_calls')
      .select(['function_id', (eb) => eb.fn.min<number>('due_at').as('due')])
      .where('state', '=', sql.lit('queued') as never)
      .where('due_at', '<=', now)
      .groupBy('function_id');
    return scoped(db, q, 'function_id', scope).execute();
  },
  failedBuilds(db: Executor, scope: FnScope, from: number) {
    const q = db
      .selectFrom('deployments')
      .select(['function_id', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max<number>('version').as('version')])
      .where('status', '=', 'failed')
      .where('finished_at', '>=', from)
      .groupBy('function_id');
    return scoped(db, q, 'function_id', scope).execute();
  },
  nodes: (db: Executor) => db.selectFrom('nodes').select(['id', 'name', 'status', 'last_heartbeat_at', 'memory_bytes', 'memory_used_bytes', 'disk_bytes', 'disk_used_bytes']).execute(),
  securityCounts: (db: Executor, event: string, from: number) =>
    db
      .selectFrom('security_events')
      .select(['subject', (eb) => eb.fn.sum<number>('count').as('n')])
      .where('event', '=', event)
      .where('at', '>=', from)
      .groupBy('subject')
      .execute(),
  functionsByIds: (db: Executor, ids: string[]) =>
    ids.length ? db.selectFrom('functions').innerJoin('users', 'users.id', 'functions.owner_id').select(['functions.id', 'functions.name', 'functions.owner_id', 'users.handle']).where('functions.id', 'in', ids).execute() : Promise.resolve([]),
};
