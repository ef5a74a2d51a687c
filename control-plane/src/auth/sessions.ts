// Sessions: token families made of rotating refresh tokens, each linked to its access token; issuing and revoking them.
import { randomUUID } from 'node:crypto';
import type { Executor } from '../db/schema.js';
import { tokenStore, type DenylistEntry } from './token-store.repo.js';
import type { DenylistCache } from './denylist-cache.js';
import type { TokenIssuer, TokenSubject } from './tokens.js';
import { ACCESS_TTL_S } from './tokens.js';
import type { TokenPair } from '../../../common/api-types.js';

/** A new token pair, as login and refresh answer it (the shape lives in common/api-types.ts). */
export type TokenResponse = TokenPair;

export class Sessions {
  constructor(
    private readonly issuer: TokenIssuer,
    private readonly denylist: DenylistCache,
  ) {}

  /**
   * Issues a token pair for a new session; writes it in `tx`. The tokens carry `user.session_version` as read
   * by the caller *before* it checked the password, so a password change racing this login fences them off.
   */
  async start(tx: Executor, user: TokenSubject, now: number): Promise<TokenResponse> {
    const familyId = randomUUID();
    const pair = await this.issuer.issuePair(user, familyId, now);
    await tokenStore.insertFamily(tx, { id: familyId, userId: user.id, now, expiresAt: pair.refresh.expiresAt });
    return this.store(tx, user, pair, familyId, null, now);
  }

  /** Issues the successor pair in an existing family (the caller has touched the family and spent the parent). */
  async rotate(tx: Executor, user: TokenSubject, now: number, familyId: string, parentId: string): Promise<TokenResponse> {
    const pair = await this.issuer.issuePair(user, familyId, now);
    return this.store(tx, user, pair, familyId, parentId, now);
  }

  private async store(tx: Executor, user: TokenSubject, pair: Awaited<ReturnType<TokenIssuer['issuePair']>>, familyId: string, parentId: string | null, now: number): Promise<TokenResponse> {
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
    return this.revokeThen(tx, () => tokenStore.revokeFamily(tx, familyId, reason, now), reason);
  }

  /** Revokes every session of a user inside `tx`. */
  revokeUser(tx: Executor, userId: string, reason: string, now: number): Promise<DenylistEntry[]> {
    return this.revokeThen(tx, () => tokenStore.revokeUser(tx, userId, reason, now), reason);
  }

  /** Puts access tokens on the shared denylist inside `tx`. */
  async deny(tx: Executor, entries: DenylistEntry[], reason: string): Promise<DenylistEntry[]> {
    await tokenStore.deny(tx, entries, reason);
    return entries;
  }

  /** Makes committed revocations visible to this replica at once (others see them on their next poll). */
  commitDenied(entries: DenylistEntry[]): void {
    this.denylist.add(entries);
  }

  private async revokeThen(tx: Executor, revoke: () => Promise<DenylistEntry[]>, reason: string) {
    return this.deny(tx, await revoke(), reason);
  }
}
