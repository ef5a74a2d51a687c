// The deliverer on a real SQLite database against a receiver on 127.0.0.1 (allowed as an operator would with
// CPUB_DESTINATION_ALLOW): passes that read the same due delivery send it once. Two deliverers on one database stand
// for the cases where that happens in life — a pass reading a delivery whose attempt has just finished (PostgreSQL
// reads without blocking on the write), and two replicas around a lease hand-over.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { withQueue } from '../../../tests/helpers/queue.js';
import { createLogger } from '../../../common/logger.js';
import { createSealer } from '../secrets/crypto.js';
import { AddressGuard } from './destinations.js';
import { Deliverer } from './deliverer.js';
import { deliveriesRepo } from './destination-deliveries.repo.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('two passes reading the same due delivery: it is sent once, and its attempt counted once', async () => {
  await withQueue(0, async (db) => {
    const posts: string[] = [];
    const receiver = createServer((req, res) => {
      posts.push(String(req.headers['x-cpub-delivery']));
      req.resume();
      req.on('end', () => res.writeHead(500).end());
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const sealer = createSealer(randomBytes(32));
    await db.kysely.updateTable('functions').set({ destination_secret: sealer.seal('s'.repeat(32), 'destination:f') }).where('id', '=', 'f').execute();
    const now = Date.now();
    await deliveriesRepo.insert(db.kysely, { id: 'd1', function_id: 'f', call_id: 'c1', event: 'call.failed', url, body: Buffer.from('{}'), state: 'pending', attempts: 0, due_at: now, last_error: null, created_at: now, finished_at: null });
    const guard = new AddressGuard(['127.0.0.1/32']);
    // A failed attempt is tried again a minute later: any second POST within the test is a duplicate.
    const deliverers = [0, 1].map(() => new Deliverer(db.kysely, sealer, guard, createLogger('silent'), undefined, { baseMs: 60_000, passMs: 50 }));
    for (const d of deliverers) d.start();
    try {
      await sleep(800);
    } finally {
      await Promise.all(deliverers.map((d) => d.stop()));
      await new Promise((r) => receiver.close(r));
    }
    assert.equal(posts, ['d1'], 'one POST');
    const [row] = await deliveriesRepo.forCall(db.kysely, 'c1');
    assert.equal([row?.state, row?.attempts, row?.last_error], ['pending', 1, 'the destination answered 500']);
  });
});

test.run();
