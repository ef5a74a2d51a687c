// Store cases for async calls: the queue's claims (oldest first, a function's cap held across replicas, calls not
// yet due left alone), claims that run out and are taken back, and the dispatcher's retries, backoff and dead
// letters — run against a fake of the call pipeline (our own interface), on both dialects.
import * as assert from 'uvu/assert';
import type { Logger } from '../../common/logger.js';
import { asyncCallsRepo } from '../../control-plane/src/async-calls/async-calls.repo.js';
import { AsyncQueue } from '../../control-plane/src/async-calls/async-queue.js';
import { AsyncDispatcher } from '../../control-plane/src/async-calls/dispatcher.js';
import { deliveriesRepo, type DeliveryRow } from '../../control-plane/src/async-calls/destination-deliveries.repo.js';
import { functionsRepo } from '../../control-plane/src/functions/functions.repo.js';
import { usersRepo } from '../../control-plane/src/users/users.repo.js';
import { AppError, RateLimited } from '../../control-plane/src/errors.js';
import type { CallOutcome, InvocationService } from '../../control-plane/src/invocations/invocation.service.js';
import type { ExecutionStatus, FunctionRow } from '../../control-plane/src/db/schema.js';
import type { Db } from '../../control-plane/src/db/connect.js';
import { until } from '../helpers/hooks.js';
import { NOW, ownerWith, type StoreCases } from '../helpers/store.js';

const silent = { info() {}, warn() {}, error() {} } as unknown as Logger;
const REQUEST = { method: 'POST', path: '/', query: '', headers: [['content-type', 'text/plain']] as [string, string][], body: Buffer.from('x') };

