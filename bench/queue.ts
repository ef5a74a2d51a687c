// `npm run bench -- queue`: what the async queue's database work costs a call, alone: one settling and the claim of
// the next call (the pair a dispatcher slot writes between two attempts) in one transaction, through the
// repository's own queries, against a queue of BENCH_QUEUE (20,000) calls on SQLite with the server's settings
// (connectDb: WAL, the checkpoint thread, the statement cache). Medians of BENCH_ROUNDS rounds of BENCH_PAIRS pairs.
// Then a dispatcher pass's look for the functions with calls due (`dueFunctions`, several times a second, holding
// SQLite's event loop while it runs) among BENCH_FUNCTIONS (50,000) functions, BENCH_FUNCTIONS_QUEUED (1,000) of them
// with calls queued, against the query it replaced (one look at every function's queue head) in the same run.
import { sql } from 'kysely';
import { asyncCallsRepo } from '../control-plane/src/async-calls/async-calls.repo.js';
import type { Db } from '../control-plane/src/db/connect.js';
import { pct } from './lib.js';
import { withQueue } from '../tests/helpers/queue.js';
import { fnRow } from '../tests/helpers/store.js';

const QUEUE = Number(process.env.BENCH_QUEUE ?? 20_000);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FUNCTIONS = Number(process.env.BENCH_FUNCTIONS ?? 50_000);
const FUNCTIONS_QUEUED = Number(process.env.BENCH_FUNCTIONS_QUEUED ?? 1000);

/** The look `dueFunctions` replaced (before 2026-12-06): every function's queue head, whether it has calls or not. */
async function everyHead(db: Db, now: number, limit: number): Promise<string[]> {
  const { rows } = await sql<{ id: string; first: number | null }>`
    SELECT f.id, (SELECT MIN(a.due_at) FROM async_calls a WHERE a.function_id = f.id AND a.state = 'queued') AS first
    FROM functions f JOIN users u ON u.id = f.owner_id WHERE u.disabled_at IS NULL`.execute(db.kysely);
  return rows
    .filter((r) => r.first !== null && Number(r.first) <= now)
    .sort((a, b) => Number(a.first) - Number(b.first))
    .slice(0, limit)
    .map((r) => r.id);
}

/** `dueFunctions` and the look it replaced, alternated: ms a pass, medians over 20 passes each. */
async function duePasses(db: Db, now: number): Promise<{ mine: number; before: number }> {
  for (let i = 0; i < FUNCTIONS; i += 1000) {
    await db.kysely.insertInto('functions').values(Array.from({ length: Math.min(1000, FUNCTIONS - i) }, (_, k) => fnRow(`g${String(i + k).padStart(7, '0')}`, 'u'))).execute();
  }
  const every = Math.max(1, Math.floor(FUNCTIONS / FUNCTIONS_QUEUED));
  for (let i = 0; i < FUNCTIONS_QUEUED; i++) {
    await asyncCallsRepo.insert(db.kysely, { id: `due-${i}`, function_id: `g${String(i * every).padStart(7, '0')}`, trigger: 'api', state: 'queued', method: 'GET', path: '/', query: '', headers: '[]', body: Buffer.alloc(0), attempts: 0, due_at: now - 60_000 + i, claimed_by: null, claimed_until: null, history: '[]', answer: null, answer_body: null, created_at: now, finished_at: null });
  }
  const mine: number[] = [];
  const before: number[] = [];
  for (let i = 0; i < 20; i++) {
    let t0 = performance.now();
    const a = await asyncCallsRepo.dueFunctions(db.kysely, now, 100);
    mine.push(performance.now() - t0);
    t0 = performance.now();
    const b = await everyHead(db, now, 100);
    before.push(performance.now() - t0);
    if (a.join() !== b.join()) throw new Error('dueFunctions and the look it replaced found different functions');
  }
  return { mine: pct(mine, 50), before: pct(before, 50) };
}

async function main() {
  await withQueue(QUEUE, async (db, fill, now0) => {
    const now = now0 + 5000;
    const claimOf = (want: number) => ({ replica: 'bench', now, until: now + 30_000, cap: 10, want });
    const running = (await asyncCallsRepo.claim(db.kysely, 'f', claimOf(10))).calls.map((c) => c.id);
    const rounds: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < PAIRS; i++) {
        const id = running.shift()!;
        const next = await db.kysely.transaction().execute(async (tx) => {
          await asyncCallsRepo.settle(tx, id, 'bench', { state: 'succeeded', history: '[{"executionId":"x","status":"success"}]', answer: '{"statusCode":200,"headers":[]}', answerBody: Buffer.from('ok'), finishedAt: now });
          return asyncCallsRepo.claimIn(tx, 'f', claimOf(1));
        });
        running.push(...next.calls.map((c) => c.id));
      }
      rounds.push(Number(process.hrtime.bigint() - t0) / PAIRS / 1000);
      await fill(PAIRS); // the queue as long again for the next round
      console.log(`round ${r + 1}/${ROUNDS}: ${rounds[r]!.toFixed(1)} µs a settling and a claim`);
    }
    const median = pct(rounds, 50);
    console.log(`a settling and the next claim in one transaction, ${QUEUE.toLocaleString('en')} calls queued: ${median.toFixed(1)} µs (median of ${ROUNDS} rounds of ${PAIRS.toLocaleString('en')})`);
    const due = await duePasses(db, now);
    console.log(`a pass's look for due functions, ${FUNCTIONS.toLocaleString('en')} functions, ${FUNCTIONS_QUEUED.toLocaleString('en')} with calls queued: ${due.mine.toFixed(2)} ms (every function's queue head, as before: ${due.before.toFixed(2)} ms; medians of 20 passes each, alternated)`);
    console.log(JSON.stringify({ bench: 'queue', queued: QUEUE, pairs: PAIRS, rounds: rounds.map((x) => +x.toFixed(1)), medianUs: +median.toFixed(1), duePass: { functions: FUNCTIONS, withCalls: FUNCTIONS_QUEUED, ms: +due.mine.toFixed(2), everyHeadMs: +due.before.toFixed(2) } }));
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
