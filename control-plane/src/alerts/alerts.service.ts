// Alerting as the API sees it: a team's alerts, rules, channels and silences (read with functions:read, changed
// with functions:write — a team admin's), and the fleet's (server administrators: the built-in rules, node and
// security rules, fleet channels). Another team's rule, channel or silence is not found.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { Forbidden, Invalid, NotFound } from '../errors.js';
import { memberOf, type SignedIn } from '../teams/access.js';
import type { Permission } from '../teams/roles.js';
import type { FunctionsService } from '../functions/functions.service.js';
import type { Sealer } from '../secrets/crypto.js';
import { newDestinationSecret, type AddressGuard } from '../async-calls/destinations.js';
import { alertsRepo, type AlertRow, type ChannelRow, type SilenceRow } from './alerts.repo.js';
import { effectiveRules, silences } from './evaluator.js';
import { BUILTIN_RULES, isFunctionKind, KIND_FIELDS, paramsOf, type RuleKind, type RuleParams } from './rules.js';
import { sealContext, type AlertNotifier } from './notifier.js';
import { amAlert, amGroup } from './payload.js';
import type * as api from '../../../common/api-types.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
export const CHANNEL_TYPES = ['webhook', 'slack', 'alertmanager', 'email'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];
const MAX_RULES = 200;
const MAX_CHANNELS = 20;
const MAX_SILENCES = 200;
const EMAIL = /^[^\s@,<>]+@[^\s@,<>]+\.[^\s@,<>]+$/;

export interface RuleInput {
  name?: string | undefined;
  kind: RuleKind;
  function?: string | undefined;
  fleet?: boolean | undefined;
  enabled?: boolean | undefined;
  params?: RuleParams | undefined;
}
export interface RuleChange {
  name?: string | undefined;
  enabled?: boolean | undefined;
  params?: RuleParams | undefined;
}
export interface ChannelInput {
  name: string;
  type: ChannelType;
  url?: string | undefined;
  to?: string[] | undefined;
  fleet?: boolean | undefined;
}
export interface SilenceInput {
  ruleId?: string | undefined;
  function?: string | undefined;
  kind?: string | undefined;
  subject?: string | undefined;
  durationSec: number;
  comment?: string | undefined;
  fleet?: boolean | undefined;
}

export interface AlertsServiceDeps {
  db: Kysely<Database>;
  functions: FunctionsService;
  sealer: Sealer;
  guard: AddressGuard;
  notifier: () => AlertNotifier;
  /** Whether email channels can send (CPUB_SMTP_URL is set). */
  smtp: boolean;
  baseUrl: string;
}

export class AlertsService {
  constructor(private readonly d: AlertsServiceDeps) {}

  /** The owner a request works as: the fleet (null: administrators, signed in) or its team. */
  private async owner(caller: SignedIn, fleet: boolean | undefined, need: Permission): Promise<string | null> {
    if (fleet) {
      if (caller.role !== 'admin') throw Forbidden('admin_only', 'fleet-wide alerting is for server administrators');
      return null;
    }
    return (await memberOf(this.d.db, caller, caller.team, need)).id;
  }

  private async names(ids: (string | null)[]): Promise<Map<string, string>> {
    const rows = await alertsRepo.functionsByIds(this.d.db, [...new Set(ids.filter((i): i is string => i !== null))]);
    return new Map(rows.map((r) => [r.id, `${r.handle}/${r.name}`]));
  }

