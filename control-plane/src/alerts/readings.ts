// What each rule measures, per subject (a function, a node, an account or address): one grouped query per rule
// over the rollups (ten-second rows for windows up to two minutes, minute rows beyond — the oldest row counted for
// the part of it inside the window), the async queue, builds, nodes and security events. The cost follows the
// number of functions with calls in the window, never the number of calls.
import type { Executor } from '../db/schema.js';
import { Histogram } from '../stats/histogram.js';
import { cover, DAY, MINUTE, RECENT } from '../stats/rollups.js';
import { statsRepo } from '../stats/stats.repo.js';
import { alertsRepo, type FnScope } from './alerts.repo.js';
import type { Params, Reading, RuleKind } from './rules.js';

/** A rule as the evaluator uses it: a built-in one with an operator's changes, or one an owner made. */
export interface EffectiveRule {
  id: string;
  name: string;
  kind: RuleKind;
  /** null: a fleet rule. */
  ownerId: string | null;
  functionId: string | null;
  params: Params;
  enabled: boolean;
  builtin: boolean;
}

export interface Subject {
  /** What the alert is about, unique within the rule. */
  key: string;
  ownerId: string | null;
  functionId: string | null;
  labels: Record<string, string>;
  reading: Reading;
  summary: string;
}

const pct = (n: number) => `${n.toFixed(1)}%`;
const secs = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`);

interface Window {
  calls: number;
  errors: number;
  cold: number;
  oom: number;
  /** Rows counted whole (no weighting): whether the window had any call at all. */
  any: boolean;
  latency: Histogram | undefined;
}

/** A week of a function's latency before the window: what "degraded" is measured against (cached 10 minutes). */
const BASELINE_MS = 7 * DAY;
const BASELINE_CACHE_MS = 10 * MINUTE;

export class Readings {
  private readonly baselines = new Map<string, { at: number; p95: number | null; calls: number }>();

  constructor(private readonly db: Executor) {}

  /** Each subject of the rule with its reading now. */
  async of(rule: EffectiveRule, now: number): Promise<Subject[]> {
    const p = rule.params;
    const windowMs = p.windowSec * 1000;
    const scope: FnScope = rule.functionId ? { functionId: rule.functionId } : rule.ownerId ? { ownerId: rule.ownerId } : { all: true };
    switch (rule.kind) {
      case 'error_rate':
      case 'cold_start_rate':
      case 'latency_p95':
      case 'oom':
        return this.calls(rule, scope, windowMs, now);
      case 'dead_letters': {
        const rows = await alertsRepo.deadLetters(this.db, scope, now - windowMs);
        return this.perFunction(rule, rows.map((r) => ({ id: r.function_id, value: Number(r.n) })), (v, f) => `${f}: ${v} call${v === 1 ? '' : 's'} dead-lettered in the last ${secs(windowMs)}`);
      }
      case 'queue_age': {
        const rows = await alertsRepo.oldestQueued(this.db, scope, now);
        return this.perFunction(rule, rows.map((r) => ({ id: r.function_id, value: Math.round((now - Number(r.due)) / 1000) })), (v, f) => `${f}: its oldest queued call has waited ${v} s`);
      }
      case 'build_failed': {
        const rows = await alertsRepo.failedBuilds(this.db, scope, now - windowMs);
        return this.perFunction(rule, rows.map((r) => ({ id: r.function_id, value: Number(r.n) })), (v, f) => `${f}: ${v} build${v === 1 ? '' : 's'} failed in the last ${secs(windowMs)}`);
      }
      case 'node_down':
      case 'node_memory':
      case 'node_disk':
        return this.nodes(rule, now);
      case 'security': {
        const event = p.event ?? 'refresh_reuse';
        const rows = await alertsRepo.securityCounts(this.db, event, now - windowMs);
        return rows.map((r) => {
          const n = Number(r.n);
          return {
            key: `${event}|${r.subject}`,
            ownerId: null,
            functionId: null,
            labels: { event, subject: r.subject },
            reading: { value: n, threshold: p.threshold },
            summary: `${SECURITY_WORDS[event]} (${r.subject}): ${n} in the last ${secs(windowMs)}`,
          };
        });
      }
    }
  }

  private async calls(rule: EffectiveRule, scope: FnScope, windowMs: number, now: number): Promise<Subject[]> {
    const p = rule.params;
    const size = windowMs <= 2 * MINUTE ? RECENT : MINUTE;
    const from = now - windowMs;
    const latency = rule.kind === 'latency_p95';
    const rows = await alertsRepo.rollups(this.db, scope, size, from - (from % size), latency);
    const byFn = new Map<string, Window>();
    for (const r of rows) {
      const start = Number(r.start);
      const w = start < from ? (start + size - from) / size : 1;
      let win = byFn.get(r.function_id);
      if (!win) byFn.set(r.function_id, (win = { calls: 0, errors: 0, cold: 0, oom: 0, any: false, latency: latency ? new Histogram() : undefined }));
      const calls = Number(r.calls);
      win.any ||= calls > 0 && w > 0;
      win.calls += calls * w;
      win.errors += (Number(r.error) + Number(r.timeout) + Number(r.oom) + Number(r.crashed) + Number(r.agent_lost)) * w;
      win.cold += Number(r.cold_starts) * w;
      win.oom += Number(r.oom) * w;
      if (latency && r.latency) win.latency!.merge(Histogram.decode(r.latency));
    }
    const span = secs(windowMs);
    const out: { id: string; reading: Reading; summary: (f: string) => string }[] = [];
    for (const [id, win] of byFn) {
      const calls = Math.round(win.calls);
      const empty = !win.any || win.calls < 0.5;
      const unsure = !empty && win.calls < p.minCalls;
      if (rule.kind === 'error_rate') {
        const value = win.calls ? (win.errors / win.calls) * 100 : 0;
        out.push({ id, reading: { value, threshold: p.threshold, empty, unsure }, summary: (f) => `${f}: ${pct(value)} of its calls failed in the last ${span} (${Math.round(win.errors)} of ${calls})` });
      } else if (rule.kind === 'cold_start_rate') {
        const value = win.calls ? (win.cold / win.calls) * 100 : 0;
        out.push({ id, reading: { value, threshold: p.threshold, empty, unsure }, summary: (f) => `${f}: ${pct(value)} of its calls were cold starts in the last ${span} (${Math.round(win.cold)} of ${calls})` });
      } else if (rule.kind === 'oom') {
        const value = Math.round(win.oom);
        out.push({ id, reading: { value, threshold: p.threshold, empty: value === 0 }, summary: (f) => `${f}: ${value} call${value === 1 ? '' : 's'} ran out of memory in the last ${span}` });
      } else {
        const value = win.latency && win.latency.count ? win.latency.quantile(0.95) : 0;
        // The week's baseline is read only for a function with enough calls now to be judged.
        const level = empty || unsure ? { threshold: 0, baseline: null } : await this.latencyLevel(id, rule, now - windowMs, now);
        out.push({
          id,
          reading: { value, threshold: level.threshold, empty, unsure: unsure || level.threshold <= 0 },
          summary: (f) => `${f}: p95 ${Math.round(value)} ms over the last ${span}${level.baseline === null ? '' : ` (${Math.round(level.baseline)} ms the week before)`}`,
        });
      }
    }
    return this.perFunction(
      rule,
      out.map((o) => ({ id: o.id, value: o.reading.value, reading: o.reading, summary: o.summary })),
      () => '',
    );
  }

  /** The level a p95 is compared with: the rule's threshold, or its factor × the function's p95 of the week before (and minDeltaMs over it). */
  private async latencyLevel(functionId: string, rule: EffectiveRule, windowFrom: number, now: number): Promise<{ threshold: number; baseline: number | null }> {
    const p = rule.params;
    if (p.factor === null) return { threshold: p.threshold, baseline: null };
    let b = this.baselines.get(functionId);
    if (!b || now - b.at > BASELINE_CACHE_MS) {
      const folded = await statsRepo.folded(this.db);
      const rows = await statsRepo.rollups(this.db, { functionId }, cover(windowFrom - BASELINE_MS, windowFrom, folded));
      const h = new Histogram();
      let calls = 0;
      for (const r of rows) {
        if (Number(r.start) + Number(r.size_ms) > windowFrom) continue;
        calls += Number(r.calls);
        h.merge(Histogram.decode(r.latency));
      }
      b = { at: now, p95: calls ? h.quantile(0.95) : null, calls };
      if (this.baselines.size > 10_000) this.baselines.clear();
      this.baselines.set(functionId, b);
    }
    if (b.p95 === null || b.calls < p.minCalls) return { threshold: p.threshold, baseline: null };
    return { threshold: Math.max(p.threshold, p.factor * b.p95, b.p95 + p.minDeltaMs), baseline: b.p95 };
  }

  /** Readings of functions, labelled with the function's `team/name`. */
  private async perFunction(rule: EffectiveRule, values: { id: string; value: number; reading?: Reading; summary?: (f: string) => string }[], summary: (v: number, f: string) => string): Promise<Subject[]> {
    const fns = new Map((await alertsRepo.functionsByIds(this.db, values.map((v) => v.id))).map((f) => [f.id, f]));
    const out: Subject[] = [];
    for (const v of values) {
      const fn = fns.get(v.id);
      if (!fn) continue;
      const name = `${fn.handle}/${fn.name}`;
      out.push({
        key: fn.id,
        ownerId: fn.owner_id,
        functionId: fn.id,
        labels: { function: name },
        reading: v.reading ?? { value: v.value, threshold: rule.params.threshold, empty: v.value === 0 },
        summary: v.summary ? v.summary(name) : summary(v.value, name),
      });
    }
    return out;
  }

  private async nodes(rule: EffectiveRule, now: number): Promise<Subject[]> {
    const p = rule.params;
    const out: Subject[] = [];
    for (const n of await alertsRepo.nodes(this.db)) {
      const base = { key: n.id, ownerId: null, functionId: null, labels: { node: n.name } };
      if (rule.kind === 'node_down') {
        const silent = n.last_heartbeat_at == null ? null : Math.round((now - Number(n.last_heartbeat_at)) / 1000);
        const bad = n.status === 'suspect' || n.status === 'down';
        out.push({ ...base, reading: { value: bad ? 1 : 0, threshold: 1, empty: !bad }, summary: `node ${n.name} is ${n.status}${silent === null ? '' : `: no heartbeat for ${silent} s`}` });
      } else if (n.status !== 'down') {
        const [used, total, what] = rule.kind === 'node_memory' ? [n.memory_used_bytes, n.memory_bytes, 'memory'] : [n.disk_used_bytes, n.disk_bytes, 'disk'];
        if (!Number(total)) continue;
        const value = (Number(used) / Number(total)) * 100;
        out.push({ ...base, reading: { value, threshold: p.threshold }, summary: `node ${n.name}: ${what} ${pct(value)} used (${gib(Number(used))} of ${gib(Number(total))})` });
      }
    }
    return out;
  }
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

const SECURITY_WORDS: Record<string, string> = {
  refresh_reuse: 'a spent refresh token was presented again (its session was revoked)',
  login_throttled: 'logins throttled after repeated failures',
  bad_join_token: 'a node tried to join with a bad join token',
  disabled_account_token: 'a disabled account’s token was presented',
};
