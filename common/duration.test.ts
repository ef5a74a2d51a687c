// The duration parser shared by the server's settings and the CLI's flags.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { durationMs } from './duration.js';
import { duration } from './settings.js';

test('each unit, and a bare number as milliseconds', () => {
  assert.equal(['60000ms', '300s', '5m', '24h', '30d', '250', '0s'].map(durationMs), [60_000, 300_000, 300_000, 86_400_000, 2_592_000_000, 250, 0]);
});

test('anything else is not a duration', () => {
  for (const bad of ['', '5 m', '1.5h', '-1s', '5w', 'ms', '10S', ' 5m']) assert.is(durationMs(bad), undefined, bad);
});

test("the settings' schema reads the same, and names the form when it is wrong", () => {
  assert.is(duration.parse('5m'), 300_000);
  const r = duration.safeParse('5w');
  assert.ok(!r.success && r.error.issues[0]!.message === 'must be a duration like 300s, 5m, 24h, 30d or 60000ms');
});

test.run();
