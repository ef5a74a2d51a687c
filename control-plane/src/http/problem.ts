// The one place errors become HTTP: AppError and Hono's HTTPException → RFC 9457 application/problem+json.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AppError, type ErrorKind } from '../errors.js';
import type { Logger } from '../logger.js';

const STATUS: Record<ErrorKind, ContentfulStatusCode> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
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

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  instance: string;
  requestId?: string;
  [extra: string]: unknown;
}

export function problemType(code: string): string {
  return `urn:containerpub:problem:${code}`;
}

export function problemResponse(c: Context, status: ContentfulStatusCode, code: string, detail: string, extra: Record<string, unknown> = {}): Response {
  const body: Problem = {
    type: problemType(code),
    title: TITLES[status] ?? 'Error',
    status,
    code,
    detail,
    instance: c.req.path,
    requestId: c.get('requestId' as never) as string | undefined,
    ...extra,
  };
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json' };
  if (status === 401) headers['WWW-Authenticate'] = `Bearer realm="containerpub", error="invalid_token"`;
  if (typeof extra.retryAfter === 'number') headers['Retry-After'] = String(extra.retryAfter);
  return c.body(JSON.stringify(body), status, headers);
}

/** Builds the app's onError handler: known errors keep their status and code; the rest are a logged 500. */
export function errorHandler(log: Logger) {
  return (err: Error, c: Context): Response => {
    if (err instanceof AppError) {
      // A function's failures carry their own status (502, 504, …): `httpStatus` picks it, and is not shown.
      const { httpStatus, ...extra } = err.extra;
      return problemResponse(c, typeof httpStatus === 'number' ? (httpStatus as ContentfulStatusCode) : STATUS[err.kind], err.code, err.detail, extra);
    }
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      const malformed = status === 400 && /json/i.test(err.message);
      return problemResponse(c, status, malformed ? 'invalid_json' : (HTTP_CODES[status] ?? 'http_error'), err.message || TITLES[status] || 'error');
    }
    log.error({ err, requestId: c.get('requestId' as never), path: c.req.path }, 'unhandled error');
    return problemResponse(c, 500, 'internal_error', 'something went wrong on our side; the request id identifies it in the server log');
  };
}
