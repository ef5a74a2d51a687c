// A login that read the user (and its session version) before a password change committed, and issues its
// tokens after: those tokens are dead on arrival. Made deterministic with a hasher of ours whose verification
// of the racing login waits until the change has committed (real SQLite, real tokens and sessions).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDb } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { createTokenIssuer } from './tokens.js';
import { DenylistCache } from './denylist-cache.js';
import { Sessions } from './sessions.js';
import { AuthService } from './auth.service.js';
import { UsersService } from '../users/users.service.js';
import { UserCache } from '../users/user-cache.js';
import { createSealer } from '../secrets/crypto.js';
import { createLogger } from '../../../common/logger.js';
import type { PasswordHasher } from './passwords.js';
import { AppError } from '../errors.js';

/** Plain-text "hashes"; a verification can be held until the test lets it go. */
function gatedHasher() {
  let gate: Promise<void> | undefined;
  let open: () => void = () => {};
  let entered: () => void = () => {};
  const hasher: PasswordHasher = {
    hash: async (p) => `plain:${p}`,
    verify: async (h, p) => {
      // Only the first verification after hold() waits: the racing login's, not the change's own check.
      const g = gate;
      gate = undefined;
      if (g) {
        entered();
        await g;
      }
      return h === `plain:${p}`;
    },
    verifyDummy: async () => {},
  };
  return {
    hasher,
    /** The next verification waits until release(); resolves when it has started waiting. */
    hold(): Promise<void> {
      gate = new Promise((r) => (open = r));
      return new Promise((r) => (entered = r));
    },
    release() {
      open();
    },
  };
}

test('a login racing a password change gets tokens that are already dead', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpub-race-'));
  const db = connectDb({ dataDir: dir });
  try {
    await migrateToLatest(db.kysely);
    const gated = gatedHasher();
    const issuer = createTokenIssuer(new TextEncoder().encode('x'.repeat(48)));
    const denylist = new DenylistCache(db.kysely, createLogger('silent'));
    const sessions = new Sessions(issuer, denylist);
    const userCache = new UserCache(db.kysely, 0);
    const sealer = createSealer(Buffer.alloc(32, 7));
    const auth = new AuthService({ db: db.kysely, hasher: gated.hasher, issuer, sessions, denylist, userCache, registration: 'open', sealer });
    const users = new UsersService({ db: db.kysely, hasher: gated.hasher, sessions, userCache });
    const client = { ip: '10.0.0.1' };
    await auth.register({ email: 'race@example.com', password: 'old-password-1' }, client);
    const before = await auth.login({ email: 'race@example.com', password: 'old-password-1' }, client);
    const principal = (await auth.authenticate(before.accessToken)).principal;

    // The racing login reads the user, then waits in its password check…
    const held = gated.hold();
    const racing = auth.login({ email: 'race@example.com', password: 'old-password-1' }, client);
    await held;
    // …while the change commits; only then does the login go on and issue its tokens.
    await users.changePassword(principal, { currentPassword: 'old-password-1', newPassword: 'new-password-2' }, client);
    gated.release();
    const late = await racing;
    assert.ok(late.accessToken, 'the racing login was answered with tokens');
    for (const token of [late.accessToken, before.accessToken]) {
      try {
        await auth.authenticate(token);
        assert.unreachable('a token from before the change still works');
      } catch (err) {
        assert.instance(err, AppError);
        assert.is((err as AppError).code, 'token_revoked');
      }
    }
    let refreshed: unknown;
    try {
      refreshed = await auth.refresh(late.refreshToken, client);
    } catch (err) {
      refreshed = err;
    }
    assert.instance(refreshed, AppError, 'its refresh token is dead too');
    const fresh = await auth.login({ email: 'race@example.com', password: 'new-password-2' }, client);
    assert.ok((await auth.authenticate(fresh.accessToken)).principal, 'control: a login after the change works');
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
