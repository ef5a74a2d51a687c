// Store cases for idempotency keys, on both dialects: one run per key, repeats and concurrent duplicates get its
// answer, another request with the key is refused, a refused first call gives the key back, an expired key and a
// key whose first call was abandoned run again.
import * as assert from 'uvu/assert';
import { Idempotency, IDEMPOTENCY_TTL_MS, purgeIdempotencyKeys } from '../../control-plane/src/invocations/idempotency.js';
import { AppError, RateLimited } from '../../control-plane/src/errors.js';
import type { RecordedCall } from '../../control-plane/src/executions/call-recorder.js';
import type { FunctionRow } from '../../control-plane/src/db/schema.js';
import { functionsRepo } from '../../control-plane/src/functions/functions.repo.js';
import { ownerWith, type StoreCases } from '../helpers/store.js';

const answer = (n: number, error?: AppError): RecordedCall => ({ executionId: `e${n}`, status: error ? 'error' : 'success', statusCode: error ? 0 : 200, headers: [['x-n', String(n)]], body: Buffer.from(`run ${n}`), durationMs: 1, coldStart: false, nodeId: null, timings: { queuedMs: 0, createMs: 0, startMs: 0, readyMs: 0, runMs: 1, prewarmed: false, placementMs: 0, agentMs: 0, recordMs: 0 }, sampled: false, ...(error ? { error } : {}) });

export const idempotencyCases: StoreCases = (s) => {
  s('idempotency: one run per key; repeats and concurrent duplicates get its answer (an error too); another request is a 422', async ({ db }) => {
    await ownerWith(db, 'ik-owner', 'ik-f');
    const fn = (await functionsRepo.byId(db.kysely, 'ik-f')) as FunctionRow;
    const keys = new Idempotency(db.kysely);
    let runs = 0;
    const run = async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 100));
      return answer(runs);
    };
    const all = await Promise.all([0, 1, 2].map(() => keys.call(fn, 'k', 'h1', run)));
    assert.is(runs, 1);
    assert.equal(all.map((a) => [a.executionId, a.body.toString(), a.headers, a.replayed ?? false]).sort((a, b) => Number(a[3]) - Number(b[3])), [
      ['e1', 'run 1', [['x-n', '1']], false],
      ['e1', 'run 1', [['x-n', '1']], true],
      ['e1', 'run 1', [['x-n', '1']], true],
    ]);
    const reused = await keys.call(fn, 'k', 'h2', run).catch((e: AppError) => e);
    assert.equal([(reused as AppError).code, (reused as AppError).extra.httpStatus], ['idempotency_key_reused', 422]);
    // A call that failed is answered again as it failed.
    const thrown = new AppError('unavailable', 'function_error', 'the function threw: boom', { httpStatus: 500, executionId: 'e9' });
    await keys.call(fn, 'kerr', 'h', async () => answer(9, thrown));
    const err = await keys.call(fn, 'kerr', 'h', run);
    assert.equal([err.replayed, err.error?.code, err.error?.detail, err.error?.extra], [true, 'function_error', 'the function threw: boom', { httpStatus: 500, executionId: 'e9' }]);
  });

  s('idempotency: a first call refused before it ran gives the key back; an expired key, or one whose first call was abandoned, runs again', async ({ db }) => {
    await ownerWith(db, 'ik-owner2', 'ik-g');
    const fn = { ...((await functionsRepo.byId(db.kysely, 'ik-g')) as FunctionRow), timeout_ms: 0 };
    const keys = new Idempotency(db.kysely);
    const refused = await keys.call(fn, 'r', 'h', async () => Promise.reject(RateLimited('too_many_calls', 'busy', 1))).catch((e: AppError) => e);
    assert.is((refused as AppError).code, 'too_many_calls');
    assert.is((await keys.call(fn, 'r', 'h', async () => answer(2))).executionId, 'e2', 'the retry ran');
    await db.kysely.updateTable('idempotency_keys').set({ expires_at: Date.now() - 1 }).where('key', '=', 'r').execute();
    assert.is((await keys.call(fn, 'r', 'h', async () => answer(3))).executionId, 'e3', 'an expired key is a new one');
    // A first call whose replica stopped: its key is still "running" past its timeout + 60 s.
    const long = Date.now() - 61_000;
    await db.kysely.insertInto('idempotency_keys').values({ function_id: fn.id, key: 'gone', request_hash: 'h', state: 'running', answer: null, answer_body: null, created_at: long, expires_at: long + IDEMPOTENCY_TTL_MS }).execute();
    assert.is((await keys.call(fn, 'gone', 'h', async () => answer(4))).executionId, 'e4');
    assert.ok((await purgeIdempotencyKeys(db.kysely, Date.now() + IDEMPOTENCY_TTL_MS + 1)) >= 2, 'the purge takes keys past their 24 hours');
  });
};
