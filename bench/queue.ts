// `npm run bench -- queue`: what the async queue's database work costs a call, alone: one settling and the claim of
// the next call (the pair a dispatcher slot writes between two attempts) in one transaction, through the
// repository's own queries, against a queue of BENCH_QUEUE (20,000) calls on SQLite with the server's settings
// (connectDb: WAL, the checkpoint thread, the statement cache). Medians of BENCH_ROUNDS rounds of BENCH_PAIRS pairs.
import { asyncCallsRepo } from '../control-plane/src/async-calls/async-calls.repo.js';
import { pct } from './lib.js';
import { withQueue } from '../tests/helpers/queue.js';

const QUEUE = Number(process.env.BENCH_QUEUE ?? 20_000);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

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
    console.log(JSON.stringify({ bench: 'queue', queued: QUEUE, pairs: PAIRS, rounds: rounds.map((x) => +x.toFixed(1)), medianUs: +median.toFixed(1) }));
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
