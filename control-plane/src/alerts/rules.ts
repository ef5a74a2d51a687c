// Alert rules: their kinds, parameters, the built-in defaults, and the one state machine every alert follows — a
// pure function (`step`), so hysteresis is a table of cases (rules.test.ts).
//   - A condition seen (a value over the threshold; a count at or over it) opens a `pending` alert; it fires once the condition has held for the rule's `forSec`.
//   - A firing alert resolves once its value has stayed at or below the clearing level (80 % of the threshold for
//     a rate or a latency, below it for a count) for `clearSec`: a value hovering at the threshold fires once, not
//     on every evaluation (no flapping).
//   - A pending alert whose condition goes away before `forSec` is dropped, never delivered.
//   - Too few calls to judge (fewer than `minCalls`, but some) keeps the state; no calls at all clears it.
import { z } from '@hono/zod-openapi';
import { SECURITY_EVENTS, type SecurityEvent } from '../auth/auth.service.js';

export const FUNCTION_KINDS = ['error_rate', 'latency_p95', 'cold_start_rate', 'oom', 'dead_letters', 'queue_age', 'build_failed'] as const;
export const FLEET_KINDS = ['node_down', 'node_memory', 'node_disk', 'security'] as const;
export const RULE_KINDS = [...FUNCTION_KINDS, ...FLEET_KINDS] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
export { SECURITY_EVENTS, type SecurityEvent };
export const isFunctionKind = (k: string): boolean => (FUNCTION_KINDS as readonly string[]).includes(k);

/** What a rule is given; each kind reads the fields it needs (KIND_FIELDS). */
export const RuleParamsSchema = z
  .object({
    threshold: z.number().min(0).max(1e9).openapi({ description: 'error_rate, cold_start_rate, node_memory, node_disk: percent; latency_p95: ms; queue_age: seconds; oom, dead_letters, build_failed, security: a count in the window' }),
    factor: z.number().min(1).max(100).nullable().openapi({ description: 'latency_p95: fire when the p95 is over factor × its own p95 of the previous week (degradation); null: the threshold alone' }),
    minDeltaMs: z.number().min(0).max(3_600_000).openapi({ description: 'latency_p95 with a factor: and at least this much over the baseline' }),
    windowSec: z.number().int().min(10).max(86_400).openapi({ description: 'the window the value is measured over' }),
    minCalls: z.number().int().min(1).max(1_000_000).openapi({ description: 'rates and latency: fewer calls in the window prove nothing' }),
    forSec: z.number().int().min(0).max(86_400).openapi({ description: 'how long the condition must hold before the alert fires' }),
    clearSec: z.number().int().min(0).max(86_400).openapi({ description: 'how long the value must stay below its clearing level before the alert resolves' }),
    event: z.enum(SECURITY_EVENTS).openapi({ description: 'security: which event' }),
    severity: z.enum(['critical', 'warning', 'info']),
  })
  .partial()
  .strict();
export type RuleParams = z.infer<typeof RuleParamsSchema>;
export type Params = Required<Omit<RuleParams, 'event' | 'factor'>> & { event?: SecurityEvent; factor: number | null };

const BASE = { factor: null, minDeltaMs: 0, minCalls: 1, forSec: 0, clearSec: 0, windowSec: 300, severity: 'warning' as const };
/** Each kind's defaults (what a rule that does not say gets). */
export const KIND_DEFAULTS: Record<RuleKind, Params> = {
  error_rate: { ...BASE, threshold: 5, windowSec: 30, minCalls: 10, forSec: 5, clearSec: 10, severity: 'critical' },
  latency_p95: { ...BASE, threshold: 0, factor: 2, minDeltaMs: 50, windowSec: 300, minCalls: 20, forSec: 60, clearSec: 60 },
  cold_start_rate: { ...BASE, threshold: 50, windowSec: 300, minCalls: 20, forSec: 60, clearSec: 60 },
  oom: { ...BASE, threshold: 1, windowSec: 300 },
  dead_letters: { ...BASE, threshold: 1, windowSec: 300 },
  queue_age: { ...BASE, threshold: 300, clearSec: 30 },
  build_failed: { ...BASE, threshold: 1, windowSec: 600 },
  node_down: { ...BASE, threshold: 1, severity: 'critical' },
  node_memory: { ...BASE, threshold: 90, forSec: 60, clearSec: 60 },
  node_disk: { ...BASE, threshold: 90, forSec: 60, clearSec: 60 },
  security: { ...BASE, threshold: 1, windowSec: 300, event: 'refresh_reuse', severity: 'critical' },
};

