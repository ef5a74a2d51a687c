// The one place errors become HTTP: AppError and Hono's HTTPException → RFC 9457 application/problem+json.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AppError, statusOf, storageFull } from '../errors.js';
import type { Logger } from '../../../common/logger.js';
import type { ProblemBody } from '../../../common/api-types.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  507: 'Insufficient Storage',
};

const HTTP_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** The body of every error answer (the shape lives in common/api-types.ts, which the CLI reads too). */
export type Problem = ProblemBody;

export function problemType(code: string): string {
  return `urn:containerpub:problem:${code}`;
}

/** A problem's status, headers and body, for any transport (Hono below, the function-URL handler). */
export function problemParts(status: number, code: string, detail: string, instance: string, requestId: string | undefined, extra: Record<string, unknown> = {}): { status: number; headers: Record<string, string>; body: string } {
  const body: Problem = { type: problemType(code), title: TITLES[status] ?? 'Error', status, code, detail, instance, requestId, ...extra };
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json' };
  if (status === 401) headers['WWW-Authenticate'] = `Bearer realm="containerpub", error="invalid_token"`;
  if (typeof extra.retryAfter === 'number') headers['Retry-After'] = String(extra.retryAfter);
  return { status, headers, body: JSON.stringify(body) };
}

export function problemResponse(c: Context, status: ContentfulStatusCode, code: string, detail: string, extra: Record<string, unknown> = {}): Response {
  const p = problemParts(status, code, detail, c.req.path, c.get('requestId' as never) as string | undefined, extra);
  return c.body(p.body, status, p.headers);
}

/**
 * Any thrown value as a problem, for every transport: an AppError keeps its status and code, a full disk is a
 * 507, Hono's HTTPException its status; anything else is a 500 that says only where to look, logged here with
 * the request id.
 */
export function problemOf(thrown: unknown, instance: string, requestId: string | undefined, log: Logger): { status: number; headers: Record<string, string>; body: string } {
  const full = storageFull(thrown);
  if (full) log.warn({ requestId, path: instance, code: (thrown as { code?: string }).code }, 'out of storage space');
  const err = full ?? thrown;
  if (err instanceof AppError) {
    const { status, extra } = statusOf(err);
    return problemParts(status, err.code, err.detail, instance, requestId, extra);
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    const malformed = status === 400 && /json/i.test(err.message);
    return problemParts(status, malformed ? 'invalid_json' : (HTTP_CODES[status] ?? 'http_error'), err.message || TITLES[status] || 'error', instance, requestId);
  }
  log.error({ err, requestId, path: instance }, 'unhandled error');
  return problemParts(500, 'internal_error', 'something went wrong on our side; the request id identifies it in the server log', instance, requestId);
}

/** Builds the app's onError handler (problemOf, answered through Hono). */
export function errorHandler(log: Logger) {
  return (thrown: Error, c: Context): Response => {
    const p = problemOf(thrown, c.req.path, c.get('requestId' as never) as string | undefined, log);
    return c.body(p.body, p.status as ContentfulStatusCode, p.headers);
  };
}
