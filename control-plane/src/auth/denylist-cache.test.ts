// The denylist cache on a real SQLite store: immediate local adds, polling other writers, the stale fallback,
// failing closed, and rows whose transaction committed late.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connectDb, type Db } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { createLogger } from '../../../common/logger.js';
import { DenylistCache } from './denylist-cache.js';
import { tokenStore } from './token-store.repo.js';
import { AppError } from '../errors.js';

const s = suite('denylist cache');
let dir: string;
let db: Db;
const log = createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }));
const future = () => Date.now() + 3600_000;

s.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cpub-deny-'));
  db = connectDb({ dataDir: dir });
  await migrateToLatest(db.kysely);
});
s.after(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

s('loads existing rows at start; local adds are visible at once', async () => {
  await tokenStore.deny(db.kysely, [{ jti: 'pre', expiresAt: future() }], 'test');
  const c = new DenylistCache(db.kysely, log, { pollMs: 60_000 });
  await c.start();
  assert.ok(await c.has('pre'));
  c.add([{ jti: 'local', expiresAt: future() }]);
  assert.ok(await c.has('local'));
  assert.not.ok(await c.has('other'));
  await c.stop();
});

s('rows written by another replica appear after one poll', async () => {
  const c = new DenylistCache(db.kysely, log, { pollMs: 50 });
  await c.start();
  await tokenStore.deny(db.kysely, [{ jti: 'remote', expiresAt: future() }], 'test');
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(await c.has('remote'));
  await c.stop();
});

s('a row whose transaction committed seconds after its insert is still picked up', async () => {
  const c = new DenylistCache(db.kysely, log, { pollMs: 50, overlapMs: 5000 });
  await c.start();
  // Stamped 3 s in the past by the database clock, as if its transaction had dragged on before committing.
  const stamp = (await tokenStore.dbNow(db.kysely)) - 3000;
  await db.kysely.insertInto('access_denylist').values({ jti: 'late', expires_at: future(), created_at: stamp, reason: 'test' }).execute();
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(await c.has('late'));
  await c.stop();
});

s('when polling is stale it asks the database; when that fails it refuses (503), never allows', async () => {
  let now = Date.now();
  const c = new DenylistCache(db.kysely, log, { pollMs: 3_600_000, maxStaleMs: 3000, now: () => now });
  await c.start();
  await tokenStore.deny(db.kysely, [{ jti: 'unseen', expiresAt: future() }], 'test');
  assert.not.ok(await c.has('unseen'), 'fresh cache answers from memory');
  now += 5000;
  assert.ok(await c.has('unseen'), 'stale cache checks the database');
  assert.not.ok(await c.has('never'));
  const brokenDir = mkdtempSync(join(tmpdir(), 'cpub-deny-broken-'));
  const broken = connectDb({ dataDir: brokenDir });
  const b = new DenylistCache(broken.kysely, log, { pollMs: 3_600_000, now: () => now });
  await migrateToLatest(broken.kysely);
  await b.start();
  await broken.close();
  now += 5000;
  try {
    await b.has('anything');
    assert.unreachable('answered without a database');
  } catch (err) {
    assert.instance(err, AppError);
    assert.is((err as AppError).code, 'database_unavailable');
  }
  await c.stop();
  await b.stop();
  rmSync(brokenDir, { recursive: true, force: true });
});

s.run();
