// Evaluates every enabled rule every few seconds, on one replica at a time (the `alerts` lease): reads each rule's
// subjects (readings.ts), moves their alerts through rules.ts `step`, and writes the changes and the deliveries they
// cause in one transaction — a crash loses neither alone. A delivery is one group per channel and rule per pass
// (the alerts of that rule that fired, or resolved, together); an alert is one row per rule and subject while open
// (de-duplicated by its fingerprint). Which channels: the function's team's for an alert about its function, and
// the fleet's (admins') for every alert of a fleet rule; a channel's owner's silences hold its deliveries back until
// they end (then a firing is sent if its alert still fires, and a resolution if the channel heard it fire).
import { createHash, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import { LeasedLoop, type Leases } from '../maintenance/lease.js';
import { alertsRepo, type AlertRow, type ChannelRow, type HeldRow, type RuleRow, type SilenceRow } from './alerts.repo.js';
import { Readings, type EffectiveRule, type Subject } from './readings.js';
import { BUILTIN_RULES, paramsOf, step, type RuleKind, type RuleParams } from './rules.js';
import { amAlert, amGroup, type AmAlert } from './payload.js';

export interface EvaluatorOptions {
  /** How often the rules are evaluated. */
  everyMs: number;
  /** The public URL (links in what is sent). */
  baseUrl: string;
  /** Deliveries were written: the notifier looks now. */
  onDeliveries?: () => void;
  onTransition?: (rule: EffectiveRule, to: 'firing' | 'resolved') => void;
}

/** The rules in force: the built-in ones with an operator's changes, then the ones owners made. */
export function effectiveRules(rows: RuleRow[]): EffectiveRule[] {
  const stored = new Map(rows.map((r) => [r.id, r]));
  const builtins = BUILTIN_RULES.map((b) => {
    const r = stored.get(b.id);
    const given = { ...b.params, ...(r ? (JSON.parse(r.params) as RuleParams) : {}) };
    return { id: b.id, name: r?.name ?? b.name, kind: b.kind, ownerId: null, functionId: null, params: paramsOf(b.kind, given), given, enabled: r ? r.enabled === 1 : true, builtin: true };
  });
  const own = rows
    .filter((r) => !r.id.startsWith('builtin:'))
    .map((r) => {
      const given = JSON.parse(r.params) as RuleParams;
      return { id: r.id, name: r.name, kind: r.kind as RuleKind, ownerId: r.owner_id, functionId: r.function_id, params: paramsOf(r.kind as RuleKind, given), given, enabled: r.enabled === 1, builtin: false };
    });
  return [...builtins, ...own];
}

export const fingerprint = (ruleId: string, key: string) => createHash('sha256').update(`${ruleId}\n${key}`).digest('hex').slice(0, 16);

/** Whether the silence holds back `a` (every matcher it has must match). */
export function silences(s: SilenceRow, a: Pick<AlertRow, 'rule_id' | 'function_id' | 'labels'>, kind: string): boolean {
  const m = JSON.parse(s.matchers) as { ruleId?: string; functionId?: string; kind?: string; subject?: string };
  if (m.ruleId && m.ruleId !== a.rule_id) return false;
  if (m.functionId && m.functionId !== a.function_id) return false;
  if (m.kind && m.kind !== kind) return false;
  if (m.subject) {
    const labels = JSON.parse(a.labels) as Record<string, string>;
    if (![labels.subject, labels.node, labels.function].includes(m.subject)) return false;
  }
  return true;
}

/** An alert with what a silence held back of it from one channel. */
type HeldAlert = AlertRow & { held_channel: string; held_state: 'firing' | 'resolved' };

interface Change {
  rule: EffectiveRule;
  alert: AlertRow;
  to: 'firing' | 'resolved';
}

export class AlertEvaluator {
  private readonly loop: LeasedLoop;
  private readonly readings: Readings;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
    leases: Leases | undefined,
    private readonly o: EvaluatorOptions,
  ) {
    this.readings = new Readings(db);
    // The loop's pass says when it is next wanted (a time): every `everyMs`; the lease is renewed no more often.
    this.loop = new LeasedLoop('alerts', async () => (await this.pass(Date.now()), Date.now() + o.everyMs), log, leases, o.everyMs, Math.max(15_000, 3 * o.everyMs));
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Evaluate now (a security event was recorded here). */
  wake(): void {
    this.loop.wake();
  }

  /** One evaluation of every rule at `now`. */
  async pass(now: number): Promise<void> {
    const rules = effectiveRules(await alertsRepo.rules(this.db));
    const byId = new Map(rules.map((r) => [r.id, r]));
    const open = new Map((await alertsRepo.open(this.db)).map((a) => [a.fingerprint, a]));
    const inserts: AlertRow[] = [];
    const updates: { id: string; set: Partial<AlertRow> }[] = [];
    const deletes: string[] = [];
    const changes: Change[] = [];
    const seen = new Set<string>();

    const apply = (rule: EffectiveRule, s: Subject, row: AlertRow | undefined) => {
      const openState = row ? { state: row.state as 'pending' | 'firing', startedAt: Number(row.started_at), clearSince: row.clear_since === null ? null : Number(row.clear_since) } : undefined;
      const next = step(rule.kind, rule.params, openState, s.reading, now);
      const labels = JSON.stringify({ alertname: rule.name, rule: rule.id, kind: rule.kind, severity: rule.params.severity, ...s.labels });
      if (!row) {
        if (next.to !== 'pending' && next.to !== 'firing') return;
        const alert: AlertRow = {
          id: randomUUID(),
          rule_id: rule.id,
          fingerprint: fingerprint(rule.id, s.key),
          owner_id: s.ownerId,
          function_id: s.functionId,
          labels,
          summary: s.summary,
          state: next.to,
          value: s.reading.value,
          threshold: s.reading.threshold,
          started_at: now,
          fired_at: next.to === 'firing' ? now : null,
          clear_since: null,
          resolved_at: null,
          notified: 'none',
          updated_at: now,
        };
        inserts.push(alert);
        if (next.to === 'firing') changes.push({ rule, alert, to: 'firing' });
        return;
      }
      const measured = s.reading.empty || s.reading.unsure ? {} : { value: s.reading.value, threshold: s.reading.threshold, summary: s.summary };
      if (next.to === 'dropped') deletes.push(row.id);
      else if (next.to === 'firing') {
        const alert = { ...row, ...measured, state: 'firing' as const, fired_at: now, clear_since: null, updated_at: now };
        updates.push({ id: row.id, set: { ...measured, state: 'firing', fired_at: now, clear_since: null, updated_at: now } });
        changes.push({ rule, alert, to: 'firing' });
      } else if (next.to === 'resolved') {
        const alert = { ...row, state: 'resolved' as const, resolved_at: now, updated_at: now };
        updates.push({ id: row.id, set: { state: 'resolved', resolved_at: now, updated_at: now } });
        if (row.state === 'firing') changes.push({ rule, alert, to: 'resolved' });
      } else if (next.to === 'keep') updates.push({ id: row.id, set: { ...measured, clear_since: next.clearSince, updated_at: now } });
    };

    for (const rule of rules) {
      if (!rule.enabled) continue;
      let subjects: Subject[];
      try {
        subjects = await this.readings.of(rule, now);
      } catch (err) {
        this.log.warn({ err, rule: rule.id }, 'alert rule could not be evaluated; its alerts keep their state');
        for (const a of open.values()) if (a.rule_id === rule.id) seen.add(a.fingerprint);
        continue;
      }
      for (const s of subjects) {
        const fp = fingerprint(rule.id, s.key);
        seen.add(fp);
        apply(rule, s, open.get(fp));
      }
    }
    // Open alerts with no reading this pass: their subject went quiet (no calls, node gone) or their rule was
    // disabled or deleted — they clear like an empty reading.
    for (const a of open.values()) {
      if (seen.has(a.fingerprint)) continue;
      const rule = byId.get(a.rule_id);
      if (!rule || !rule.enabled) {
        if (a.state === 'pending') deletes.push(a.id);
        else {
          updates.push({ id: a.id, set: { state: 'resolved', resolved_at: now, updated_at: now } });
          if (rule) changes.push({ rule, alert: { ...a, state: 'resolved', resolved_at: now }, to: 'resolved' });
        }
        continue;
      }
      apply(rule, { key: '', ownerId: a.owner_id, functionId: a.function_id, labels: {}, reading: { value: 0, threshold: a.threshold, empty: true }, summary: a.summary }, a);
    }
    // What silences hold back is looked at every pass: a silence ends on its own, with no change to any alert.
    const held = await alertsRepo.held(this.db);
    if (!inserts.length && !updates.length && !deletes.length && !held.length) return;
    const out = changes.length || held.length ? await this.deliveriesFor(changes, held, byId, now) : { deliveries: [], hold: [], unhold: [] };
    const { deliveries } = out;
    // Held back still, nothing else new: nothing to write (no empty transaction every pass while a silence lasts).
    if (!inserts.length && !updates.length && !deletes.length && !changes.length && !out.hold.length && !out.unhold.length) return;
    await this.db.transaction().execute(async (tx) => {
      for (const id of deletes) await alertsRepo.deleteAlert(tx, id);
      for (const u of updates) await alertsRepo.updateAlert(tx, u.id, u.set);
      for (const a of inserts) await alertsRepo.insertAlert(tx, a);
      for (const c of changes) await alertsRepo.updateAlert(tx, c.alert.id, { notified: c.to });
      await alertsRepo.unhold(tx, out.unhold);
      await alertsRepo.hold(tx, out.hold);
      await alertsRepo.insertDeliveries(tx, deliveries);
    });
    for (const c of changes) {
      this.log.info({ alert: c.alert.id, rule: c.rule.id, state: c.to, summary: c.alert.summary }, c.to === 'firing' ? 'alert firing' : 'alert resolved');
      this.o.onTransition?.(c.rule, c.to);
    }
    if (deliveries.length) this.o.onDeliveries?.();
  }

  /**
   * One delivery per channel, rule and state, of the changes each channel is to hear of and no silence holds back.
   * What a silence holds back is kept (`hold`) and sent once no silence holds it: a firing only while its alert still
   * fires — one that resolves first is never sent, nor is its resolution (the channel never heard it fire) — and a
   * resolution whenever it is let through, so that a channel that heard an alert fire hears it end.
   */
  private async deliveriesFor(changes: Change[], held: HeldAlert[], rules: Map<string, EffectiveRule>, now: number) {
    const channels = await alertsRepo.channels(this.db);
    const active = await alertsRepo.silences(this.db, now);
    const silenced = (ch: ChannelRow, a: AlertRow, kind: string) => active.some((s) => s.owner_id === ch.owner_id && silences(s, a, kind));
    const waiting = new Map(held.map((h) => [`${h.id}|${h.held_channel}`, h]));
    const hold: HeldRow[] = [];
    const unhold: { alert_id: string; channel_id: string }[] = [];
    const groups = new Map<string, { channel: ChannelRow; rule: EffectiveRule; to: 'firing' | 'resolved'; alerts: AmAlert[] }>();
    const send = (channel: ChannelRow, rule: EffectiveRule, to: 'firing' | 'resolved', alert: AlertRow) => {
      const key = `${channel.id}|${rule.id}|${to}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { channel, rule, to, alerts: [] }));
      g.alerts.push(amAlert(alert, to, this.o.baseUrl));
    };
    for (const c of changes) {
      for (const ch of channels) {
        const hears = (c.alert.owner_id !== null && ch.owner_id === c.alert.owner_id) || (ch.owner_id === null && c.rule.ownerId === null);
        if (!hears) continue;
        const key = `${c.alert.id}|${ch.id}`;
        const before = waiting.get(key);
        if (before) {
          waiting.delete(key);
          unhold.push({ alert_id: c.alert.id, channel_id: ch.id });
          if (c.to === 'resolved' && before.held_state === 'firing') continue;
        }
        if (silenced(ch, c.alert, c.rule.kind)) hold.push({ alert_id: c.alert.id, channel_id: ch.id, state: c.to, held_at: now });
        else send(ch, c.rule, c.to, c.alert);
      }
    }
    const byId = new Map(channels.map((ch) => [ch.id, ch]));
    for (const h of waiting.values()) {
      const ch = byId.get(h.held_channel);
      const rule = rules.get(h.rule_id);
      if (ch && rule && silenced(ch, h, rule.kind)) continue;
      unhold.push({ alert_id: h.id, channel_id: h.held_channel });
      // A firing let through is news only while the alert fires (one that resolved with no change sent is not).
      if (ch && rule && (h.held_state === 'resolved' || h.state === 'firing')) send(ch, rule, h.held_state, h);
    }
    const deliveries = [...groups.values()].map((g) => ({
      id: randomUUID(),
      channel_id: g.channel.id,
      body: JSON.stringify(amGroup(g.channel.name, g.rule.id, g.rule.name, g.to, g.alerts, this.o.baseUrl)),
      state: 'pending' as const,
      attempts: 0,
      due_at: now,
      last_error: null,
      created_at: now,
      finished_at: null,
    }));
    return { deliveries, hold, unhold };
  }
}
