// The dispatcher on a real SQLite database with a fake call pipeline (our own interface): it must never spin on a
// function whose capacity sync calls hold, nor starve the event loop while it works through a backlog of calls that
// finish without any I/O (a fake here; in life, calls refused at once: no agent up, no room).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/connect.js';
import { withQueue } from '../../../tests/helpers/queue.js';
import { createLogger } from '../../../common/logger.js';
import { RateLimited } from '../errors.js';
import type { InvocationService, CallOutcome } from '../invocations/invocation.service.js';
import { AsyncDispatcher, writeGroup } from './dispatcher.js';
import { asyncCallsRepo } from './async-calls.repo.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dispatcher = (db: Db, runQueued: InvocationService['runQueued']) =>
  new AsyncDispatcher(db.kysely, { runQueued } as unknown as InvocationService, createLogger('silent'), { replica: 'test', pollMs: 50 });

test('a function whose capacity sync calls hold: its calls are tried once in a while, not claimed and put back one after another', async () => {
  await withQueue(2000, async (db) => {
    let tried = 0;
    const d = dispatcher(db, async () => {
      tried++;
      throw RateLimited('too_many_calls', 'the function has 10 calls in flight', 1);
    });
    d.start();
    await sleep(600);
    await d.stop();
    // A claim of its 10 slots, then nothing for 100 ms: ≈ 60 tries in 600 ms (thousands when every call is tried).
    assert.ok(tried > 0 && tried <= 150, `${tried} tries in 600 ms`);
    const left = await db.kysely.selectFrom('async_calls').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'queued').where('attempts', '=', 0).executeTakeFirstOrThrow();
    assert.is(Number(left.n), 2000, 'every call still queued, no attempt counted');
  });
});

test('a backlog of calls that finish at once: the dispatcher yields to the event loop between groups of them', async () => {
  const N = 3000;
  await withQueue(N, async (db) => {
    // The event loop going round: a tick counted each time its check phase runs.
    let tick = 0;
    let probing = true;
    const probe = () => {
      tick++;
      if (probing) setImmediate(probe);
    };
    setImmediate(probe);
    const perTick = new Map<number, number>();
    const ok: CallOutcome = { executionId: 'e', status: 'success', statusCode: 200, headers: [], body: Buffer.alloc(0), durationMs: 0, coldStart: false, nodeId: null, timings: { queuedMs: 0, createMs: 0, startMs: 0, readyMs: 0, runMs: 0, prewarmed: false, placementMs: 0, agentMs: 0, recordMs: 0 }, sampled: false };
    const d = dispatcher(db, async () => {
      perTick.set(tick, (perTick.get(tick) ?? 0) + 1);
      return ok;
    });
    d.start();
    const end = Date.now() + 60_000;
    while ([...perTick.values()].reduce((a, b) => a + b, 0) < N && Date.now() < end) await sleep(20);
    await d.stop();
    probing = false;
    const most = Math.max(...perTick.values());
    // At most a few groups of the function's 10 slots a turn (8: ≤ 90 calls; thousands in one turn when the loop
    // never yields).
    assert.is([...perTick.values()].reduce((a, b) => a + b, 0), N);
    assert.ok(most <= 100, `${most} calls ran in one turn of the event loop`);
  });
});

test('a group’s claims of one function are one claim, shared out in the order asked: each gets what it would have got alone, and the room it would have seen', async () => {
  await withQueue(20, async (db, _fill, now) => {
    const o = (want: number) => ({ replica: 'test', now: now + 5000, until: now + 60_000, cap: 6, want });
    const first = await asyncCallsRepo.claim(db.kysely, 'f', o(2));
    const oldest = (await db.kysely.selectFrom('async_calls').select('id').where('state', '=', 'queued').orderBy('due_at').orderBy('id').execute()).map((r) => r.id);
    const out = await db.kysely.transaction().execute((tx) =>
      writeGroup(tx, [{ claim: 'f', o: o(1) }, { settle: first.calls[0]!.id, to: { state: 'succeeded', history: '[]', finishedAt: now } }, { claim: 'f', o: o(2) }, { claim: 'f', o: o(3) }, { claim: 'f', o: o(1) }], 'test'),
    );
    // The settling comes first (one running, so 5 of 6 free): 1, then 2, then 2 of the 3 asked, then none.
    assert.is(out[1], true);
    const claims = [out[0], out[2], out[3], out[4]] as { calls: { id: string; state: string; claimed_by: string | null; attempts: number }[]; room: number }[];
    assert.equal(claims.map((c) => c.calls.length), [1, 2, 2, 0]);
    assert.equal(claims.map((c) => c.room), [5, 4, 2, 0]);
    assert.equal(claims.flatMap((c) => c.calls.map((x) => x.id)), oldest.slice(0, 5), 'the five oldest due, in the order asked');
    assert.ok(claims.flatMap((c) => c.calls).every((c) => c.state === 'running' && c.claimed_by === 'test' && c.attempts === 1));
    const running = await db.kysely.selectFrom('async_calls').select('id').where('state', '=', 'running').execute();
    assert.is(running.length, 6, 'never more than the cap');
  });
});

test.run();
