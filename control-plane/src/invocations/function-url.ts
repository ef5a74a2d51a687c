// Function URLs: `ANY /fn/:owner/:name[@alias][/*]` passes the raw HTTP request through to the function and answers
// with its response as is, plus `Cpub-Execution-Id`, `Server-Timing` and `X-Request-Id`. Auth by the
// function's mode: `public` (none), `private` (the owner's access token), `key` (one of its API keys, bearer
// or signed). This is the hot path, so it is a plain Node request handler beside the Hono app (which costs
// more per request than the rest of the server's share of a warm call); errors still become problems
// through http/problem.ts, and the request gets the same log line as any other.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../../common/logger.js';
import { STRIPPED_REQUEST, STRIPPED_RESPONSE } from '../../../common/headers.js';
import { bearerToken } from '../auth/bearer.js';
import { AppError, NotFound } from '../errors.js';
import { lingerOnClose } from '../http/close-unread.js';
import { problemOf } from '../http/problem.js';
import type { CallOutcome, InvocationService } from './invocation.service.js';
import { readCallBody } from './request-body.js';
import { prefersAsync, statusUrlOf } from './prefer.js';
import type { ReplyBody } from '../fleet/reply-body.js';

/**
 * Every function response is a sandboxed document: a page a function returns runs with an opaque origin, so
 * its scripts cannot read the dashboard's pages or act with its cookies (they are SameSite=Strict) even though
 * both are served from this host.
 */
const SANDBOX = 'sandbox allow-scripts allow-forms allow-popups allow-downloads';
const PREFIX = '/fn/';

export interface FunctionUrlDeps {
  invocations: InvocationService;
  log: Logger;
}

/** True for the requests `functionUrlHandler` serves. */
export const isFunctionUrl = (url: string | undefined): boolean => url !== undefined && url.startsWith(PREFIX);

export function functionUrlHandler(d: FunctionUrlDeps): (req: IncomingMessage, res: ServerResponse) => void {
  // The line below holds only fixed, non-secret fields: no redaction pass (as in http/request-log.ts).
  const log = d.log.child({}, { redact: { paths: [] } });

  async function serve(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const target = req.url!;
    const q = target.indexOf('?');
    const pathname = q < 0 ? target : target.slice(0, q);
    const [ownerRaw, nameRaw, ...rest] = pathname.slice(PREFIX.length).split('/');
    const owner = decode(ownerRaw);
    // <name>@<alias>: the call goes through that alias (none: live).
    const [name, alias, extra] = (decode(nameRaw) ?? '').split('@');
    if (!owner || !name || alias === '' || extra !== undefined) throw NotFound('not_found', `no route for ${req.method} ${pathname}`);
    const headers: [string, string][] = [];
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!.toLowerCase();
      if (!STRIPPED_REQUEST.has(k)) headers.push([k, raw[i + 1]!]);
    }
    const credentials = { bearer: bearerToken(req.headers.authorization), apiKey: one(req.headers['x-api-key']), timestamp: one(req.headers['x-timestamp']), signature: one(req.headers['x-signature']) };
    const request = { method: req.method ?? 'GET', path: rest.length ? `/${rest.join('/')}` : '/', query: q < 0 ? '' : target.slice(q + 1), headers, body: (limit: number, streams: boolean) => readCallBody(req, limit, streams) };
    const options = { trigger: 'url' as const, idempotencyKey: one(req.headers['idempotency-key']), alias, stream: true };
    if (prefersAsync(one(req.headers.prefer))) {
      // Queued: the call is durable now and runs later; its status URL has its progress and answer.
      const { executionId, replayed } = await d.invocations.enqueue({ credentials }, { handle: owner, name }, request, options);
      const body = JSON.stringify({ executionId, statusUrl: statusUrlOf(executionId) });
      res.writeHead(202, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Location: statusUrlOf(executionId), 'Preference-Applied': 'respond-async', 'Cpub-Execution-Id': executionId, 'X-Request-Id': requestId, ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}) });
      res.end(body);
      return;
    }
    const out = await d.invocations.invoke({ credentials }, { handle: owner, name }, request, options);
    // The first call's answer, given again for its Idempotency-Key (a problem says so too).
    if (out.replayed) res.setHeader('Idempotent-Replayed', 'true');
    if (out.error) throw out.error;
    const head: string[] = [];
    for (const [k, v] of out.headers) if (!STRIPPED_RESPONSE.has(k.toLowerCase())) head.push(k, v);
    if (out.sampled) head.push('Cpub-Sampled', 'true'); // no record kept of this call: it counts in the stats only
    head.push('X-Request-Id', requestId, 'Cpub-Execution-Id', out.executionId, 'Server-Timing', serverTiming(out), 'Content-Security-Policy', SANDBOX, 'X-Content-Type-Options', 'nosniff');
    // The function answered before it read all of a body that streams in: the rest is not read, so the connection ends with the answer.
    if (!req.complete) head.push('Connection', 'close');
    if (out.stream) return streamOut(req, res, out.statusCode, head, out.stream);
    const empty = nullBodyStatus(out.statusCode) || req.method === 'HEAD';
    if (!empty) head.push('Content-Length', String(out.body.length));
    res.writeHead(out.statusCode, head);
    res.end(empty ? undefined : out.body);
  }

  function fail(req: IncomingMessage, res: ServerResponse, requestId: string, thrown: unknown): void {
    // The root logger (not the request line's): its redaction applies to what an unknown error carries.
    const p = problemOf(thrown, req.url!.split('?')[0]!, requestId, d.log);
    if (res.headersSent) return void res.destroy();
    // A body refused before it was read: the answer says the connection closes, and the rest of the body is read
    // and dropped for a moment (a lingering close) so the client gets the answer before the connection ends.
    const unread = !req.complete;
    if (unread) {
      lingerOnClose(req.socket);
      req.resume();
    }
    // A call that was recorded names its execution in a header too, as a successful one does.
    const executionId = thrown instanceof AppError && typeof thrown.extra.executionId === 'string' ? { 'Cpub-Execution-Id': thrown.extra.executionId } : {};
    res.writeHead(p.status, { ...p.headers, ...executionId, 'X-Request-Id': requestId, 'Content-Length': Buffer.byteLength(p.body), ...(unread ? { Connection: 'close' } : {}) });
    res.end(p.body);
  }

  return (req, res) => {
    const started = performance.now();
    const given = one(req.headers['x-request-id']);
    const requestId = given && given.length <= 255 && !/[^\w\-=]/.test(given) ? given : randomUUID();
    res.once('finish', () => {
      const line = { requestId, method: req.method, path: req.url!.split('?')[0], status: res.statusCode, ms: Math.round((performance.now() - started) * 10) / 10 };
      if (res.statusCode >= 500) log.error(line, 'request');
      else log.info(line, 'request');
    });
    serve(req, res, requestId).catch((err) => fail(req, res, requestId, err));
  };
}