/** Queues `n` calls of the function, a millisecond apart from `at`, due at once unless `dueIn`. */
async function queued(db: Db, functionId: string, n: number, at: number, dueIn = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${functionId}-c${i}`;
    await asyncCallsRepo.insert(db.kysely, { id, function_id: functionId, trigger: 'api', state: 'queued', ...REQUEST, headers: JSON.stringify(REQUEST.headers), attempts: 0, due_at: at + i + dueIn, claimed_by: null, claimed_until: null, history: '[]', answer: null, answer_body: null, created_at: at + i, finished_at: null });
    ids.push(id);
  }
  return ids;
}

const claim = async (db: Db, fn: string, replica: string, now: number, cap: number, want = 10) => (await asyncCallsRepo.claim(db.kysely, fn, { replica, now, until: now + 1000, cap, want })).calls;

function outcome(status: ExecutionStatus, statusCode: number, error?: AppError): CallOutcome {
  return { executionId: `exec-${Math.random()}`, status, statusCode, headers: [['x-n', '1']], body: Buffer.from(status), durationMs: 1, coldStart: false, nodeId: null, timings: { queuedMs: 0, createMs: 0, startMs: 0, readyMs: 0, runMs: 1, prewarmed: false, placementMs: 0, agentMs: 0, recordMs: 0 }, sampled: false, ...(error ? { error } : {}) };
}

export const asyncCallsCases: StoreCases = (s) => {
  s('async calls: a claim takes a function’s due calls oldest first, never more running than its cap; calls not yet due wait', async ({ db }) => {
    await ownerWith(db, 'ac-owner', 'ac-f1', 'ac-f2');
    const ids = await queued(db, 'ac-f1', 4, NOW);
    await queued(db, 'ac-f2', 1, NOW, 60_000);
    // (Other cases' calls share the table: only this case's functions are looked at.)
    assert.equal((await asyncCallsRepo.dueFunctions(db.kysely, NOW + 10, 100)).filter((f) => f.startsWith('ac-')), ['ac-f1'], 'ac-f2’s call is not due');
    const first = await claim(db, 'ac-f1', 'r1', NOW + 10, 2);
    assert.equal(first.map((c) => [c.id, c.state, c.attempts, c.claimed_by]), [[ids[0], 'running', 1, 'r1'], [ids[1], 'running', 1, 'r1']]);
    assert.equal(await claim(db, 'ac-f1', 'r1', NOW + 10, 2), [], 'the cap is taken');
    assert.is(await asyncCallsRepo.settle(db.kysely, ids[0]!, 'r1', { state: 'succeeded', history: '[]', finishedAt: NOW + 20 }), true);
    assert.equal((await claim(db, 'ac-f1', 'r1', NOW + 30, 2)).map((c) => c.id), [ids[2]], 'room for one more');
    assert.equal(await claim(db, 'ac-f2', 'r1', NOW + 30, 5), [], 'not due');
    assert.equal((await claim(db, 'ac-f2', 'r1', NOW + 60_001, 5)).length, 1, 'due now');
  });

  s('async calls: a claim takes as many calls as it asks for, no more (3 of 5 due, then the 2 left), and a pass’s look names at most its limit', async ({ db }) => {
    await ownerWith(db, 'ac-owner-n', 'ac-n1', 'ac-n2', 'ac-n3');
    const ids = await queued(db, 'ac-n1', 5, NOW);
    assert.equal((await claim(db, 'ac-n1', 'r1', NOW + 10, 10, 3)).map((c) => c.id), ids.slice(0, 3));
    assert.equal((await claim(db, 'ac-n1', 'r1', NOW + 10, 10, 3)).map((c) => c.id), ids.slice(3), 'the two left');
    assert.equal(await claim(db, 'ac-n1', 'r1', NOW + 10, 10, 3), [], 'none left');
    await queued(db, 'ac-n2', 1, NOW + 50);
    await queued(db, 'ac-n3', 1, NOW + 100);
    const mine = (fs: string[]) => fs.filter((f) => f === 'ac-n2' || f === 'ac-n3');
    assert.equal(mine(await asyncCallsRepo.dueFunctions(db.kysely, NOW + 200, 100)), ['ac-n2', 'ac-n3']);
    assert.is((await asyncCallsRepo.dueFunctions(db.kysely, NOW + 200, 1)).length, 1, 'one at most');
  });

  s('async calls: a settling and a claim in one transaction run inside it — the claim sees the room the settling made, and both are undone with it', async ({ db }) => {
    await ownerWith(db, 'ac-tx-owner', 'ac-tx');
    const ids = await queued(db, 'ac-tx', 3, NOW);
    assert.equal((await claim(db, 'ac-tx', 'r1', NOW + 10, 1)).map((c) => c.id), [ids[0]]);
    const undo = new Error('undo');
    const inside = await db.kysely
      .transaction()
      .execute(async (tx) => {
        assert.is(await asyncCallsRepo.settle(tx, ids[0]!, 'r1', { state: 'succeeded', history: '[]', finishedAt: NOW + 20 }), true);
        const next = await asyncCallsRepo.claimIn(tx, 'ac-tx', { replica: 'r1', now: NOW + 20, until: NOW + 1020, cap: 1, want: 1 });
        assert.equal(next.calls.map((c) => [c.id, c.state, c.attempts, c.claimed_by, c.method, c.body.toString()]), [[ids[1], 'running', 1, 'r1', 'POST', 'x']], 'the room the settling made');
        // What an attempt needs, the same on both dialects (its answer and the rest are not read).
        assert.equal(Object.keys(next.calls[0]!).sort(), ['attempts', 'body', 'claimed_by', 'claimed_until', 'due_at', 'function_id', 'headers', 'history', 'id', 'method', 'path', 'query', 'state', 'trigger', 'version']);
        throw undo;
      })
      .catch((err: unknown) => err);
    if (inside !== undo) throw inside; // an assertion above failed
    // (On SQLite these statements run on the transaction's connection at once, not through Kysely's executor.)
    assert.equal(
      (await Promise.all(ids.map((id) => asyncCallsRepo.byId(db.kysely, id)))).map((r) => [r!.state, r!.attempts, r!.finished_at]),
      [['running', 1, null], ['queued', 0, null], ['queued', 0, null]],
      'both undone with the transaction',
    );
  });

  s('async calls: a disabled owner’s queued calls are not due, and never take the places of others’', async ({ db }) => {
    await ownerWith(db, 'ac-off', 'ac-off-f1', 'ac-off-f2');
    await ownerWith(db, 'ac-on', 'ac-on-f');
    // Older than any other case's calls (they share the table).
    await queued(db, 'ac-off-f1', 1, NOW - 30 * 86_400_000);
    await queued(db, 'ac-off-f2', 1, NOW - 29 * 86_400_000);
    await queued(db, 'ac-on-f', 1, NOW - 1000);
    const due = async (limit: number) => (await asyncCallsRepo.dueFunctions(db.kysely, NOW, limit)).filter((f) => f.startsWith('ac-o'));
    assert.equal(await due(100), ['ac-off-f1', 'ac-off-f2', 'ac-on-f'], 'oldest first while the owner is enabled');
    await usersRepo.update(db.kysely, 'ac-off', { disabled_at: NOW }, NOW);
    assert.equal(await due(100), ['ac-on-f'], 'the disabled owner’s functions are not due');
    // The oldest queues of all, a disabled owner's never take a pass's places.
    assert.equal((await asyncCallsRepo.dueFunctions(db.kysely, NOW, 2)).filter((f) => f.startsWith('ac-off')), [], 'two places, neither taken by the disabled owner');
  });

  s('async calls: a claim that ran out is taken back (its attempt stays counted); the replica that lost it settles nothing', async ({ db }) => {
    await ownerWith(db, 'ac-owner2', 'ac-f3');
    const [id] = await queued(db, 'ac-f3', 1, NOW);
    // (Other cases' calls share the table: only this one's state is looked at.)
    const state = async () => (await asyncCallsRepo.byId(db.kysely, id!))!.state;
    await claim(db, 'ac-f3', 'gone', NOW, 1);
    await asyncCallsRepo.takeBack(db.kysely, NOW + 500);
    assert.is(await state(), 'running', 'its claim still holds');
    await asyncCallsRepo.renew(db.kysely, 'gone', [id!], NOW + 2000);
    await asyncCallsRepo.takeBack(db.kysely, NOW + 1500);
    assert.is(await state(), 'running', 'renewed');
    assert.ok((await asyncCallsRepo.takeBack(db.kysely, NOW + 2001)) >= 1);
    const back = (await asyncCallsRepo.byId(db.kysely, id!))!;
    assert.equal([back.state, back.attempts, back.claimed_by, Number(back.due_at)], ['queued', 1, null, NOW + 2001]);
    assert.equal((await claim(db, 'ac-f3', 'r2', NOW + 2001, 1)).map((c) => c.attempts), [2]);
    assert.is(await asyncCallsRepo.settle(db.kysely, id!, 'gone', { state: 'succeeded', history: '[]', finishedAt: NOW }), false, 'no longer its claim');
    assert.is((await asyncCallsRepo.byId(db.kysely, id!))!.state, 'running');
  });

  s('async calls: replicas claiming at once never run more of a function’s calls than its cap', async ({ db }) => {
    await ownerWith(db, 'ac-owner3', 'ac-f4');
    await queued(db, 'ac-f4', 20, NOW);
    const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => claim(db, 'ac-f4', `r${i}`, NOW + 100, 3, 3)));
    assert.is(claims.flat().length, 3);
    assert.is(new Set(claims.flat().map((c) => c.id)).size, 3, 'no call claimed twice');
  });

  s('destination deliveries: a due delivery is claimed for one attempt once (a stale read claims nothing) and is not due again while claimed; an attempt finishes only its own claim', async ({ db }) => {
    await ownerWith(db, 'dd-owner', 'dd-f');
    const row = { id: 'dd-1', function_id: 'dd-f', call_id: 'dd-call', event: 'call.failed', url: 'https://hooks.example.com/', body: Buffer.from('{}'), state: 'pending' as const, attempts: 0, due_at: NOW, last_error: null, created_at: NOW, finished_at: null };
    await deliveriesRepo.insert(db.kysely, row);
    const mine = (rows: DeliveryRow[]) => rows.filter((d) => d.id === 'dd-1');
    const [read] = mine(await deliveriesRepo.due(db.kysely, NOW, 100));
    assert.ok(read, 'due');
    const [stale] = mine(await deliveriesRepo.due(db.kysely, NOW, 100));
    assert.is(await deliveriesRepo.claim(db.kysely, read!, NOW, NOW + 30_000), true);
    assert.is(await deliveriesRepo.claim(db.kysely, stale!, NOW, NOW + 30_000), false, 'read by another pass: already claimed');
    assert.equal(mine(await deliveriesRepo.due(db.kysely, NOW + 1000, 100)), [], 'claimed: not due until the claim lapses');
    assert.is(await deliveriesRepo.finish(db.kysely, 'dd-1', 0, { state: 'pending', dueAt: NOW + 2000, error: 'the destination answered 500', finishedAt: null }), true);
    assert.is(await deliveriesRepo.claim(db.kysely, stale!, NOW + 2000, NOW + 32_000), false, 'a read from before the attempt: its attempts have changed');
    assert.is(await deliveriesRepo.finish(db.kysely, 'dd-1', 0, { state: 'delivered', error: null, finishedAt: NOW }), false, 'the same attempt twice');
    const [again] = mine(await deliveriesRepo.due(db.kysely, NOW + 2000, 100));
    assert.equal([again?.attempts, again?.last_error], [1, 'the destination answered 500']);
    assert.is(await deliveriesRepo.claim(db.kysely, again!, NOW + 2000, NOW + 32_000), true);
    assert.is(await deliveriesRepo.finish(db.kysely, 'dd-1', 1, { state: 'delivered', error: null, finishedAt: NOW + 2100 }), true);
    assert.equal((await deliveriesRepo.forCall(db.kysely, 'dd-call')).map((d) => [d.state, d.attempts]), [['delivered', 2]]);
  });

  s('async calls: the queue’s depth per function (for /metrics): queued with the oldest, running, dead letters not replayed', async ({ db }) => {
    await ownerWith(db, 'ac-owner5', 'ac-f5');
    const ids = await queued(db, 'ac-f5', 5, NOW);
    await claim(db, 'ac-f5', 'r1', NOW + 10, 2);
    for (const [id, by] of [[ids[0]!, null], [ids[1]!, 'ac-f5-replay']] as const) {
      await asyncCallsRepo.settle(db.kysely, id, 'r1', { state: 'failed', history: '[]', finishedAt: NOW + 20 });
      if (by) await asyncCallsRepo.markReplayed(db.kysely, 'ac-f5', id, by);
    }
    await claim(db, 'ac-f5', 'r1', NOW + 30, 1);
    const rows = (await asyncCallsRepo.depth(db.kysely)).filter((r) => r.function_id === 'ac-f5').sort((a, b) => a.state.localeCompare(b.state));
    assert.equal(rows.map((r) => [r.name, r.state, r.n]), [['ac-f5', 'failed', 1], ['ac-f5', 'queued', 2], ['ac-f5', 'running', 1]]);
    assert.is(rows.find((r) => r.state === 'queued')!.oldest, NOW + 3, 'the oldest queued call');
  });

  s('dispatcher: retried with backoff until it succeeds; a dead letter after the last attempt; a 4xx answer is final; no room is not an attempt', async ({ db }) => {
    await ownerWith(db, 'ac-owner4', 'ac-ok', 'ac-dead', 'ac-4xx');
    const policy = (maxAttempts: number) => JSON.stringify({ maxAttempts, backoff: { baseMs: 30, jitter: false } });
    await functionsRepo.update(db.kysely, 'ac-ok', { retry: policy(3), max_instances: 5 });
    await functionsRepo.update(db.kysely, 'ac-dead', { retry: policy(1) });
    const thrown = new AppError('unavailable', 'function_error', 'the function threw: boom', { httpStatus: 500 });
    // What each function's attempts come to, in order.
    const scripts: Record<string, (() => CallOutcome)[]> = {
      'ac-ok': [() => { throw RateLimited('too_many_calls', 'no room', 1); }, () => outcome('error', 500, thrown), () => outcome('timeout', 504, new AppError('unavailable', 'function_timeout', 'timed out', { httpStatus: 504 })), () => outcome('success', 200)],
      'ac-dead': [() => outcome('error', 500, thrown), () => outcome('error', 500, thrown), () => outcome('success', 200)],
      'ac-4xx': [() => outcome('success', 404), () => outcome('success', 200)],
    };
    // The dispatcher reads the real clock: the calls earlier cases left queued on the suite's clock (due around NOW)
    // would be its to run once the real clock passed theirs. They are taken out, and any other run is counted.
    await db.kysely.deleteFrom('async_calls').where('function_id', 'not in', Object.keys(scripts)).where('state', 'in', ['queued', 'running']).execute();
    const foreign: string[] = [];
    const invocations = { runQueued: async (fn: FunctionRow) => (scripts[fn.id] ? scripts[fn.id]!.shift()!() : (foreign.push(fn.id), outcome('success', 200))) } as unknown as InvocationService;
    const dispatcher = new AsyncDispatcher(db.kysely, invocations, silent, { replica: 'dispatcher-test', pollMs: 20 });
    const queue = new AsyncQueue(db.kysely);
    queue.onQueued(() => dispatcher.wake());
    dispatcher.start();
    try {
      const fn = async (id: string) => (await functionsRepo.byId(db.kysely, id))!;
      const ids = [await queue.enqueue(await fn('ac-ok'), REQUEST, 'api'), await queue.enqueue(await fn('ac-dead'), REQUEST, 'url'), await queue.enqueue(await fn('ac-4xx'), REQUEST, 'api')];
      const rows = async () => Promise.all(ids.map(async (id) => (await asyncCallsRepo.byId(db.kysely, id))!));
      await until('every call settled', async () => (await rows()).every((r) => r.state === 'succeeded' || r.state === 'failed'), 10_000);
      const [ok, dead, fourxx] = await rows();
      const statuses = (r: typeof ok) => (JSON.parse(r!.history) as { status: string }[]).map((a) => a.status);
      assert.equal([ok!.state, ok!.attempts, statuses(ok)], ['succeeded', 3, ['error', 'timeout', 'success']], 'the no-room turn was not an attempt');
      const at = (JSON.parse(ok!.history) as { startedAt: string }[]).map((a) => Date.parse(a.startedAt));
      assert.ok(at[1]! - at[0]! >= 30 && at[2]! - at[1]! >= 60, `backoff doubles: ${at[1]! - at[0]!}, ${at[2]! - at[1]!} ms`);
      assert.equal([dead!.state, dead!.attempts, statuses(dead), JSON.parse(dead!.answer!).statusCode, JSON.parse(dead!.answer_body!.toString()).code], ['failed', 2, ['error', 'error'], 500, 'function_error']);
      assert.equal([fourxx!.state, fourxx!.attempts, JSON.parse(fourxx!.answer!).statusCode, fourxx!.answer_body!.toString()], ['succeeded', 1, 404, 'success']);
      assert.is(scripts['ac-dead']!.length, 1, 'no attempt past the last');
      assert.equal(foreign, [], 'only this case’s calls ran');
    } finally {
      await dispatcher.stop();
    }
  });
};
