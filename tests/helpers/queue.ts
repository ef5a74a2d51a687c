// An async queue on a fresh SQLite database opened as the server opens it: a user, their function `f`
// (concurrency 1 × 10 instances: 10 of its queued calls at once) and `calls` calls queued for it, due now.
// For the dispatcher's unit tests and `npm run bench -- queue`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { connectDb, type Db } from '../../control-plane/src/db/connect.js';
import { migrateToLatest } from '../../control-plane/src/db/migrate.js';
import { asyncCallsRepo } from '../../control-plane/src/async-calls/async-calls.repo.js';
import { fnRow, user } from './store.js';

/** Queues `n` more calls of `f`, due within the second after `now`. */
export type Fill = (n: number) => Promise<void>;

export async function withQueue(calls: number, run: (db: Db, fill: Fill, now: number) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-queue-'));
  const db = connectDb({ dataDir: dir });
  try {
    await migrateToLatest(db.kysely);
    const now = Date.now();
    await db.kysely.insertInto('users').values(user('u')).execute();
    await db.kysely.insertInto('functions').values({ ...fnRow('f', 'u'), max_instances: 10 }).execute();
    const row = (i: number) => ({ id: uuidv7(), function_id: 'f', trigger: 'api' as const, state: 'queued' as const, method: 'POST', path: '/', query: '', headers: '[["content-type","application/json"]]', body: Buffer.from('{}'), attempts: 0, due_at: now + (i % 1000), claimed_by: null, claimed_until: null, history: '[]', answer: null, answer_body: null, created_at: now, finished_at: null, replayed_as: null });
    const fill: Fill = async (n) => {
      for (let i = 0; i < n; i += 500) await asyncCallsRepo.insertMany(db.kysely, Array.from({ length: Math.min(500, n - i) }, (_, k) => row(i + k)));
    };
    await fill(calls);
    await run(db, fill, now);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