/**
 * An answer the function streams, written as it comes (chunked): each chunk's bytes are given back to the agent as
 * credit once the socket has taken them, so a slow reader slows the function and nothing piles up here. A stream
 * that does not end well (its deadline, idle gaps, size limit, the function's stream failing) is cut — the caller
 * sees an incomplete body, never a clean end — and a caller that goes away cancels the function's stream.
 */
function streamOut(req: IncomingMessage, res: ServerResponse, status: number, head: string[], { body, recorded }: { body: ReplyBody; recorded: Promise<CallOutcome> }): void {
  res.writeHead(status, head);
  let wrote = false;
  body.read((chunk) => {
    wrote = true;
    res.write(chunk, () => body.grant(chunk.length));
  });
  // The head goes with the first bytes when they came with it (one write); else now, before them: a client sees the
  // answer begin (and SSE's first event) as soon as it exists.
  if (!wrote) res.flushHeaders();
  res.once('close', () => {
    if (!res.writableFinished) body.cancel();
  });
  // Ended once its record is written (as a whole answer goes once its record is): cleanly only if it ended well.
  recorded.then(
    (r) => (r.status === 'success' && !req.destroyed ? res.end() : res.destroy()),
    () => res.destroy(),
  );
}

function decode(segment: string | undefined): string | undefined {
  if (!segment) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

function nullBodyStatus(status: number): boolean {
  return status === 204 || status === 205 || status === 304 || (status >= 100 && status < 200);
}

/** Where the time went, for browsers' and proxies' timing views. */
export function serverTiming(out: CallOutcome): string {
  const t = out.timings;
  const cold = out.coldStart ? `, cold;desc="${t.prewarmed ? 'stem' : 'container'}", create;dur=${t.createMs}, start;dur=${t.startMs}, ready;dur=${t.readyMs}` : '';
  return `placement;dur=${t.placementMs}${cold}, run;dur=${t.runMs}, agent;desc="round trip to the agent";dur=${t.agentMs}, record;desc="execution row";dur=${t.recordMs}, total;dur=${out.durationMs}`;
}
