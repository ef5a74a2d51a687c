// Store cases for sign-in state: users, the token store (refresh families, links, denylist), the login throttle
// and the audit log.
import * as assert from 'uvu/assert';
import type { Db } from '../../control-plane/src/db/connect.js';
import { usersRepo } from '../../control-plane/src/users/users.repo.js';
import { tokenStore } from '../../control-plane/src/auth/token-store.repo.js';
import { loginThrottle, ACCOUNT_POLICY, ADDRESS_POLICY } from '../../control-plane/src/auth/login-throttle.js';
import { auditRepo } from '../../control-plane/src/audit/audit.repo.js';
import { NOW, rejectsWith, user, type StoreCases } from '../helpers/store.js';

async function family(db: Db, id: string, userId: string) {
  await tokenStore.insertFamily(db.kysely, { id, userId, now: NOW, expiresAt: NOW + 10_000 });
}

function refresh(id: string, userId: string, family: string, expiresAt = NOW + 1000) {
  return { id, tokenHash: `hash-${id}`, userId, familyId: family, parentId: null, createdAt: NOW, expiresAt };
}

export const authCases: StoreCases = (s) => {
  s('users: insert, find, duplicate email is a Conflict', async ({ db }) => {
    await usersRepo.insert(db.kysely, user('u1'));
    const u = await usersRepo.findByEmail(db.kysely, 'u1@example.com');
    assert.is(u?.id, 'u1');
    assert.is(typeof u?.created_at, 'number', 'bigint columns come back as numbers');
    assert.is(u?.created_at, NOW);
    await rejectsWith(usersRepo.insert(db.kysely, user('u2', 'u1@example.com')), 'email_taken');
  });

  s('users: list pages newest first without overlap', async ({ db }) => {
    for (let i = 0; i < 5; i++) await usersRepo.insert(db.kysely, user(`p${i}`, undefined, NOW + i));
    const first = await usersRepo.list(db.kysely, 3);
    assert.equal(first.map((u) => u.id), ['p4', 'p3', 'p2']);
    const last = first[2]!;
    const next = await usersRepo.list(db.kysely, 3, { createdAt: last.created_at, id: last.id });
    assert.equal(next.map((u) => u.id), ['p1', 'u1', 'p0'], 'same created_at: ties broken by id, descending');
  });

  s('users: the first-admin slot is claimed exactly once, even concurrently', async ({ db }) => {
    const claims = await Promise.all(['p0', 'p1', 'p2', 'p3'].map((id) => db.kysely.transaction().execute((tx) => usersRepo.claimFirstAdmin(tx, id))));
    assert.is(claims.filter(Boolean).length, 1);
  });

  s('users: update, count admins, delete cascades to tokens', async ({ db }) => {
    assert.ok(await usersRepo.update(db.kysely, 'p0', { role: 'admin' }, NOW + 10));
    assert.is(await usersRepo.countActiveAdmins(db.kysely), 1);
    await usersRepo.update(db.kysely, 'p0', { disabled_at: NOW }, NOW + 11);
    assert.is(await usersRepo.countActiveAdmins(db.kysely), 0);
    await family(db, 'f-del', 'p1');
    await tokenStore.insertRefresh(db.kysely, refresh('r-del', 'p1', 'f-del'), { jti: 'a-del', expiresAt: NOW + 100 });
    assert.ok(await usersRepo.delete(db.kysely, 'p1'));
    assert.is(await tokenStore.findRefreshByHash(db.kysely, 'hash-r-del'), undefined);
    assert.is(await tokenStore.linkedAccess(db.kysely, 'r-del'), undefined);
    assert.not.ok(await usersRepo.delete(db.kysely, 'p1'));
  });

  s('token store: a refresh token is spent exactly once, even by concurrent transactions', async ({ db }) => {
    for (const f of ['f1', 'f2', 'f-exp', 'f-rev']) await family(db, f, 'u1');
    await tokenStore.insertRefresh(db.kysely, refresh('r1', 'u1', 'f1'), { jti: 'a1', expiresAt: NOW + 100 });
    const wins = await Promise.all(Array.from({ length: 5 }, () => db.kysely.transaction().execute((tx) => tokenStore.spend(tx, 'hash-r1', NOW))));
    assert.is(wins.filter(Boolean).length, 1);
    assert.is((await tokenStore.findRefreshByHash(db.kysely, 'hash-r1'))?.spent_at, NOW);
    assert.equal(await tokenStore.linkedAccess(db.kysely, 'r1'), { jti: 'a1', expiresAt: NOW + 100 });
  });

  s('token store: expired or revoked tokens cannot be spent', async ({ db }) => {
    await tokenStore.insertRefresh(db.kysely, refresh('r-exp', 'u1', 'f-exp', NOW - 1), { jti: 'a-exp', expiresAt: NOW });
    assert.not.ok(await tokenStore.spend(db.kysely, 'hash-r-exp', NOW));
    await tokenStore.insertRefresh(db.kysely, refresh('r-rev', 'u1', 'f-rev'), { jti: 'a-rev', expiresAt: NOW + 100 });
    await tokenStore.revokeFamily(db.kysely, 'f-rev', 'test', NOW);
    assert.not.ok(await tokenStore.spend(db.kysely, 'hash-r-rev', NOW));
    assert.not.ok(await tokenStore.touchFamily(db.kysely, 'f-rev', NOW, NOW + 10), 'a revoked family cannot be used');
    assert.ok(await tokenStore.touchFamily(db.kysely, 'f-exp', NOW, NOW + 10));
  });

  s('token store: a family revocation waits for a refresh in flight and revokes its successor too', async ({ db }) => {
    await family(db, 'f-race', 'u1');
    await tokenStore.insertRefresh(db.kysely, refresh('r-race-1', 'u1', 'f-race'), { jti: 'a-race-1', expiresAt: NOW + 100 });
    let touched!: () => void;
    const isTouched = new Promise<void>((r) => (touched = r));
    const refreshing = db.kysely.transaction().execute(async (tx) => {
      assert.ok(await tokenStore.touchFamily(tx, 'f-race', NOW, NOW + 1000));
      assert.ok(await tokenStore.spend(tx, 'hash-r-race-1', NOW));
      touched();
      await new Promise((r) => setTimeout(r, 300)); // the revocation starts meanwhile and must wait
      await tokenStore.insertRefresh(tx, { ...refresh('r-race-2', 'u1', 'f-race'), parentId: 'r-race-1' }, { jti: 'a-race-2', expiresAt: NOW + 100 });
    });
    await isTouched;
    const revoking = db.kysely.transaction().execute((tx) => tokenStore.revokeFamily(tx, 'f-race', 'logout', NOW));
    const [, denied] = await Promise.all([refreshing, revoking]);
    assert.ok((await tokenStore.findRefreshByHash(db.kysely, 'hash-r-race-2'))?.revoked_at, 'the successor is revoked');
    assert.ok(denied.some((e) => e.jti === 'a-race-2'), 'the successor’s access token is returned for denial');
  });

  s('token store: revoking a family returns every live linked access token', async ({ db }) => {
    await tokenStore.insertRefresh(db.kysely, refresh('r2', 'u1', 'f1'), { jti: 'a2', expiresAt: NOW + 100 });
    await tokenStore.insertRefresh(db.kysely, refresh('r3', 'u1', 'f2'), { jti: 'a3', expiresAt: NOW + 100 });
    const linked = await tokenStore.revokeFamily(db.kysely, 'f1', 'reuse', NOW);
    assert.equal(linked.map((e) => e.jti).sort(), ['a1', 'a2']);
    assert.is((await tokenStore.findRefreshByHash(db.kysely, 'hash-r2'))?.revoke_reason, 'reuse');
    assert.is((await tokenStore.findRefreshByHash(db.kysely, 'hash-r3'))?.revoked_at, null, 'other families untouched');
    const byUser = await tokenStore.revokeUser(db.kysely, 'u1', 'password_change', NOW);
    assert.ok(byUser.some((e) => e.jti === 'a3'));
  });

  s('token store: denylist insert is idempotent, stamped by the database clock, purged after expiry', async ({ db }) => {
    const before = await tokenStore.dbNow(db.kysely);
    assert.ok(Math.abs(before - Date.now()) < 5000, 'the database clock is epoch milliseconds');
    await tokenStore.deny(db.kysely, [{ jti: 'd1', expiresAt: NOW + 50 }, { jti: 'd2', expiresAt: NOW + 5000 }], 'logout');
    await tokenStore.deny(db.kysely, [{ jti: 'd1', expiresAt: NOW + 50 }], 'logout');
    const after = await tokenStore.dbNow(db.kysely);
    assert.ok(await tokenStore.isDenied(db.kysely, 'd1'));
    assert.not.ok(await tokenStore.isDenied(db.kysely, 'nope'));
    assert.equal((await tokenStore.deniedSince(db.kysely, before, NOW)).map((e) => e.jti).sort(), ['d1', 'd2']);
    assert.equal(await tokenStore.deniedSince(db.kysely, after + 1, NOW), []);
    const purged = await tokenStore.purgeExpired(db.kysely, NOW + 100);
    assert.is(purged.denylist, 1);
    assert.ok(purged.refresh >= 1, 'expired refresh tokens purged');
    assert.not.ok(await tokenStore.isDenied(db.kysely, 'd1'));
    assert.ok(await tokenStore.isDenied(db.kysely, 'd2'));
  });

  s('token store: a spent token keeps its sealed successor for the grace window only', async ({ db }) => {
    await tokenStore.insertFamily(db.kysely, { id: 'f-grace', userId: 'u1', now: NOW, expiresAt: NOW + 10 * 86_400_000 });
    await tokenStore.insertRefresh(db.kysely, { ...refresh('r-grace', 'u1', 'f-grace'), expiresAt: NOW + 10 * 86_400_000 }, { jti: 'a-grace', expiresAt: NOW + 100 });
    assert.ok(await tokenStore.spend(db.kysely, 'hash-r-grace', NOW));
    await tokenStore.recordSuccessor(db.kysely, 'hash-r-grace', 'sealed-pair', '10.0.0.1');
    const row = await tokenStore.findRefreshByHash(db.kysely, 'hash-r-grace');
    assert.equal([row?.successor_sealed, row?.spent_ip], ['sealed-pair', '10.0.0.1']);
    await tokenStore.purgeExpired(db.kysely, NOW + 20_000);
    assert.is((await tokenStore.findRefreshByHash(db.kysely, 'hash-r-grace'))?.successor_sealed, 'sealed-pair', 'still within a minute');
    await tokenStore.purgeExpired(db.kysely, NOW + 61_000);
    assert.is((await tokenStore.findRefreshByHash(db.kysely, 'hash-r-grace'))?.successor_sealed, null, 'cleared after it');
  });

  s('login throttle: attempts are counted before checking, atomically, so parallel guesses stop at the limit', async ({ db }) => {
    const key = 'acct:par@example.com';
    const results = await Promise.all(Array.from({ length: 20 }, () => loginThrottle.attempt(db.kysely, key, ACCOUNT_POLICY, NOW)));
    assert.is(results.filter((ms) => ms === 0).length, ACCOUNT_POLICY.maxFailures);
    assert.ok(results.every((ms) => ms === 0 || ms >= ACCOUNT_POLICY.baseBlockMs), 'the rest are told to wait');
  });

  s('login throttle: failures block, back off, reset on success and with a new window; purge', async ({ db }) => {
    const key = 'acct:t@example.com';
    for (let i = 0; i < ACCOUNT_POLICY.maxFailures; i++) {
      assert.is(await loginThrottle.attempt(db.kysely, key, ACCOUNT_POLICY, NOW), 0);
      await loginThrottle.failed(db.kysely, key, ACCOUNT_POLICY, NOW);
    }
    assert.is(await loginThrottle.attempt(db.kysely, key, ACCOUNT_POLICY, NOW + 1), ACCOUNT_POLICY.baseBlockMs - 1, 'blocked after the limit');
    const later = NOW + ACCOUNT_POLICY.baseBlockMs + 1;
    assert.is(await loginThrottle.attempt(db.kysely, key, ACCOUNT_POLICY, later), 2 * ACCOUNT_POLICY.baseBlockMs, 'backs off');
    const fresh = NOW + ACCOUNT_POLICY.windowMs + ACCOUNT_POLICY.maxBlockMs;
    assert.is(await loginThrottle.attempt(db.kysely, key, ACCOUNT_POLICY, fresh), 0, 'a new window starts fresh');

    const ip = 'ip:10.9.9.9';
    for (let i = 0; i < 3; i++) await loginThrottle.attempt(db.kysely, ip, ADDRESS_POLICY, NOW);
    await loginThrottle.succeeded(db.kysely, key, ip);
    const rows = await db.kysely.selectFrom('login_throttle').selectAll().where('key', 'in', [key, ip]).execute();
    assert.equal(rows.map((r) => [r.key, r.failures]), [[ip, 2]], 'account cleared, address gets the attempt back');
    await loginThrottle.attempt(db.kysely, 'ip:old', ADDRESS_POLICY, NOW - 2 * 3600_000);
    assert.ok((await loginThrottle.purge(db.kysely, NOW)) >= 1);
  });

  s('audit log: records and filters', async ({ db }) => {
    await auditRepo.record(db.kysely, { event: 'login_failure', subjectId: 'u1', clientIp: '10.0.0.1', detail: { email: 'u1@example.com' } }, NOW);
    await auditRepo.record(db.kysely, { event: 'logout', actorId: 'u1', subjectId: 'u1' }, NOW + 1);
    const rows = await auditRepo.list(db.kysely, { subjectId: 'u1' });
    assert.equal(rows.map((r) => r.event), ['logout', 'login_failure']);
    assert.equal(JSON.parse(rows[1]!.detail), { email: 'u1@example.com' });
    assert.is((await auditRepo.list(db.kysely, { event: 'logout' })).length, 1);
  });
};
