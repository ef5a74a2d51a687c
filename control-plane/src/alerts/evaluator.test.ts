// Every built-in rule driven to fire and to resolve on a real SQLite database, with its default parameters, by the
// data it reads (rollup rows, dead letters, the queue, failed builds, nodes, security events), the clock passed in;
// then the notifier delivers what the passes wrote to a webhook receiver on 127.0.0.1 — a firing and a resolved
// group per rule, to the team's channel for alerts about its function and to the fleet's for every built-in rule.
// A team's own rule reaches the team only; a silence holds its owner's deliveries back until it ends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { withQueue } from '../../../tests/helpers/queue.js';
import { deploymentRow } from '../../../tests/helpers/store.js';
import { createLogger } from '../../../common/logger.js';
import { createSealer } from '../secrets/crypto.js';
import type { Executor } from '../db/schema.js';
import { AddressGuard } from '../async-calls/destinations.js';
import { DAY, foldRows, HOUR, RECENT, rollupRows, type RolledCall } from '../stats/rollups.js';
import { AlertEvaluator } from './evaluator.js';
import { AlertNotifier } from './notifier.js';
import { alertsRepo } from './alerts.repo.js';
import { BUILTIN_RULES, paramsOf } from './rules.js';
import type { ExecutionStatus } from '../db/schema.js';

const log = createLogger('silent');
const calls = (at: number, n: number, patch: Partial<RolledCall> = {}, status: ExecutionStatus = 'success'): RolledCall[] =>
  Array.from({ length: n }, () => ({ functionId: 'f', version: 1, startedAt: at, status, coldStart: false, queued: false, retry: false, durationMs: 20, cpuMs: 1, peakMemoryBytes: 0, ...patch }));
/** The calls' rows as the writer leaves them (and, `folded`: the folding into hours and days, as for past hours). */
async function rollups(db: Executor, list: RolledCall[], folded = false): Promise<void> {
  const minutes = rollupRows(list);
  const rows = [...minutes, ...rollupRows(list, RECENT), ...(folded ? [...foldRows(minutes, HOUR), ...foldRows(minutes, DAY)] : [])];
  for (const row of rows) await db.insertInto('execution_rollups').values(row as never).execute();
}
const asyncCall = (patch: Record<string, unknown>) => ({ id: 'c1', function_id: 'f', trigger: 'api' as const, state: 'queued' as const, method: 'POST', path: '/', query: '', headers: '[]', body: Buffer.from('{}'), attempts: 1, due_at: 0, claimed_by: null, claimed_until: null, history: '[]', answer: null, answer_body: null, created_at: 0, finished_at: null, replayed_as: null, ...patch });
const node = (id: string, patch: Record<string, unknown> = {}) => ({ id, name: id, advertise: '127.0.0.1:1', credential_sealed: 'x', status: 'up' as const, epoch: 'e', last_heartbeat_at: Date.now(), created_at: 0, updated_at: 0, ...patch });