  async alerts(caller: SignedIn, q: { fleet?: boolean | undefined; state: 'open' | 'firing' | 'resolved' | 'all'; limit: number; function?: string | undefined }): Promise<api.AlertView[]> {
    const owner = await this.owner(caller, q.fleet, 'functions:read');
    const functionId = q.function ? (await this.d.functions.find(caller, q.function, 'functions:read')).id : undefined;
    // The fleet sees every alert (of every team's functions too); a team its own.
    const rows = await alertsRepo.list(this.d.db, owner === null ? 'all' : owner, { state: q.state, limit: q.limit, ...(functionId ? { functionId } : {}) });
    const rules = new Map(effectiveRules(await alertsRepo.rules(this.d.db)).map((r) => [r.id, r]));
    const active = (await alertsRepo.silences(this.d.db, Date.now())).filter((s) => s.owner_id === owner);
    const names = await this.names(rows.map((r) => r.function_id));
    return rows.map((a) => this.alertView(a, rules.get(a.rule_id)?.kind ?? 'unknown', names, active));
  }

  private alertView(a: AlertRow, kind: string, names: Map<string, string>, active: SilenceRow[]): api.AlertView {
    const labels = JSON.parse(a.labels) as Record<string, string>;
    return {
      id: a.id,
      ruleId: a.rule_id,
      rule: labels.alertname ?? a.rule_id,
      kind,
      severity: labels.severity ?? 'warning',
      state: a.state,
      summary: a.summary,
      function: a.function_id ? (names.get(a.function_id) ?? null) : null,
      labels,
      value: Math.round(a.value * 100) / 100,
      threshold: Math.round(a.threshold * 100) / 100,
      startedAt: iso(a.started_at)!,
      firedAt: iso(a.fired_at),
      resolvedAt: iso(a.resolved_at),
      silenced: active.some((s) => silences(s, a, kind)),
    };
  }

  // ---- rules ----

  async rules(caller: SignedIn, fleet: boolean | undefined): Promise<api.AlertRuleView[]> {
    const owner = await this.owner(caller, fleet, 'functions:read');
    const rules = effectiveRules(await alertsRepo.rules(this.d.db)).filter((r) => r.builtin || r.ownerId === owner);
    const names = await this.names(rules.map((r) => r.functionId));
    return rules.map((r) => ({
      id: r.id,
      name: r.name,
      kind: r.kind,
      fleet: r.ownerId === null,
      builtin: r.builtin,
      function: r.functionId ? (names.get(r.functionId) ?? null) : null,
      enabled: r.enabled,
      params: Object.fromEntries(KIND_FIELDS[r.kind].map((k) => [k, (r.params as Record<string, unknown>)[k]])),
    }));
  }

  /**
   * Whether `ownerId`'s (a team's, or the fleet's: null) rule, channel or silence is the caller's to see — another
   * team's is not found — then whether their role allows `need` (a 403 naming it).
   */
  private async mine(caller: SignedIn, ownerId: string | null, need: Permission, notFound: () => Error): Promise<void> {
    const owner = await this.owner(caller, ownerId === null, 'functions:read').catch(() => undefined);
    if (owner === undefined || owner !== ownerId) throw notFound();
    await this.owner(caller, ownerId === null, need);
  }

  private async ruleOf(caller: SignedIn, id: string, need: Permission) {
    const rule = effectiveRules(await alertsRepo.rules(this.d.db)).find((r) => r.id === id);
    if (!rule) throw NotFound('rule_not_found', `no alert rule ${id}`);
    // Built-in rules are everyone's to see, an administrator's to change.
    if (rule.builtin && caller.role !== 'admin') throw Forbidden('admin_only', 'built-in rules are changed by server administrators');
    await this.mine(caller, rule.ownerId, need, () => NotFound('rule_not_found', `no alert rule ${id}`));
    return rule;
  }

