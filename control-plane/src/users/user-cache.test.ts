// The user cache: serves a row for at most its TTL, and forgets it at once when invalidated.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDb } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { usersRepo } from './users.repo.js';
import { UserCache } from './user-cache.js';

test('TTL and invalidation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-ucache-'));
  const db = connectDb({ dataDir: dir });
  try {
    await migrateToLatest(db.kysely);
    await usersRepo.insert(db.kysely, { id: 'u', email: 'u@x.io', name: 'u', password_hash: 'h', role: 'user', created_at: 1, updated_at: 1, disabled_at: null, session_version: 0, handle: `h-${Math.random().toString(36).slice(2, 10)}` });
    let now = 1000;
    const cache = new UserCache(db.kysely, 1000, 10, () => now);
    assert.is((await cache.get('u'))?.role, 'user');
    await usersRepo.update(db.kysely, 'u', { role: 'admin' }, 2);
    assert.is((await cache.get('u'))?.role, 'user', 'within the TTL the cached row is served');
    now += 1000;
    assert.is((await cache.get('u'))?.role, 'admin', 'after the TTL the row is read again');
    await usersRepo.update(db.kysely, 'u', { role: 'user' }, 3);
    cache.invalidate('u');
    assert.is((await cache.get('u'))?.role, 'user', 'invalidation takes effect at once');
    assert.is(await cache.get('missing'), undefined);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
