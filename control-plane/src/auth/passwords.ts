// Password hashing with argon2id at OWASP's parameters, with a cap on hashes running at once.
import argon2 from 'argon2';
import pLimit from 'p-limit';
import { Invalid, AppError } from '../errors.js';

/** OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1. */
const PARAMS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** True when `password` matches `hash`. Unknown accounts should call verifyDummy to take the same time. */
  verify(hash: string, password: string): Promise<boolean>;
  /** Burns the time of one verification, so an unknown email answers like a wrong password. */
  verifyDummy(password: string): Promise<void>;
}

/** Throws Invalid before any hashing when the length is out of bounds (bounds the CPU a request can cost). */
export function checkPasswordLength(password: string, field = 'password'): void {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw Invalid('invalid_password', `${field} must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`, { field });
  }
}

/**
 * At most `maxConcurrent` hashes run at once and at most `maxQueued` wait; past that the caller gets a 503
 * with Retry-After instead of a queue that delays every login on the server.
 */
export function createPasswordHasher(maxConcurrent = 4, maxQueued = 64): PasswordHasher {
  const limit = pLimit(maxConcurrent);
  let dummy: Promise<string> | undefined;
  const run = <T>(fn: () => Promise<T>): Promise<T> => {
    if (limit.pendingCount >= maxQueued) {
      return Promise.reject(new AppError('unavailable', 'busy', 'too many password checks in progress; try again shortly', { retryAfter: 1 }));
    }
    return limit(fn);
  };
  const hash = (password: string) => run(() => argon2.hash(password, PARAMS));
  const verify = async (h: string, password: string) => {
    try {
      return await run(() => argon2.verify(h, password));
    } catch (err) {
      if (err instanceof AppError) throw err;
      return false; // a malformed stored hash verifies nothing
    }
  };
  return {
    hash,
    verify,
    async verifyDummy(password) {
      dummy ??= hash('containerpub-dummy-password');
      await verify(await dummy, password);
    },
  };
}