  async createRule(caller: SignedIn, input: RuleInput): Promise<api.AlertRuleView> {
    const owner = await this.owner(caller, input.fleet, 'functions:write');
    if (owner !== null && !isFunctionKind(input.kind)) throw Invalid('invalid_rule', `${input.kind} rules are fleet-wide: an administrator makes them with fleet: true`, { field: 'kind' });
    const fn = input.function ? await this.d.functions.find(caller, input.function, 'functions:write') : undefined;
    if (fn && owner === null && !isFunctionKind(input.kind)) throw Invalid('invalid_rule', `a ${input.kind} rule is not about a function`, { field: 'function' });
    const params = input.params ?? {};
    checkParams(input.kind, params);
    const existing = (await alertsRepo.rules(this.d.db)).filter((r) => r.owner_id === owner);
    if (existing.length >= MAX_RULES) throw Invalid('too_many_rules', `at most ${MAX_RULES} alert rules per team`);
    const now = Date.now();
    const id = randomUUID();
    await alertsRepo.saveRule(this.d.db, { id, owner_id: owner, function_id: fn?.id ?? null, name: input.name ?? defaultName(input.kind, params), kind: input.kind, params: JSON.stringify(params), enabled: input.enabled === false ? 0 : 1, created_at: now, updated_at: now });
    return (await this.rules(caller, owner === null)).find((r) => r.id === id)!;
  }

  async updateRule(caller: SignedIn, id: string, change: RuleChange): Promise<api.AlertRuleView> {
    const rule = await this.ruleOf(caller, id, 'functions:write');
    const stored = await alertsRepo.rule(this.d.db, id);
    const given = { ...(stored ? (JSON.parse(stored.params) as RuleParams) : {}), ...(change.params ?? {}) };
    if (rule.kind !== 'security') delete given.event;
    else if (rule.builtin && change.params?.event && change.params.event !== rule.params.event) throw Invalid('invalid_rule', 'a built-in security rule keeps its event (make a rule of your own for another)', { field: 'params.event' });
    checkParams(rule.kind, given);
    const now = Date.now();
    await alertsRepo.saveRule(this.d.db, {
      id,
      owner_id: rule.ownerId,
      function_id: rule.functionId,
      name: change.name ?? rule.name,
      kind: rule.kind,
      params: JSON.stringify(given),
      enabled: (change.enabled ?? rule.enabled) ? 1 : 0,
      created_at: stored ? Number(stored.created_at) : now,
      updated_at: now,
    });
    return (await this.rules(caller, rule.ownerId === null)).find((r) => r.id === id)!;
  }

  /** Deletes a rule; a built-in one goes back to its defaults. */
  async deleteRule(caller: SignedIn, id: string): Promise<void> {
    await this.ruleOf(caller, id, 'functions:write');
    await alertsRepo.deleteRule(this.d.db, id);
  }

  // ---- channels ----

  async channels(caller: SignedIn, fleet: boolean | undefined): Promise<api.AlertChannelView[]> {
    const owner = await this.owner(caller, fleet, 'functions:read');
    const rows = await alertsRepo.channelsOf(this.d.db, owner);
    const last = await alertsRepo.lastDeliveries(this.d.db, rows.map((r) => r.id));
    return rows.map((r) => channelView(r, last.get(r.id)));
  }

  async createChannel(caller: SignedIn, input: ChannelInput): Promise<{ channel: api.AlertChannelView; secret: string | null }> {
    const owner = await this.owner(caller, input.fleet, 'functions:write');
    let target: string;
    if (input.type === 'email') {
      if (input.url !== undefined) throw Invalid('invalid_channel', 'an email channel takes `to` (addresses), not a url', { field: 'url' });
      if (!this.d.smtp) throw Invalid('smtp_not_configured', 'email channels need an SMTP server: the operator sets CPUB_SMTP_URL', { field: 'type' });
      const to = input.to ?? [];
      const bad = to.find((a) => !EMAIL.test(a));
      if (!to.length || bad !== undefined) throw Invalid('invalid_channel', bad === undefined ? 'an email channel needs `to`: one to ten addresses' : `${bad} is not an email address`, { field: 'to' });
      target = to.join(', ');
    } else {
      if (input.to !== undefined) throw Invalid('invalid_channel', `a ${input.type} channel takes a url, not \`to\``, { field: 'to' });
      if (!input.url) throw Invalid('invalid_channel', `a ${input.type} channel needs a url`, { field: 'url' });
      const why = this.d.guard.urlError(input.url);
      if (why) throw Invalid('invalid_channel', why, { field: 'url' });
      target = input.url;
    }
    const rows = await alertsRepo.channelsOf(this.d.db, owner);
    if (rows.length >= MAX_CHANNELS) throw Invalid('too_many_channels', `at most ${MAX_CHANNELS} alert channels per team`);
    if (rows.some((r) => r.name === input.name)) throw Invalid('channel_exists', `there is a channel named ${input.name} already`, { field: 'name' });
    const id = randomUUID();
    const secret = input.type === 'webhook' ? newDestinationSecret() : null;
    const row: ChannelRow = { id, owner_id: owner, name: input.name, type: input.type, target, secret_sealed: secret ? this.d.sealer.seal(secret, sealContext(id)) : null, created_by: caller.id, created_at: Date.now() };
    await alertsRepo.insertChannel(this.d.db, row);
    return { channel: channelView(row, undefined), secret };
  }