/** The parameters each kind reads (what the API shows of a rule). */
const RATE = ['threshold', 'windowSec', 'minCalls', 'forSec', 'clearSec', 'severity'];
const COUNT = ['threshold', 'windowSec', 'forSec', 'clearSec', 'severity'];
const STATE = ['threshold', 'forSec', 'clearSec', 'severity'];
export const KIND_FIELDS: Record<RuleKind, string[]> = {
  error_rate: RATE,
  cold_start_rate: RATE,
  latency_p95: [...RATE, 'factor', 'minDeltaMs'],
  oom: COUNT,
  dead_letters: COUNT,
  build_failed: COUNT,
  security: [...COUNT, 'event'],
  queue_age: STATE,
  node_down: ['forSec', 'clearSec', 'severity'],
  node_memory: STATE,
  node_disk: STATE,
};

/** Kinds whose value is a count or a state: they fire at the threshold and clear below it, not at 80 % of it. */
const COUNTED = new Set<RuleKind>(['oom', 'dead_letters', 'build_failed', 'node_down', 'security']);

export interface BuiltinRule {
  id: string;
  name: string;
  kind: RuleKind;
  params: RuleParams;
}

/** The rules every installation starts with (fleet rules: they cover every function). An admin may change or disable them. */
export const BUILTIN_RULES: BuiltinRule[] = [
  { id: 'builtin:error-rate', name: 'Function error rate', kind: 'error_rate', params: {} },
  { id: 'builtin:latency-degradation', name: 'Function p95 latency degraded', kind: 'latency_p95', params: {} },
  { id: 'builtin:cold-starts', name: 'Function cold-start rate', kind: 'cold_start_rate', params: {} },
  { id: 'builtin:oom', name: 'Function out of memory', kind: 'oom', params: {} },
  { id: 'builtin:dead-letters', name: 'Dead letters', kind: 'dead_letters', params: {} },
  { id: 'builtin:queue-age', name: 'Async queue backed up', kind: 'queue_age', params: {} },
  { id: 'builtin:builds-failing', name: 'Builds failing', kind: 'build_failed', params: {} },
  { id: 'builtin:node-down', name: 'Node not answering', kind: 'node_down', params: {} },
  { id: 'builtin:node-memory', name: 'Node memory high', kind: 'node_memory', params: {} },
  { id: 'builtin:node-disk', name: 'Node disk high', kind: 'node_disk', params: {} },
  { id: 'builtin:refresh-reuse', name: 'Refresh token reused', kind: 'security', params: { event: 'refresh_reuse' } },
  { id: 'builtin:login-throttled', name: 'Logins throttled', kind: 'security', params: { event: 'login_throttled' } },
  { id: 'builtin:bad-join', name: 'Node join with a bad token', kind: 'security', params: { event: 'bad_join_token' } },
  { id: 'builtin:disabled-token', name: 'Disabled account’s token presented', kind: 'security', params: { event: 'disabled_account_token' } },
];

export const paramsOf = (kind: RuleKind, given: RuleParams): Params => {
  const p = { ...KIND_DEFAULTS[kind] } as Params;
  for (const [k, v] of Object.entries(given)) if (v !== undefined) (p as Record<string, unknown>)[k] = v;
  return p;
};

/** The level a firing alert's value must stay at or below to resolve. */
export function clearLevel(kind: RuleKind, threshold: number): number {
  return COUNTED.has(kind) ? threshold - 1e-9 : threshold * 0.8;
}

/** One measurement of a rule's subject: its value, whether it crosses, and whether there was enough to judge. */
export interface Reading {
  value: number;
  /** The level it is compared with (the threshold, or factor × baseline for a degradation). */
  threshold: number;
  /** No data at all (no calls in the window): clears. */
  empty?: boolean;
  /** Some data, too little to judge: keeps the state. */
  unsure?: boolean;
}

export interface OpenState {
  state: 'pending' | 'firing';
  startedAt: number;
  clearSince: number | null;
}

export type Step =
  | { to: 'none' }
  | { to: 'keep'; clearSince: number | null }
  | { to: 'pending'; startedAt: number }
  | { to: 'firing'; clearSince: null }
  | { to: 'resolved' }
  | { to: 'dropped' };

/** Where an alert goes from `open` (undefined: none) given a reading at `now`. */
export function step(kind: RuleKind, p: Pick<Params, 'forSec' | 'clearSec'>, open: OpenState | undefined, r: Reading, now: number): Step {
  const crossing = !r.empty && !r.unsure && (COUNTED.has(kind) ? r.value >= r.threshold : r.value > r.threshold);
  if (!open) {
    if (!crossing) return { to: 'none' };
    return p.forSec === 0 ? { to: 'firing', clearSince: null } : { to: 'pending', startedAt: now };
  }
  if (r.unsure) return { to: 'keep', clearSince: open.clearSince };
  if (open.state === 'pending') {
    if (!crossing) return { to: 'dropped' };
    return now - open.startedAt >= p.forSec * 1000 ? { to: 'firing', clearSince: null } : { to: 'keep', clearSince: null };
  }
  const clear = r.empty || r.value <= clearLevel(kind, r.threshold);
  if (!clear) return { to: 'keep', clearSince: null };
  const since = open.clearSince ?? now;
  return now - since >= p.clearSec * 1000 ? { to: 'resolved' } : { to: 'keep', clearSince: since };
}
