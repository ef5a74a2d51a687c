// Typed application errors with a stable code; http/problem.ts maps them to HTTP once.

import type { RemoteErrorKind } from '../../proto/errors.js';

/** The kinds a control-plane error can have: the wire's kinds less the two only an RPC produces. */
export type ErrorKind = Exclude<RemoteErrorKind, 'deadline_exceeded' | 'internal'>;

export class AppError extends Error {
  constructor(
    readonly kind: ErrorKind,
    /** Stable, machine-readable code, e.g. `invalid_credentials`. */
    readonly code: string,
    /** Human-readable explanation, safe to show to the caller. */
    readonly detail: string,
    /** Extra fields for the problem body (never secrets). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'AppError';
  }
}

export const Invalid = (code: string, detail: string, extra?: Record<string, unknown>) =>
  new AppError('invalid', code, detail, extra);
export const Unauthenticated = (code: string, detail: string) => new AppError('unauthenticated', code, detail);
export const Forbidden = (code: string, detail: string) => new AppError('forbidden', code, detail);
export const NotFound = (code: string, detail: string) => new AppError('not_found', code, detail);
export const Conflict = (code: string, detail: string) => new AppError('conflict', code, detail);
export const TooLarge = (code: string, detail: string) => new AppError('too_large', code, detail);
export const RateLimited = (code: string, detail: string, retryAfterSeconds: number) =>
  new AppError('rate_limited', code, detail, { retryAfter: retryAfterSeconds });
export const Unavailable = (code: string, detail: string) => new AppError('unavailable', code, detail);

/** Driver and system codes that mean the disk (or the database's) is full: SQLite, Node's fs, PostgreSQL. */
const STORAGE_FULL = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT', '53100']);

/** A full disk is an answer (507 insufficient_storage), not a 500: undefined for any other error. */
export function storageFull(err: unknown): AppError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !STORAGE_FULL.has(code)) return undefined;
  return new AppError('unavailable', 'insufficient_storage', 'the server is out of storage space and cannot save this; try again once an operator has freed some', { httpStatus: 507 });
}

const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
};

/** The HTTP status an error answers with: its kind's, or the `httpStatus` it carries (not shown), and the rest of its extra fields. */
export function statusOf(err: AppError): { status: number; extra: Record<string, unknown> } {
  // A function's failures carry their own status (502, 504, …).
  const { httpStatus, ...extra } = err.extra;
  return { status: typeof httpStatus === 'number' ? httpStatus : STATUS[err.kind], extra };
}