  private async channelOf(caller: SignedIn, id: string, need: Permission): Promise<ChannelRow> {
    const row = await alertsRepo.channel(this.d.db, id);
    const notFound = () => NotFound('channel_not_found', `no alert channel ${id}`);
    if (!row) throw notFound();
    await this.mine(caller, row.owner_id, need, notFound);
    return row;
  }

  async deleteChannel(caller: SignedIn, id: string): Promise<void> {
    await this.channelOf(caller, id, 'functions:write');
    await alertsRepo.deleteChannel(this.d.db, id);
  }

  /** Sends a test alert to the channel now; its outcome (delivered, or the error) is the answer. */
  async testChannel(caller: SignedIn, id: string): Promise<{ delivered: boolean; error: string | null }> {
    const ch = await this.channelOf(caller, id, 'functions:write');
    const now = Date.now();
    const test: AlertRow = { id: randomUUID(), rule_id: 'test', fingerprint: 'test', owner_id: ch.owner_id, function_id: null, labels: JSON.stringify({ alertname: 'Test alert', rule: 'test', severity: 'info' }), summary: `a test of channel ${ch.name}, sent by ${caller.email}`, state: 'firing', value: 0, threshold: 0, started_at: now, fired_at: now, resolved_at: null, clear_since: null, notified: 'none', updated_at: now };
    const error = await this.d
      .notifier()
      .send(ch, `test-${test.id}`, amGroup(ch.name, 'test', 'Test alert', 'firing', [amAlert(test, 'firing', this.d.baseUrl)], this.d.baseUrl))
      .catch((err: Error) => err.message);
    return { delivered: error === null, error };
  }

  // ---- silences ----

  async silences(caller: SignedIn, fleet: boolean | undefined): Promise<api.AlertSilenceView[]> {
    const owner = await this.owner(caller, fleet, 'functions:read');
    const rows = (await alertsRepo.silences(this.d.db, Date.now())).filter((s) => s.owner_id === owner);
    const names = await this.names(rows.map((r) => (JSON.parse(r.matchers) as { functionId?: string }).functionId ?? null));
    return rows.map((r) => silenceView(r, names));
  }

