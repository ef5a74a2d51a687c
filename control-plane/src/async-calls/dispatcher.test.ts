// The dispatcher on a real SQLite database with a fake call pipeline (our own interface): it must never spin on a
// function whose capacity sync calls hold, nor starve the event loop while it works through a backlog of calls that
// finish without any I/O (a fake here; in life, calls refused at once: no agent up, no room).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { connectDb, type Db } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { createLogger } from '../../../common/logger.js';
import { RateLimited } from '../errors.js';
import type { InvocationService, CallOutcome } from '../invocations/invocation.service.js';
import { asyncCallsRepo } from './async-calls.repo.js';
import { AsyncDispatcher } from './dispatcher.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withQueue(calls: number, run: (db: Db, fnId: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-dispatcher-'));
  const db = connectDb({ dataDir: dir });
  try {
    await migrateToLatest(db.kysely);
    const now = Date.now();
    await db.kysely.insertInto('users').values({ id: 'u', email: 'u@example.com', name: 'u', password_hash: 'h', role: 'user', created_at: now, updated_at: now, disabled_at: null, session_version: 0, handle: 'u' }).execute();
    // concurrency 1 × 10 instances: 10 of its queued calls at once.
    await db.kysely
      .insertInto('functions')
      .values({ id: 'f', owner_id: 'u', name: 'f', memory_mb: 128, cpus: 0.5, timeout_ms: 1000, concurrency: 1, max_instances: 10, auth: 'private', network: 'none', execution_retention_ms: null, execution_sample_rate: null, async_concurrency: null, retry: null, destinations: null, destination_secret: null, active_version: null, created_at: now, updated_at: now })
      .execute();
    const rows = Array.from({ length: calls }, () => ({ id: uuidv7(), function_id: 'f', trigger: 'api' as const, state: 'queued' as const, method: 'POST', path: '/', query: '', headers: '[]', body: Buffer.alloc(0), attempts: 0, due_at: now, claimed_by: null, claimed_until: null, history: '[]', answer: null, answer_body: null, created_at: now, finished_at: null, replayed_as: null }));
    for (let i = 0; i < rows.length; i += 500) await asyncCallsRepo.insertMany(db.kysely, rows.slice(i, i + 500));
    await run(db, 'f');
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

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