/** What each rule is driven by: data that crosses its threshold at `now`, and the change that clears it. */
const DRIVES: Record<string, { cross: (db: Executor, now: number) => Promise<void>; clear: (db: Executor) => Promise<void> }> = {
  'builtin:error-rate': {
    cross: (db, now) => rollups(db, [...calls(now - 4000, 12), ...calls(now - 4000, 8, {}, 'error')]),
    clear: (db) => db.deleteFrom('execution_rollups').execute().then(() => {}),
  },
  'builtin:latency-degradation': {
    // The week before: p95 ≈ 20 ms; now: 500 ms.
    cross: async (db, now) => {
      await rollups(db, calls(now - 86_400_000, 200), true);
      await rollups(db, calls(now - 30_000, 30, { durationMs: 500 }));
    },
    clear: (db) => db.deleteFrom('execution_rollups').where('start', '>', Date.now() - 3_600_000).execute().then(() => {}),
  },
  'builtin:cold-starts': {
    cross: (db, now) => rollups(db, [...calls(now - 30_000, 20, { coldStart: true }), ...calls(now - 30_000, 5)]),
    clear: (db) => db.deleteFrom('execution_rollups').execute().then(() => {}),
  },
  'builtin:oom': {
    cross: (db, now) => rollups(db, calls(now - 30_000, 1, {}, 'oom')),
    clear: (db) => db.deleteFrom('execution_rollups').execute().then(() => {}),
  },
  'builtin:dead-letters': {
    cross: (db, now) => db.insertInto('async_calls').values(asyncCall({ state: 'failed', due_at: now - 5000, finished_at: now - 1000 })).execute().then(() => {}),
    clear: (db) => db.updateTable('async_calls').set({ replayed_as: 'replayed' }).execute().then(() => {}),
  },
  'builtin:queue-age': {
    cross: (db, now) => db.updateTable('async_calls').set({ state: 'queued', due_at: now - 400_000, replayed_as: null, finished_at: null }).execute().then(() => {}),
    clear: (db) => db.deleteFrom('async_calls').execute().then(() => {}),
  },
  'builtin:builds-failing': {
    cross: (db, now) => db.insertInto('deployments').values({ ...deploymentRow('f', 7), status: 'failed', error: 'npm failed', finished_at: now - 1000 }).execute().then(() => {}),
    clear: (db) => db.deleteFrom('deployments').execute().then(() => {}),
  },
  'builtin:node-down': {
    cross: (db) => db.insertInto('nodes').values(node('n1', { status: 'suspect' })).execute().then(() => {}),
    clear: (db) => db.updateTable('nodes').set({ status: 'up' }).execute().then(() => {}),
  },
  'builtin:node-memory': {
    cross: (db) => db.updateTable('nodes').set({ memory_bytes: 1000, memory_used_bytes: 950 }).execute().then(() => {}),
    clear: (db) => db.updateTable('nodes').set({ memory_used_bytes: 100 }).execute().then(() => {}),
  },
  'builtin:node-disk': {
    cross: (db) => db.updateTable('nodes').set({ disk_bytes: 1000, disk_used_bytes: 990 }).execute().then(() => {}),
    clear: (db) => db.updateTable('nodes').set({ disk_used_bytes: 100 }).execute().then(() => {}),
  },
};
for (const event of ['refresh-reuse', 'login-throttled', 'bad-join', 'disabled-token']) {
  const rule = BUILTIN_RULES.find((r) => r.id === `builtin:${event}`)!;
  DRIVES[rule.id] = {
    cross: (db, now) => alertsRepo.addSecurityEvents(db, [{ id: `e-${event}`, event: rule.params.event!, subject: 'account mallory@example.com', count: 1, at: now - 1000 }]),
    clear: (db) => db.deleteFrom('security_events').execute().then(() => {}),
  };
}

