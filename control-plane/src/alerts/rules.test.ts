// Table-driven cases for an alert's states (rules.ts step): firing after forSec, resolving after clearSec below the
// clearing level (hysteresis), dropping a pending alert, keeping state on too little data — and the built-in rules'
// parameters as the API shows them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUILTIN_RULES, clearLevel, paramsOf, step, type OpenState, type Reading, type RuleKind } from './rules.js';
import { effectiveRules, silences } from './evaluator.js';

const P = { forSec: 5, clearSec: 10 };
const pending = (startedAt: number): OpenState => ({ state: 'pending', startedAt, clearSince: null });
const firing = (clearSince: number | null = null): OpenState => ({ state: 'firing', startedAt: 0, clearSince });
const r = (value: number, threshold = 5, extra: Partial<Reading> = {}): Reading => ({ value, threshold, ...extra });

const cases: { name: string; kind?: RuleKind; p?: { forSec: number; clearSec: number }; open?: OpenState; reading: Reading; now: number; want: string }[] = [
  { name: 'below the threshold, nothing open: nothing', reading: r(4), now: 0, want: 'none' },
  { name: 'at the threshold of a rate: not over it', reading: r(5), now: 0, want: 'none' },
  { name: 'over it: pending first', reading: r(6), now: 1000, want: 'pending' },
  { name: 'over it with forSec 0: firing at once', p: { forSec: 0, clearSec: 0 }, reading: r(6), now: 0, want: 'firing' },
  { name: 'too few calls: nothing opens', reading: r(100, 5, { unsure: true }), now: 0, want: 'none' },
  { name: 'pending, still over, before forSec: kept', open: pending(1000), reading: r(9), now: 5999, want: 'keep' },
  { name: 'pending, still over, forSec passed: firing', open: pending(1000), reading: r(9), now: 6000, want: 'firing' },
  { name: 'pending, gone before forSec: dropped (never sent)', open: pending(1000), reading: r(1), now: 3000, want: 'dropped' },
  { name: 'firing, between the clearing level and the threshold: kept (hysteresis)', open: firing(), reading: r(4.5), now: 50_000, want: 'keep' },
  { name: 'firing, below 80 % of the threshold: clearing begins, kept', open: firing(), reading: r(3.9), now: 50_000, want: 'keep' },
  { name: 'firing, below it for less than clearSec: kept', open: firing(41_000), reading: r(1), now: 50_000, want: 'keep' },
  { name: 'firing, below it for clearSec: resolved', open: firing(40_000), reading: r(1), now: 50_000, want: 'resolved' },
  { name: 'firing, no calls at all for clearSec: resolved', open: firing(40_000), reading: r(0, 5, { empty: true }), now: 50_000, want: 'resolved' },
  { name: 'firing, too few calls to judge: kept, whatever the value', open: firing(40_000), reading: r(0, 5, { unsure: true }), now: 90_000, want: 'keep' },
  { name: 'a count fires at its threshold', kind: 'security', p: { forSec: 0, clearSec: 0 }, reading: r(1, 1), now: 0, want: 'firing' },
  { name: 'a count resolves below it', kind: 'security', p: { forSec: 0, clearSec: 0 }, open: firing(), reading: r(0, 1), now: 0, want: 'resolved' },
];

for (const c of cases) {
  test(c.name, () => {
    assert.is(step(c.kind ?? 'error_rate', c.p ?? P, c.open, c.reading, c.now).to, c.want);
  });
}

test('a value hovering around the threshold fires once and does not flap', () => {
  let open: OpenState | undefined;
  const transitions: string[] = [];
  const values = [6, 6, 4.5, 5.5, 4.2, 6, 4.1, 5.2, 4.4, 5.1];
  values.forEach((value, i) => {
    const now = i * 5000;
    const next = step('error_rate', P, open, r(value), now);
    if (next.to === 'pending') open = { state: 'pending', startedAt: next.startedAt, clearSince: null };
    else if (next.to === 'firing') open = { state: 'firing', startedAt: now, clearSince: null };
    else if (next.to === 'keep' && open) open = { ...open, clearSince: next.clearSince };
    else if (next.to === 'resolved' || next.to === 'dropped') open = undefined;
    if (next.to !== 'keep' && next.to !== 'none') transitions.push(next.to);
  });
  assert.equal(transitions, ['pending', 'firing']);
});

test('clearing levels: 80 % of a rate or latency, below the threshold of a count', () => {
  assert.is(clearLevel('error_rate', 5), 4);
  assert.is(clearLevel('latency_p95', 500), 400);
  assert.ok(clearLevel('dead_letters', 1) < 1 && clearLevel('dead_letters', 1) > 0.99);
});

test('built-in rules: defaults, an operator’s changes, disabling', () => {
  const none = effectiveRules([]);
  assert.is(none.length, BUILTIN_RULES.length);
  const er = none.find((x) => x.id === 'builtin:error-rate')!;
  assert.equal([er.params.threshold, er.params.windowSec, er.params.minCalls, er.params.forSec, er.params.clearSec, er.enabled], [5, 30, 10, 5, 10, true]);
  const changed = effectiveRules([{ id: 'builtin:error-rate', owner_id: null, function_id: null, name: 'Errors', kind: 'error_rate', params: '{"threshold":20}', enabled: 0, created_at: 0, updated_at: 0 }]);
  const er2 = changed.find((x) => x.id === 'builtin:error-rate')!;
  assert.equal([er2.name, er2.params.threshold, er2.params.windowSec, er2.enabled], ['Errors', 20, 30, false]);
  assert.is(paramsOf('security', { event: 'bad_join_token' }).event, 'bad_join_token');
});

test('silences: every matcher given must match', () => {
  const alert = { rule_id: 'builtin:oom', function_id: 'f1', labels: JSON.stringify({ function: 'team/api' }) };
  const s = (m: object) => ({ id: 's', owner_id: null, matchers: JSON.stringify(m), comment: '', created_by: null, created_at: 0, ends_at: 1 });
  assert.ok(silences(s({ ruleId: 'builtin:oom' }), alert, 'oom'));
  assert.ok(silences(s({ kind: 'oom', subject: 'team/api' }), alert, 'oom'));
  assert.not.ok(silences(s({ ruleId: 'builtin:oom', functionId: 'f2' }), alert, 'oom'));
  assert.not.ok(silences(s({ kind: 'error_rate' }), alert, 'oom'));
});

test.run();
