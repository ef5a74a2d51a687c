// Sessions: token families made of rotating refresh tokens, each linked to its access token; issuing and revoking them.
import { randomUUID } from 'node:crypto';
import type { Executor, User } from '../db/schema.js';
import { tokenStore, type DenylistEntry } from './token-store.repo.js';
import type { DenylistCache } from './denylist-cache.js';
import type { TokenIssuer } from './tokens.js';
import { ACCESS_TTL_S } from './tokens.js';

export interface TokenResponse {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

export class Sessions {
  constructor(
    private readonly issuer: TokenIssuer,
    private readonly denylist: DenylistCache,
  ) {}

  /** Issues a token pair in `familyId` (a new family when omitted); writes it in `tx`. */
  async issue(tx: Executor, user: User, now: number, familyId: string = randomUUID(), parentId: string | null = null): Promise<TokenResponse> {
    const pair = await this.issuer.issuePair(user, familyId, now);
    await tokenStore.insertRefresh(
      tx,
      {
        id: pair.refresh.jti,
        tokenHash: pair.refresh.hash,
        userId: user.id,
        familyId,
        parentId,
        createdAt: now,
        expiresAt: pair.refresh.expiresAt,
      },
      pair.access,
    );
    return { accessToken: pair.accessToken, refreshToken: pair.refreshToken, tokenType: 'Bearer', expiresIn: ACCESS_TTL_S };
  }

  /** Revokes a whole family inside `tx`; call `commitDenied` with the result after the transaction commits. */
  revokeFamily(tx: Executor, familyId: string, reason: string, now: number): Promise<DenylistEntry[]> {
    return this.revokeThen(tx, () => tokenStore.revokeFamily(tx, familyId, reason, now), reason, now);
  }

  /** Revokes every session of a user inside `tx`. */
  revokeUser(tx: Executor, userId: string, reason: string, now: number): Promise<DenylistEntry[]> {
    return this.revokeThen(tx, () => tokenStore.revokeUser(tx, userId, reason, now), reason, now);
  }

  /** Puts access tokens on the shared denylist inside `tx`. */
  async deny(tx: Executor, entries: DenylistEntry[], reason: string, now: number): Promise<DenylistEntry[]> {
    await tokenStore.deny(tx, entries, reason, now);
    return entries;
  }

  /** Makes committed revocations visible to this replica at once (others see them on their next poll). */
  commitDenied(entries: DenylistEntry[]): void {
    this.denylist.add(entries);
  }

  private async revokeThen(tx: Executor, revoke: () => Promise<DenylistEntry[]>, reason: string, now: number) {
    const linked = await revoke();
    return this.deny(tx, linked, reason, now);
  }
}