test('every built-in rule fires and resolves with its defaults, delivered to the team’s and the fleet’s webhooks', async () => {
  await withQueue(0, async (db) => {
    const posts: { path: string; body: { status: string; groupLabels: { rule: string }; alerts: { labels: Record<string, string> }[] } }[] = [];
    const receiver = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (p: Buffer) => parts.push(p));
      req.on('end', () => {
        posts.push({ path: req.url!, body: JSON.parse(Buffer.concat(parts).toString()) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const sealer = createSealer(randomBytes(32));
    for (const [id, owner, path] of [['team', 'u', '/team'], ['fleet', null, '/fleet']] as const) {
      await alertsRepo.insertChannel(db.kysely, { id, owner_id: owner, name: id, type: 'webhook', target: base + path, secret_sealed: sealer.seal('k', `alert-channel:${id}`), created_by: null, created_at: 0 });
    }
    // A team rule of its own (team channel only), and a fleet silence of the cold-start rule.
    await alertsRepo.saveRule(db.kysely, { id: 'team-oom', owner_id: 'u', function_id: 'f', name: 'OOM in f', kind: 'oom', params: '{}', enabled: 1, created_at: 0, updated_at: 0 });
    await alertsRepo.insertSilence(db.kysely, { id: 's1', owner_id: null, matchers: JSON.stringify({ ruleId: 'builtin:cold-starts' }), comment: '', created_by: null, created_at: 0, ends_at: Date.now() + 3_600_000 });
    const ev = new AlertEvaluator(db.kysely, log, undefined, { everyMs: 1000, baseUrl: 'http://cpub.test' });
    const state = async (ruleId: string) => (await db.kysely.selectFrom('alerts').select(['state', 'summary']).where('rule_id', '=', ruleId).orderBy('started_at', 'desc').executeTakeFirst()) ?? { state: 'none', summary: '' };

    let now = Date.now();
    for (const [ruleId, drive] of Object.entries(DRIVES)) {
      const rule = BUILTIN_RULES.find((r) => r.id === ruleId)!;
      const p = paramsOf(rule.kind, rule.params);
      await drive.cross(db.kysely, now);
      await ev.pass(now);
      assert.is((await state(ruleId)).state, p.forSec ? 'pending' : 'firing', `${ruleId} after the first pass`);
      now += p.forSec * 1000;
      await ev.pass(now);
      const fired = await state(ruleId);
      assert.is(fired.state, 'firing', `${ruleId} fires after forSec (${fired.summary})`);
      await ev.pass(now + 1);
      assert.is((await alertsRepo.open(db.kysely)).filter((a) => a.rule_id === ruleId).length, 1, `${ruleId}: one alert, not one per pass`);
      await drive.clear(db.kysely);
      now += 1000;
      await ev.pass(now);
      if (p.clearSec) assert.is((await state(ruleId)).state, 'firing', `${ruleId} holds until clear for clearSec`);
      now += p.clearSec * 1000;
      await ev.pass(now);
      assert.is((await state(ruleId)).state, 'resolved', `${ruleId} resolves`);
      now += 600_000; // the next rule's data is out of this one's windows
    }

    // The passes ran on a clock hours ahead: their deliveries are due now.
    await db.kysely.updateTable('alert_deliveries').set({ due_at: Date.now() }).execute();
    const notifier = new AlertNotifier(db.kysely, sealer, new AddressGuard(['127.0.0.1/32']), log, undefined, { passMs: 50 });
    notifier.start();
    try {
      const pending = async () => (await db.kysely.selectFrom('alert_deliveries').select('id').where('state', '=', 'pending').execute()).length;
      for (let i = 0; i < 100 && (await pending()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.is(await pending(), 0, 'every delivery sent');
    } finally {
      await notifier.stop();
      await new Promise((r) => receiver.close(r));
    }
    const got = (path: string, rule: string, status: string) => posts.filter((x) => x.path === path && x.body.groupLabels.rule === rule && x.body.status === status).length;
    for (const ruleId of Object.keys(DRIVES)) {
      const functional = !/node|refresh|login|join|disabled/.test(ruleId);
      const silenced = ruleId === 'builtin:cold-starts';
      assert.equal([got('/fleet', ruleId, 'firing'), got('/fleet', ruleId, 'resolved')], silenced ? [0, 0] : [1, 1], `${ruleId} at the fleet channel`);
      assert.equal([got('/team', ruleId, 'firing'), got('/team', ruleId, 'resolved')], functional ? [1, 1] : [0, 0], `${ruleId} at the team channel`);
    }
    assert.equal([got('/team', 'team-oom', 'firing'), got('/fleet', 'team-oom', 'firing')], [1, 0], 'a team rule reaches the team only');
    const oom = posts.find((x) => x.body.groupLabels.rule === 'builtin:oom')!;
    assert.is(oom.body.alerts[0]!.labels.function, 'h-u/f');
  });
});

test('a pending alert whose condition goes before forSec is dropped: nothing is sent', async () => {
  await withQueue(0, async (db) => {
    await alertsRepo.insertChannel(db.kysely, { id: 'team', owner_id: 'u', name: 'team', type: 'webhook', target: 'http://127.0.0.1:9/', secret_sealed: null, created_by: null, created_at: 0 });
    const ev = new AlertEvaluator(db.kysely, log, undefined, { everyMs: 1000, baseUrl: 'http://cpub.test' });
    const now = Date.now();
    await DRIVES['builtin:error-rate']!.cross(db.kysely, now);
    await ev.pass(now);
    assert.is((await alertsRepo.open(db.kysely)).length, 1);
    await DRIVES['builtin:error-rate']!.clear(db.kysely);
    await ev.pass(now + 2000);
    assert.is((await alertsRepo.open(db.kysely)).length, 0);
    assert.is((await db.kysely.selectFrom('alert_deliveries').select('id').execute()).length, 0);
  });
});

test('a silence holds a firing back until it ends, then it is sent if the alert still fires; a resolution held back is sent when it ends; one fired and resolved under a silence is never sent', async () => {
  await withQueue(0, async (db) => {
    await alertsRepo.insertChannel(db.kysely, { id: 'fleet', owner_id: null, name: 'fleet', type: 'webhook', target: 'http://127.0.0.1:9/', secret_sealed: null, created_by: null, created_at: 0 });
    const ev = new AlertEvaluator(db.kysely, log, undefined, { everyMs: 1000, baseUrl: 'http://cpub.test' });
    const t = Date.now();
    const silence = (id: string, endsAt: number) => alertsRepo.insertSilence(db.kysely, { id, owner_id: null, matchers: JSON.stringify({ ruleId: 'builtin:node-down' }), comment: '', created_by: null, created_at: t, ends_at: endsAt });
    const sent = async () => (await db.kysely.selectFrom('alert_deliveries').select('body').orderBy('created_at').execute()).map((d) => JSON.parse(d.body) as { status: string; alerts: { labels: Record<string, string> }[] }).map((b) => `${b.status} ${b.alerts.map((a) => a.labels.subject ?? a.labels.node).join(',')}`);
    const held = async () => (await db.kysely.selectFrom('alert_held').select('state').execute()).map((h) => h.state);
    const nodeState = (id: string, status: 'up' | 'suspect') => db.kysely.updateTable('nodes').set({ status }).where('id', '=', id).execute();

    // Fires under a silence: held back, then sent once the silence has ended, the node still down.
    await silence('s1', t + 60_000);
    await db.kysely.insertInto('nodes').values(node('n1', { status: 'suspect' })).execute();
    await ev.pass(t);
    assert.is((await alertsRepo.open(db.kysely)).length, 1, 'the alert fires');
    assert.equal([await sent(), await held()], [[], ['firing']], 'the firing is held back');
    await ev.pass(t + 1000);
    assert.equal(await sent(), [], 'still silenced');
    await ev.pass(t + 61_000);
    assert.equal([await sent(), await held()], [['firing n1'], []], 'sent once the silence ended, the alert still firing');
    await ev.pass(t + 62_000);
    assert.is((await sent()).length, 1, 'sent once');

    // Resolves under a silence after the channel heard it fire: the resolution waits for the silence's end.
    await silence('s2', t + 120_000);
    await nodeState('n1', 'up');
    await ev.pass(t + 70_000);
    assert.equal([await sent(), await held()], [['firing n1'], ['resolved']], 'the resolution is held back');
    await ev.pass(t + 121_000);
    assert.equal([await sent(), await held()], [['firing n1', 'resolved n1'], []], 'the resolution is sent when the silence ends');

    // Fires and resolves under one silence: the channel never hears of it, then or after.
    await silence('s3', t + 200_000);
    await db.kysely.insertInto('nodes').values(node('n2', { status: 'suspect' })).execute();
    await ev.pass(t + 130_000);
    assert.equal(await held(), ['firing']);
    await nodeState('n2', 'up');
    await ev.pass(t + 140_000);
    assert.equal(await held(), [], 'nothing is held of an alert the channel never heard fire');
    await ev.pass(t + 201_000);
    assert.equal(await sent(), ['firing n1', 'resolved n1'], 'nothing sent of n2');
  });
});

test('the rules are evaluated every everyMs, not in a loop that never rests', async () => {
  await withQueue(0, async (db) => {
    const ev = new AlertEvaluator(db.kysely, log, undefined, { everyMs: 200, baseUrl: 'http://cpub.test' });
    let passes = 0;
    const pass = ev.pass.bind(ev);
    ev.pass = async (now: number) => {
      passes += 1;
      return pass(now);
    };
    ev.start();
    await new Promise((r) => setTimeout(r, 1000));
    await ev.stop();
    assert.ok(passes >= 3 && passes <= 7, `${passes} passes in 1 s at one per 200 ms`);
  });
});

test.run();
