// The outcome table: every outcome round-trips through the wire enum, and maps to the status, problem code and
// HTTP status the API documents.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Outcome as WIRE } from './generated/containerpub/agent/v1/Outcome.js';
import { AGENT_LOST, EXECUTION_STATUSES, failureOf, fromWire, httpStatusOf, statusOfOutcome, toWire, type Outcome } from './outcomes.js';

const CASES: [Outcome, string, string, string | undefined, number][] = [
  // outcome, wire, record status, problem code, HTTP status
  ['ok', 'OUTCOME_OK', 'success', undefined, 200],
  ['error', 'OUTCOME_ERROR', 'error', 'function_error', 500],
  ['timeout', 'OUTCOME_TIMEOUT', 'timeout', 'function_timeout', 504],
  ['oom', 'OUTCOME_OOM', 'oom', 'function_oom', 502],
  ['crashed', 'OUTCOME_CRASHED', 'crashed', 'function_crashed', 502],
  ['rejected', 'OUTCOME_REJECTED', 'rejected', 'agent_busy', 503],
];

test('each outcome: wire value, record status, problem code and HTTP status', () => {
  for (const [o, wire, status, code, http] of CASES) {
    assert.is(toWire(o), wire, o);
    assert.is(fromWire(wire), o, o);
    assert.is(statusOfOutcome(o), status, o);
    assert.is(failureOf(o)?.code, code, o);
    assert.is(httpStatusOf(o), http, o);
    assert.ok((EXECUTION_STATUSES as readonly string[]).includes(status), o);
  }
});

test('every wire value but UNSPECIFIED is an outcome; an unknown one reads as error', () => {
  const named = Object.values(WIRE).filter((w) => w !== 'OUTCOME_UNSPECIFIED');
  assert.equal(named.sort(), CASES.map((c) => c[1]).sort());
  assert.is(fromWire('OUTCOME_UNSPECIFIED'), 'error');
  assert.is(fromWire('OUTCOME_FROM_THE_FUTURE'), 'error');
});

test('a busy node says when to try again; a lost agent is a 502 of its own status', () => {
  assert.is(failureOf('rejected')?.retryAfter, 1);
  assert.equal([AGENT_LOST.code, AGENT_LOST.httpStatus], ['agent_lost', 502]);
  assert.ok(EXECUTION_STATUSES.includes('agent_lost'));
});

test.run();
