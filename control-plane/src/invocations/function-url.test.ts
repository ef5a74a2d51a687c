// The function URL's Server-Timing header: where a call's time went, warm and cold.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { serverTiming } from './function-url.js';
import type { CallOutcome } from './invocation.service.js';

const outcome = (coldStart: boolean, prewarmed: boolean) =>
  ({ coldStart, durationMs: 12, timings: { queuedMs: 0, createMs: 5, startMs: 6, readyMs: 7, runMs: 2, prewarmed, placementMs: 1, agentMs: 3.5, recordMs: 4 } }) as unknown as CallOutcome;

test('a warm call: placement, run, the agent round trip, the record, the total', () => {
  assert.is(serverTiming(outcome(false, false)), 'placement;dur=1, run;dur=2, agent;desc="round trip to the agent";dur=3.5, record;desc="execution row";dur=4, total;dur=12');
});

test('a cold start adds its kind (stem or container) and phases', () => {
  assert.is(serverTiming(outcome(true, true)), 'placement;dur=1, cold;desc="stem", create;dur=5, start;dur=6, ready;dur=7, run;dur=2, agent;desc="round trip to the agent";dur=3.5, record;desc="execution row";dur=4, total;dur=12');
  assert.match(serverTiming(outcome(true, false)), /^placement;dur=1, cold;desc="container", create;dur=5,/);
});

test.run();
