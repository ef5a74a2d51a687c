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
import { AsyncDispatcher } from './dispatcher.js';

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
    // At most a group of the function's 10 slots a turn (thousands in one turn when the loop never yields).
    assert.is([...perTick.values()].reduce((a, b) => a + b, 0), N);
    assert.ok(most <= 20, `${most} calls ran in one turn of the event loop`);
  });
});

test.run();