  async createSilence(caller: SignedIn, input: SilenceInput): Promise<api.AlertSilenceView> {
    const owner = await this.owner(caller, input.fleet, 'functions:deploy');
    const functionId = input.function ? (await this.d.functions.find(caller, input.function, 'functions:read')).id : undefined;
    if (input.ruleId && !effectiveRules(await alertsRepo.rules(this.d.db)).some((r) => r.id === input.ruleId && (r.builtin || r.ownerId === owner))) throw NotFound('rule_not_found', `no alert rule ${input.ruleId}`);
    const matchers = Object.fromEntries(Object.entries({ ruleId: input.ruleId, functionId, kind: input.kind, subject: input.subject }).filter(([, v]) => v !== undefined));
    if (!Object.keys(matchers).length) throw Invalid('invalid_silence', 'a silence names what it silences: ruleId, function, kind or subject', { field: 'ruleId' });
    const now = Date.now();
    if ((await alertsRepo.silences(this.d.db, now)).filter((s) => s.owner_id === owner).length >= MAX_SILENCES) throw Invalid('too_many_silences', `at most ${MAX_SILENCES} silences at once`);
    const row: SilenceRow = { id: randomUUID(), owner_id: owner, matchers: JSON.stringify(matchers), comment: input.comment ?? '', created_by: caller.email, created_at: now, ends_at: now + input.durationSec * 1000 };
    await alertsRepo.insertSilence(this.d.db, row);
    return silenceView(row, await this.names([functionId ?? null]));
  }

  /** Ends a silence now. */
  async endSilence(caller: SignedIn, id: string): Promise<void> {
    const row = await alertsRepo.silence(this.d.db, id);
    const notFound = () => NotFound('silence_not_found', `no active silence ${id}`);
    if (!row || Number(row.ends_at) <= Date.now()) throw notFound();
    await this.mine(caller, row.owner_id, 'functions:deploy', notFound);
    await alertsRepo.endSilence(this.d.db, id, Date.now());
  }
}

function checkParams(kind: RuleKind, given: RuleParams): void {
  if (given.event !== undefined && kind !== 'security') throw Invalid('invalid_rule', 'params.event is for security rules', { field: 'params.event' });
  if ((given.factor !== undefined || given.minDeltaMs !== undefined) && kind !== 'latency_p95') throw Invalid('invalid_rule', 'params.factor and params.minDeltaMs are for latency_p95 rules', { field: 'params.factor' });
  const p = paramsOf(kind, given);
  if (kind === 'latency_p95' && p.factor === null && p.threshold <= 0) throw Invalid('invalid_rule', 'a latency_p95 rule needs a threshold (ms) or a factor over its baseline', { field: 'params.threshold' });
  if ((kind === 'error_rate' || kind === 'cold_start_rate' || kind === 'node_memory' || kind === 'node_disk') && p.threshold > 100) throw Invalid('invalid_rule', 'params.threshold is a percentage (0–100)', { field: 'params.threshold' });
}

function defaultName(kind: RuleKind, given: RuleParams): string {
  const b = BUILTIN_RULES.find((r) => r.kind === kind && (kind !== 'security' || r.params.event === given.event));
  return b?.name ?? kind;
}

function channelView(r: ChannelRow, last: { state: 'pending' | 'delivered' | 'failed'; attempts: number; last_error: string | null; created_at: number; finished_at: number | null } | undefined): api.AlertChannelView {
  let target = r.target;
  if (r.type !== 'email') {
    // A Slack webhook's path is its credential: shown as its origin only.
    const u = new URL(r.target);
    target = r.type === 'slack' ? `${u.origin}/…` : `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  }
  return {
    id: r.id,
    name: r.name,
    type: r.type as ChannelType,
    target,
    fleet: r.owner_id === null,
    createdAt: iso(r.created_at)!,
    lastDelivery: last ? { state: last.state, attempts: last.attempts, error: last.last_error, at: iso(last.finished_at ?? last.created_at)! } : null,
  };
}

function silenceView(r: SilenceRow, names: Map<string, string>): api.AlertSilenceView {
  const m = JSON.parse(r.matchers) as { ruleId?: string; functionId?: string; kind?: string; subject?: string };
  return {
    id: r.id,
    fleet: r.owner_id === null,
    ruleId: m.ruleId ?? null,
    function: m.functionId ? (names.get(m.functionId) ?? m.functionId) : null,
    kind: m.kind ?? null,
    subject: m.subject ?? null,
    comment: r.comment,
    createdBy: r.created_by,
    createdAt: iso(r.created_at)!,
    endsAt: iso(r.ends_at)!,
  };
}

