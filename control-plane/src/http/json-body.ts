// JSON request bodies read straight from Node's request, up to a limit. Given the body, @hono/node-server would build
// a web Request and a ReadableStream over the socket to read it (a quarter of the server's CPU for a JSON call, more
// than the call's own work); read here, its text goes into Hono's body cache, where `c.req.json()` (the validators),
// `c.req.text()` and `c.req.arrayBuffer()` take it from. A body that passes the limit is refused as it comes (413),
// the rest drained by close-unread.ts; the server's request timeout bounds the read.
import type { Context, Next } from 'hono';
import type { IncomingMessage } from 'node:http';
import type { AppError } from '../errors.js';
import { readCallBody } from '../invocations/request-body.js';

/** `application/json` and `application/<x>+json`, as Hono's json validator takes them. */
const JSON_TYPE = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

/** True when the request has a JSON body this middleware can read from Node's request (else Hono reads it). */
export function readsJson(c: Context): boolean {
  const type = c.req.header('content-type');
  return type !== undefined && JSON_TYPE.test(type) && (c.env as { incoming?: IncomingMessage } | undefined)?.incoming !== undefined;
}

/** Reads the JSON body of `c` (see `readsJson`) into Hono's body cache, then runs the route. */
export async function readJsonBody(c: Context, next: Next, limit: number, tooLarge: () => AppError): Promise<void> {
  const incoming = (c.env as { incoming: IncomingMessage }).incoming;
  const bytes = (await readCallBody(incoming, limit, false, tooLarge)) as Buffer;
  // As Response.text() decodes: UTF-8, a byte-order mark dropped.
  const text = bytes.toString('utf8');
  // (Hono keeps each body read as its promise there; its type says otherwise.)
  (c.req.bodyCache as Record<string, Promise<unknown>>).text = Promise.resolve(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  await next();
}
