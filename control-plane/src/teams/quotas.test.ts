// QuotaKeeper on a real SQLite database and stand-ins for the statistics and the fleet: a burst of first calls
// waits for the team's quotas to be read (none slips past), concurrent calls and instance memory are held to their
// quotas and freed as calls end, a warm container takes a call with no more memory, and another team is not held.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDb } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import type { FunctionRow } from '../db/schema.js';
import type { StatsService } from '../stats/stats.service.js';
import { AppError } from '../errors.js';
import { QuotaKeeper } from './quotas.js';

const dir = mkdtempSync(join(tmpdir(), 'cpub-quotas-'));
const db = connectDb({ dataDir: dir });
const warm = new Map<string, number>();
const stats = { summary: async () => ({ invocations: 0, avgCpuMs: 0 }) } as unknown as StatsService;
const keeper = new QuotaKeeper({ db: db.kysely, stats, warmOf: (fv) => warm.get(fv) ?? 0 });

async function team(id: string, quotas: object | null): Promise<void> {
  await db.kysely.insertInto('users').values({ id, email: `team:${id}`, name: id, password_hash: '!', role: 'user', kind: 'team', created_at: 0, updated_at: 0, disabled_at: null, session_version: 0, handle: id }).execute();
  await db.kysely.insertInto('teams').values({ id, name: id, personal: 0, quotas: quotas ? JSON.stringify(quotas) : null, created_at: 0 }).execute();
}
const fn = (id: string, teamId: string) => ({ id, owner_id: teamId, name: id, memory_mb: 128, concurrency: 1, active_version: 1 }) as FunctionRow;
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err as AppError;
  }
  return undefined;
};

test.before(async () => {
  await migrateToLatest(db.kysely);
  await team('busy', { concurrentCalls: 2 });
  await team('mem', { memoryMb: 256 });
  await team('free', null);
  await team('spent', { callsPerDay: 0 });
  await team('queue', { memoryMb: 128 });
  await team('none', { concurrentCalls: 0 });
});
test.after(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a burst of first calls waits for the quotas: two of three admitted, the third refused 429 concurrentCalls', async () => {
  const f = fn('b1', 'busy');
  const results = await Promise.allSettled([0, 1, 2].map(async () => keeper.enter(f)));
  const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
  assert.is(refused.length, 1);
  assert.equal([refused[0]!.reason.code, refused[0]!.reason.extra.quota, refused[0]!.reason.extra.limit, refused[0]!.reason.extra.used], ['quota_exceeded', 'concurrentCalls', 2, 2]);
  const leaves = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<() => void>).value);
  leaves[0]!();
  leaves[0]!(); // ending twice frees one slot only
  const again = keeper.enter(f) as () => void;
  assert.type(again, 'function', 'a slot freed: admitted at once');
  assert.is(refusal(() => keeper.enter(f))?.code, 'quota_exceeded');
});

test('a team whose day is spent: every call of a first burst is refused, none admitted while its quotas are read', async () => {
  const f = fn('s1', 'spent');
  const results = await Promise.allSettled([0, 1, 2].map(async () => keeper.enter(f)));
  assert.equal(
    results.map((r) => (r.status === 'rejected' ? (r.reason as AppError).extra.quota : 'admitted')),
    ['callsPerDay', 'callsPerDay', 'callsPerDay'],
  );
});

test('instance memory: new instances within the quota; a warm container takes a call with no more; another team is not held', async () => {
  const f = fn('m1', 'mem');
  const first = (await keeper.enter(f)) as () => void;
  const second = keeper.enter(f) as () => void;
  const third = refusal(() => keeper.enter(f));
  assert.equal([third?.code, third?.extra.quota, third?.extra.used, third?.extra.limit], ['quota_exceeded', 'memoryMb', 256, 256]);
  assert.is(third?.extra.httpStatus, 429);
  first();
  second();
  warm.set('m1@1', 2);
  const onWarm = [keeper.enter(f), keeper.enter(f)] as (() => void)[];
  assert.is(refusal(() => keeper.enter(f))?.extra.quota, 'memoryMb', 'two warm containers busy: a third instance is over');
  for (const leave of onWarm) leave();
  const other = await keeper.enter(fn('x1', 'free'));
  for (let i = 0; i < 20; i++) keeper.enter(fn('x1', 'free'));
  assert.type(other, 'function', 'a team without quotas is never held');
});

test('over memory, a call waits for room: admitted when a call of its team ends, refused when the wait runs out, after its wait past the line', async () => {
  const f = fn('q1', 'queue');
  const running = (await keeper.enter(f)) as () => void;
  const waiting = keeper.enter(f, 2000);
  assert.instance(waiting, Promise, 'over the quota: it waits');
  assert.is(keeper.waitingOf('queue'), 1);
  const t0 = Date.now();
  setTimeout(running, 50);
  const admitted = await waiting;
  assert.ok(Date.now() - t0 < 1000, 'admitted as the running call ended, not at the end of its wait');
  assert.is(keeper.waitingOf('queue'), 0);
  // The room is taken: the next waits its 100 ms out and is refused, saying so.
  const late = await Promise.resolve(keeper.enter(f, 100)).then(
    () => undefined,
    (err: AppError) => err,
  );
  assert.equal([late?.code, late?.extra.quota, late?.extra.httpStatus], ['quota_exceeded', 'memoryMb', 429]);
  assert.match(late!.detail, /waited 100 ms for room/);
  // The line is bounded: a hundred may wait in it (ten per call the quota runs at once, at least 100). The next
  // waits as long outside it and is refused: never at once, so a caller retrying at once is paced by the wait.
  const queued = Array.from({ length: 100 }, () => Promise.resolve(keeper.enter(f, 5000)));
  const t1 = Date.now();
  const over = await Promise.resolve(keeper.enter(f, 300)).then(
    () => undefined,
    (err: AppError) => err,
  );
  assert.is(over?.extra.quota, 'memoryMb');
  assert.ok(Date.now() - t1 >= 290, 'past the line: refused after its wait, not at once');
  assert.is(keeper.waitingOf('queue'), 100, 'it never took a place in the line');
  // Each call ending admits the first in line, in order.
  const order: number[] = [];
  queued.forEach((p, i) => void p.then((leave) => (order.push(i), setImmediate(leave))));
  admitted();
  await Promise.all(queued);
  assert.equal(order, [...queued.keys()]);
});

test('no room can come (a quota of 0, the day spent): refused after the wait, outside the line; without waitMs at once', async () => {
  for (const [f, quota] of [[fn('n1', 'none'), 'concurrentCalls'], [fn('s2', 'spent'), 'callsPerDay']] as const) {
    const t0 = Date.now();
    const err = await Promise.resolve(keeper.enter(f, 200)).then(
      () => undefined,
      (e: AppError) => e,
    );
    assert.equal([err?.code, err?.extra.quota], ['quota_exceeded', quota]);
    assert.match(err!.detail, /waited 200 ms/);
    assert.ok(Date.now() - t0 >= 190, `${quota}: refused after the wait`);
    assert.is(keeper.waitingOf(f.owner_id), 0);
  }
  const f = fn('m1', 'mem');
  warm.set('m1@1', 0);
  const held = [await keeper.enter(f), await keeper.enter(f)] as (() => void)[];
  assert.is(refusal(() => keeper.enter(f))?.extra.quota, 'memoryMb', 'no waitMs: refused at once');
  for (const leave of held) leave();
});

test.run();
