// Function URLs: `ANY /fn/:owner/:name[/*]` passes the raw HTTP request through to the function and answers
// with its response as is, plus `Cpub-Execution-Id` and `Server-Timing`. Auth by the function's mode:
// `public` (none), `private` (the owner's access token), `key` (one of its API keys, bearer or signed).
import { Hono, type Context } from 'hono';
import type { IncomingMessage } from 'node:http';
import type { AppEnv } from '../http/env.js';
import type { AuthService } from '../auth/auth.service.js';
import { AppError, NotFound, TooLarge, Unauthenticated } from '../errors.js';
import type { FunctionsService } from './functions.service.js';
import type { Invoker, CallOutcome } from './invoker.js';
import type { KeysService } from './keys.service.js';
import { CALL_BODY_LIMIT } from './functions.routes.js';

/** Never passed to a function: credentials, and hop-by-hop headers. */
const STRIPPED_REQUEST = new Set(['authorization', 'cookie', 'x-api-key', 'x-timestamp', 'x-signature', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'te', 'trailer', 'host', 'content-length']);
const STRIPPED_RESPONSE = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'trailer', 'upgrade']);

export function urlRoutes(fns: FunctionsService, auth: AuthService, keys: KeysService, invoker: Invoker) {
  const app = new Hono<AppEnv>();
  const handle = async (c: Context<AppEnv>) => {
    const owner = c.req.param('owner')!;
    const name = c.req.param('name')!;
    const fn = await fns.byUrl(owner, name);
    if (!fn) throw NotFound('function_not_found', `no function ${owner}/${name}`);
    // From Node's own request where there is one: building a web Request for it costs more than the call.
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const body = await readCapped(c, incoming);
    await authorize(c, fn, body);
    const prefix = `/fn/${owner}/${name}`;
    const target = incoming?.url ?? new URL(c.req.url).pathname + new URL(c.req.url).search;
    const q = target.indexOf('?');
    const path = (q < 0 ? target : target.slice(0, q)).slice(prefix.length) || '/';
    const headers: [string, string][] = [];
    if (incoming) {
      const raw = incoming.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        const k = raw[i]!.toLowerCase();
        if (!STRIPPED_REQUEST.has(k)) headers.push([k, raw[i + 1]!]);
      }
    } else {
      c.req.raw.headers.forEach((v, k) => {
        if (!STRIPPED_REQUEST.has(k)) headers.push([k, v]);
      });
    }
    const out = await invoker.call(fn, { method: c.req.method, path, query: q < 0 ? '' : target.slice(q + 1), headers, body }, 'url');
    if (out.error) throw withExecution(out.error, out);
    const res = new Headers();
    for (const [k, v] of out.headers) if (!STRIPPED_RESPONSE.has(k.toLowerCase())) res.append(k, v);
    res.set('Cpub-Execution-Id', out.executionId);
    res.set('Server-Timing', serverTiming(out));
    return new Response(nullBodyStatus(out.statusCode) ? null : new Uint8Array(out.body), { status: out.statusCode, headers: res });
  };

  async function authorize(c: Context<AppEnv>, fn: { owner_id: string; auth: string; id: string; name: string }, body: Buffer): Promise<void> {
    if (fn.auth === 'public') return;
    const header = c.req.header('authorization');
    const bearer = header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    if (fn.auth === 'private') {
      if (!bearer) throw Unauthenticated('unauthenticated', 'this function is private: send the owner’s access token (Authorization: Bearer …)');
      const { user } = await auth.authenticate(bearer);
      // Someone else's private function does not exist, as far as they can tell.
      if (user.id !== fn.owner_id) throw NotFound('function_not_found', `no function ${c.req.param('owner')}/${fn.name}`);
      return;
    }
    await keys.authorize(fn.id, { bearer, apiKey: c.req.header('x-api-key'), timestamp: c.req.header('x-timestamp'), signature: c.req.header('x-signature'), body });
  }

  app.all('/:owner/:name', handle);
  app.all('/:owner/:name/*', handle);
  return app;
}

const NO_BODY = Buffer.alloc(0);

/** The request body, refused (413) past the call limit without reading it all. */
async function readCapped(c: Context<AppEnv>, incoming: IncomingMessage | undefined): Promise<Buffer> {
  const header = (name: string) => (incoming ? (incoming.headers[name] as string | undefined) : c.req.header(name));
  const declared = Number(header('content-length') ?? 0);
  if (declared > CALL_BODY_LIMIT) throw TooLarge('body_too_large', `the request body is over ${CALL_BODY_LIMIT} bytes`);
  if (!declared && header('transfer-encoding') === undefined) return NO_BODY;
  const raw = incoming ?? c.req.raw.body;
  if (!raw) return NO_BODY;
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of raw as unknown as AsyncIterable<Uint8Array>) {
    size += part.byteLength;
    if (size > CALL_BODY_LIMIT) throw TooLarge('body_too_large', `the request body is over ${CALL_BODY_LIMIT} bytes`);
    parts.push(part);
  }
  return Buffer.concat(parts);
}

export function withExecution(err: AppError, out: CallOutcome): AppError {
  return new AppError(err.kind, err.code, err.detail, { ...err.extra, executionId: out.executionId });
}

function nullBodyStatus(status: number): boolean {
  return status === 204 || status === 205 || status === 304 || (status >= 100 && status < 200);
}

/** Where the time went, for browsers' and proxies' timing views. */
export function serverTiming(out: CallOutcome): string {
  const t = out.timings;
  const parts = [`placement;dur=${t.placementMs}`];
  if (out.coldStart) parts.push(`cold;desc="${t.prewarmed ? 'stem' : 'container'}"`, `create;dur=${t.createMs}`, `start;dur=${t.startMs}`, `ready;dur=${t.readyMs}`);
  parts.push(`run;dur=${t.runMs}`, `agent;desc="round trip to the agent";dur=${t.agentMs}`, `record;desc="execution row";dur=${t.recordMs}`, `total;dur=${out.durationMs}`);
  return parts.join(', ');
}
