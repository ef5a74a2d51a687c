// HTTP routes for functions: CRUD, deployments (upload, list, read, build log), rollback, invoke, executions.
import { bearerToken } from '../auth/bearer.js';
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import Busboy from 'busboy';
import { PassThrough, Readable } from 'node:stream';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import type { AuthService } from '../auth/auth.service.js';
import { requireAuth } from '../http/auth-middleware.js';
import { problem, json, jsonBody, bearer } from '../http/schemas.js';
import { AppError, Invalid, TooLarge, Unauthenticated } from '../errors.js';
import type { DeploymentRow, FunctionRow } from '../db/schema.js';
import { functionsRepo } from './functions.repo.js';
import type { EnvService } from './env.service.js';
import { KEY_PREFIX, type KeysService } from './keys.service.js';
import type { EventEmitter } from 'node:events';
import { liveLogStream } from './live-logs.js';
import { PERIODS, type Period, type StatsService } from './stats.service.js';

export function periodOf(p: string | undefined): Period {
  const period = p ?? '24h';
  if (!(period in PERIODS)) throw Invalid('invalid_period', 'period must be 1h, 24h, 7d or 30d', { field: 'period' });
  return period as Period;
}
import type { FunctionsService } from './functions.service.js';
import { CALL_BODY_LIMIT, withExecution, type Invoker } from './invoker.js';
import type { ExecutionsService } from './executions.service.js';
import { DeploymentSchema, FunctionSchema, FunctionSettings, toDeploymentView } from './functions.view.js';
import { ExecutionSchema } from './executions.view.js';

/** The largest request a function call may carry (its body), bytes. */

const unauth = problem('Not authenticated');
const EnvEntry = z.object({ key: z.string(), value: z.string(), secret: z.boolean(), updatedAt: z.string() });
const notFound = problem('No such function (or not yours)');
/** An env value (a secret's too), and an API key's name: the API's bounds, shared with the dashboard's forms. */
export const EnvValue = z.string().max(32_768);
export const KeyName = z.string().min(1).max(100);

const ref = z.object({ ref: z.string().min(1).max(100).openapi({ description: 'the function’s id or name' }) });

const createFn = createRoute({
  middleware: [] as unknown as MiddlewareHandler[],
  method: 'post',
  path: '/',
  summary: 'Create a function',
  security: bearer,
  request: { body: jsonBody(FunctionSettings.extend({ name: z.string().max(63) })) },
  responses: { 201: json('Created', z.object({ function: FunctionSchema })), 400: problem('Bad name or setting (named)'), 401: unauth, 409: problem('Name taken') },
});

const listFns = createRoute({
  middleware: [] as unknown as MiddlewareHandler[],
  method: 'get',
  path: '/',
  summary: 'The caller’s functions, newest first',
  security: bearer,
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().max(200).optional() }) },
  responses: { 200: json('Functions', z.object({ functions: z.array(FunctionSchema), nextCursor: z.string().nullable() })), 401: unauth },
});

const getFn = createRoute({
  middleware: [] as unknown as MiddlewareHandler[],
  method: 'get',
  path: '/{ref}',
  summary: 'One function with its active version, limits and URL',
  security: bearer,
  request: { params: ref },
  responses: { 200: json('Function', z.object({ function: FunctionSchema })), 401: unauth, 404: notFound },
});

const patchFn = createRoute({
  middleware: [] as unknown as MiddlewareHandler[],
  method: 'patch',
  path: '/{ref}',
  summary: 'Change limits, auth or network (new containers pick it up; warm ones are recycled)',
  security: bearer,
  request: { params: ref, body: jsonBody(FunctionSettings) },
  responses: { 200: json('Function', z.object({ function: FunctionSchema })), 400: problem('Bad setting (named)'), 401: unauth, 404: notFound },
});

const deleteFn = createRoute({
  middleware: [] as unknown as MiddlewareHandler[],
  method: 'delete',
  path: '/{ref}',
  summary: 'Delete the function, its versions, executions, keys, env, containers and images',
  security: bearer,
  request: { params: ref },
  responses: { 204: { description: 'Deleted' }, 401: unauth, 404: notFound },
});

const listDeployments = createRoute({
  middleware: [] as unknown as MiddlewareHandler[],
  method: 'get',
  path: '/{ref}/deployments',
  summary: 'Versions, newest first',
  security: bearer,
  request: { params: ref, query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().max(20).optional() }) },
  responses: { 200: json('Versions', z.object({ deployments: z.array(DeploymentSchema), nextCursor: z.string().nullable() })), 401: unauth, 404: notFound },
});

const version = ref.extend({ version: z.coerce.number().int().min(1) });

const getDeployment = createRoute({
  middleware: [] as unknown as MiddlewareHandler[],
  method: 'get',
  path: '/{ref}/deployments/{version}',
  summary: 'One version: status, digest, timings and build log',
  security: bearer,
  request: { params: version },
  responses: { 200: json('Version', z.object({ deployment: DeploymentSchema.extend({ buildLog: z.string() }) })), 401: unauth, 404: notFound },
});

const rollback = createRoute({
  middleware: [] as unknown as MiddlewareHandler[],
  method: 'post',
  path: '/{ref}/rollback',
  summary: 'Make a ready version the active one',
  security: bearer,
  request: { params: ref, body: jsonBody(z.object({ version: z.number().int().min(1) })) },
  responses: { 200: json('Function', z.object({ function: FunctionSchema })), 401: unauth, 404: notFound, 409: problem('That version is not ready') },
});

/** The invoke envelope (also what the dashboard's invoke form is checked against). */
export const InvokeBody = z.object({
  method: z.string().regex(/^[A-Z]{3,10}$/).default('GET'),
  path: z.string().max(4096).default('/'),
  query: z.string().max(8192).default(''),
  // As HTTP allows them: a name is a token, a value has no line break or NUL (the function gets a real Request).
  headers: z
    .record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'a header name is a token (letters, digits and !#$%&\'*+.^_`|~-)'), z.string().regex(/^[^\r\n\0]*$/, 'a header value has no line break or NUL'))
    .default({}),
  body: z.string().optional(),
});

const invoke = createRoute({
  method: 'post',
  path: '/{ref}/invoke',
  summary: 'Call the function; the answer is its own status, headers and body',
  security: bearer,
  request: { params: ref, body: jsonBody(InvokeBody) },
  responses: {
    200: json(
      'The function answered',
      z.object({ executionId: z.string(), statusCode: z.number(), headers: z.record(z.string(), z.string()), body: z.string(), bodyEncoding: z.enum(['utf8', 'base64']), durationMs: z.number(), coldStart: z.boolean() }),
    ),
    401: unauth,
    404: notFound,
    409: problem('No ready version'),
    429: problem('Over the function’s concurrency'),
    500: problem('The function threw (function_error)'),
    502: problem('function_oom, function_crashed, agent_lost'),
    503: problem('No agent can take it'),
    504: problem('function_timeout'),
  },
});

const envList = createRoute({
  method: 'get',
  path: '/{ref}/env',
  summary: 'Env vars (secrets masked)',
  security: bearer,
  middleware: [] as unknown as MiddlewareHandler[],
  request: { params: ref },
  responses: { 200: json('Env', z.object({ env: z.array(EnvEntry) })), 401: unauth, 404: notFound },
});

const envPut = createRoute({
  method: 'put',
  path: '/{ref}/env',
  summary: 'Set env vars and secrets (new and warm containers get them)',
  security: bearer,
  middleware: [] as unknown as MiddlewareHandler[],
  request: { params: ref, body: jsonBody(z.object({ vars: z.record(z.string(), EnvValue).optional(), secrets: z.record(z.string(), EnvValue).optional() })) },
  responses: { 200: json('Env', z.object({ env: z.array(EnvEntry) })), 400: problem('Bad name'), 401: unauth, 404: notFound },
});

const envDelete = createRoute({
  method: 'delete',
  path: '/{ref}/env/{key}',
  summary: 'Unset one env var or secret',
  security: bearer,
  middleware: [] as unknown as MiddlewareHandler[],
  request: { params: ref.extend({ key: z.string().max(128) }) },
  responses: { 204: { description: 'Unset' }, 401: unauth, 404: notFound },
});

const KeySchema = z
  .object({ id: z.string(), name: z.string(), prefix: z.string(), createdAt: z.string(), expiresAt: z.string().nullable(), lastUsedAt: z.string().nullable(), revokedAt: z.string().nullable() })
  .openapi('ApiKey');
const keyId = ref.extend({ keyId: z.string().max(64) });

const keysCreate = createRoute({
  method: 'post',
  path: '/{ref}/keys',
  summary: 'A new API key; its secret is in this answer only',
  security: bearer,
  middleware: [] as unknown as MiddlewareHandler[],
  request: { params: ref, body: jsonBody(z.object({ name: KeyName.default('key'), expiresIn: z.enum(['1h', '1d', '7d', '30d', 'never']).default('never') })) },
  responses: { 201: json('Key and secret', z.object({ key: KeySchema, secret: z.string() })), 401: unauth, 404: notFound },
});

const keysList = createRoute({
  method: 'get',
  path: '/{ref}/keys',
  summary: 'The function’s API keys (no secrets)',
  security: bearer,
  middleware: [] as unknown as MiddlewareHandler[],
  request: { params: ref },
  responses: { 200: json('Keys', z.object({ keys: z.array(KeySchema) })), 401: unauth, 404: notFound },
});

const keysRevoke = createRoute({
  method: 'delete',
  path: '/{ref}/keys/{keyId}',
  summary: 'Revoke a key (kept for the record)',
  security: bearer,
  middleware: [] as unknown as MiddlewareHandler[],
  request: { params: keyId },
  responses: { 204: { description: 'Revoked' }, 401: unauth, 404: notFound },
});

const keysRoll = createRoute({
  method: 'post',
  path: '/{ref}/keys/{keyId}/roll',
  summary: 'A new secret for a key; the old one stops working',
  security: bearer,
  middleware: [] as unknown as MiddlewareHandler[],
  request: { params: keyId },
  responses: { 200: json('Key and secret', z.object({ key: KeySchema, secret: z.string() })), 401: unauth, 404: notFound },
});

const listExecutions = createRoute({
  middleware: [] as unknown as MiddlewareHandler[],
  method: 'get',
  path: '/{ref}/executions',
  summary: 'Calls of the function, newest first',
  security: bearer,
  request: {
    params: ref,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(200).default(50),
      cursor: z.string().max(200).optional(),
      status: z.enum(['success', 'error', 'timeout', 'oom', 'crashed', 'rejected', 'agent_lost']).optional(),
      since: z.string().max(40).optional().openapi({ description: 'ISO time or a duration like 10m, 24h' }),
    }),
  },
  responses: { 200: json('Executions', z.object({ executions: z.array(ExecutionSchema), nextCursor: z.string().nullable() })), 401: unauth, 404: notFound },
});

export interface FunctionsRouteDeps {
  auth: AuthService;
  fns: FunctionsService;
  invoker: Invoker;
  executions: ExecutionsService;
  env: EnvService;
  keys: KeysService;
  /** Live function log lines from every agent, emitted by function id. */
  liveLogs: EventEmitter;
  stats: StatsService;
}

export function functionsRoutes({ auth, fns, invoker, executions, env, keys, liveLogs, stats }: FunctionsRouteDeps) {
  const app = new OpenAPIHono<AppEnv>();
  const user = requireAuth(auth);

  /** `POST …/invoke` takes the owner's access token, or an API key of that very function. */
  async function callerFunction(c: Context<AppEnv>, ref: string): Promise<FunctionRow> {
    const token = bearerToken(c.req.header('authorization'));
    if (token?.startsWith(KEY_PREFIX)) {
      const functionId = await keys.functionOfKey(token);
      const fn = functionId ? await functionsRepo.byIdOfActiveOwner(fns.db, functionId) : undefined;
      if (!fn || (fn.id !== ref && fn.name !== ref)) throw Unauthenticated('invalid_key', 'the API key is not valid for this function');
      await keys.authorize(fn.id, { bearer: token, body: Buffer.alloc(0) });
      return fn;
    }
    await user(c, async () => {});
    return fns.findForCall(c.get('user'), ref);
  }
  // Every route but invoke (which also takes an API key) needs the caller's access token.
  for (const r of [createFn, listFns, getFn, patchFn, deleteFn, listDeployments, getDeployment, rollback, listExecutions, envList, envPut, envDelete, keysCreate, keysList, keysRevoke, keysRoll]) {
    (r as { middleware: MiddlewareHandler[] }).middleware = [user as MiddlewareHandler];
  }
  return app
    .openapi(createFn, async (c) => c.json({ function: await fns.create(c.get('user'), c.req.valid('json')) }, 201))
    .openapi(listFns, async (c) => {
      const q = c.req.valid('query');
      return c.json(await fns.list(c.get('user'), q.limit, q.cursor), 200);
    })
    .openapi(getFn, async (c) => c.json({ function: await fns.get(c.get('user'), c.req.valid('param').ref) }, 200))
    .openapi(patchFn, async (c) => c.json({ function: await fns.update(c.get('user'), c.req.valid('param').ref, c.req.valid('json')) }, 200))
    .openapi(deleteFn, async (c) => {
      await fns.delete(c.get('user'), c.req.valid('param').ref);
      return c.body(null, 204);
    })
    .openapi(listDeployments, async (c) => {
      const q = c.req.valid('query');
      return c.json(await fns.deployments(c.get('user'), c.req.valid('param').ref, q.limit, q.cursor), 200);
    })
    .openapi(getDeployment, async (c) => {
      const p = c.req.valid('param');
      const { function: f, deployment: d } = await fns.deployment(c.get('user'), p.ref, p.version);
      return c.json({ deployment: { ...toDeploymentView(d, f.active_version), buildLog: d.build_log } }, 200);
    })
    .openapi(rollback, async (c) => c.json({ function: await fns.rollback(c.get('user'), c.req.valid('param').ref, c.req.valid('json').version) }, 200))
    .openapi(invoke, async (c) => {
      const fn = await callerFunction(c, c.req.valid('param').ref);
      const b = c.req.valid('json');
      const body = Buffer.from(b.body ?? '', 'utf8');
      if (body.length > CALL_BODY_LIMIT) throw TooLarge('body_too_large', `the call's body is over ${CALL_BODY_LIMIT} bytes`);
      const out = await invoker.call(fn, { method: b.method, path: b.path.startsWith('/') ? b.path : `/${b.path}`, query: b.query.replace(/^\?/, ''), headers: Object.entries(b.headers), body }, 'api');
      if (out.error) throw withExecution(out.error, out);
      const text = out.body.toString('utf8');
      const utf8 = Buffer.from(text, 'utf8').equals(out.body);
      return c.json(
        {
          executionId: out.executionId,
          statusCode: out.statusCode,
          headers: Object.fromEntries(out.headers),
          body: utf8 ? text : out.body.toString('base64'),
          bodyEncoding: utf8 ? ('utf8' as const) : ('base64' as const),
          durationMs: out.durationMs,
          coldStart: out.coldStart,
        },
        200,
      );
    })
    .openapi(listExecutions, async (c) => {
      const fn = await fns.find(c.get('user'), c.req.valid('param').ref);
      const q = c.req.valid('query');
      return c.json(await executions.list(fn, q), 200);
    })
    .openapi(envList, async (c) => c.json({ env: await env.list(await fns.find(c.get('user'), c.req.valid('param').ref)) }, 200))
    .openapi(envPut, async (c) => {
      const fn = await fns.find(c.get('user'), c.req.valid('param').ref);
      const b = c.req.valid('json');
      await env.set(fn, b.vars ?? {}, b.secrets ?? {});
      return c.json({ env: await env.list(fn) }, 200);
    })
    .openapi(envDelete, async (c) => {
      const p = c.req.valid('param');
      await env.unset(await fns.find(c.get('user'), p.ref), p.key);
      return c.body(null, 204);
    })
    .openapi(keysCreate, async (c) => {
      const b = c.req.valid('json');
      return c.json(await keys.create(await fns.find(c.get('user'), c.req.valid('param').ref), b.name, b.expiresIn), 201);
    })
    .openapi(keysList, async (c) => c.json({ keys: await keys.list(await fns.find(c.get('user'), c.req.valid('param').ref)) }, 200))
    .openapi(keysRevoke, async (c) => {
      const p = c.req.valid('param');
      await keys.revoke(await fns.find(c.get('user'), p.ref), p.keyId);
      return c.body(null, 204);
    })
    .openapi(keysRoll, async (c) => {
      const p = c.req.valid('param');
      return c.json(await keys.roll(await fns.find(c.get('user'), p.ref), p.keyId), 200);
    })
    .post('/:ref/deployments', user, async (c) => {
      const wait = c.req.query('wait') === 'true';
      const declared = c.req.header('content-length');
      const body = uploadBody(c);
      const r = await fns.deploy(c.get('user'), c.req.param('ref'), body, wait, declared === undefined ? undefined : Number(declared)).catch((err: unknown) => {
        // Refused (unknown function, too large, malformed): the rest of a multipart upload is read and dropped.
        if (body instanceof Readable) body.resume();
        throw err;
      });
      if (wait && r.deployment.status === 'failed') {
        throw new AppError('invalid', 'build_failed', r.deployment.error ?? 'the build failed', { httpStatus: 422, deployment: r.deployment, buildLogTail: r.buildLog.slice(-4000) });
      }
      return c.json({ deployment: r.deployment }, wait ? 201 : 202);
    })
    .get('/:ref/stats', user, async (c) => {
      const fn = await fns.find(c.get('user'), c.req.param('ref'));
      return c.json(await stats.summary({ functionId: fn.id }, periodOf(c.req.query('period'))));
    })
    .get('/:ref/stats/hourly', user, async (c) => {
      const fn = await fns.find(c.get('user'), c.req.param('ref'));
      return c.json({ buckets: await stats.buckets({ functionId: fn.id }, 'hour', Number(c.req.query('hours') ?? 24)) });
    })
    .get('/:ref/stats/daily', user, async (c) => {
      const fn = await fns.find(c.get('user'), c.req.param('ref'));
      return c.json({ buckets: await stats.buckets({ functionId: fn.id }, 'day', Number(c.req.query('days') ?? 30)) });
    })
    .get('/:ref/logs', user, async (c) => {
      const fn = await fns.find(c.get('user'), c.req.param('ref'));
      const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 200) || 200, 1), 1000);
      const recent = await executions.recentLines(fn, c.req.query('since') ?? '1h', limit);
      if (c.req.query('follow') !== 'true') return c.json({ lines: recent });
      return liveLogStream(c, liveLogs, fn.id, recent);
    })
    .get('/:ref/deployments/:version/logs', user, async (c) => {
      const v = Number(c.req.param('version'));
      if (!Number.isSafeInteger(v) || v < 1) throw Invalid('invalid_version', 'version must be a positive integer', { field: 'version' });
      if (c.req.query('follow') !== 'true') return c.text((await fns.deployment(c.get('user'), c.req.param('ref'), v)).deployment.build_log);
      // Subscribed before the row is read, so the end of a build cannot fall between the two; the row is
      // read again every few seconds, for a build that runs on another replica (its events never come here).
      const f = await fns.find(c.get('user'), c.req.param('ref'));
      const key = `${f.id}@${v}`;
      const queue: { line?: string; done?: string }[] = [];
      let wake: (() => void) | undefined;
      const on = (e: { line?: string; done?: string }) => {
        queue.push(e);
        wake?.();
      };
      fns.buildEvents.on(key, on);
      let d: DeploymentRow;
      try {
        d = (await fns.deployment(c.get('user'), f.id, v)).deployment;
      } catch (err) {
        fns.buildEvents.off(key, on);
        throw err;
      }
      if (d.status !== 'building') {
        fns.buildEvents.off(key, on);
        return c.text(d.build_log);
      }
      // Lines that came before the row was read are in its log already.
      for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.line !== undefined) queue.splice(i, 1);
      return streamSSE(c, async (sse) => {
        let open = true;
        sse.onAbort(() => {
          open = false;
          wake?.();
        });
        const poll = setInterval(() => wake?.(), 2000);
        try {
          for (const l of d.build_log.split('\n').filter(Boolean)) await sse.writeSSE({ event: 'log', data: l });
          while (open) {
            while (queue.length) {
              const e = queue.shift()!;
              if (e.line !== undefined) await sse.writeSSE({ event: 'log', data: e.line });
              if (e.done) return void (await sse.writeSSE({ event: 'done', data: e.done }));
            }
            await new Promise<void>((r) => (wake = r));
            if (!queue.length && open) {
              const now = await functionsRepo.deployment(fns.db, f.id, v);
              if (now?.status !== 'building') return void (await sse.writeSSE({ event: 'done', data: now?.status ?? 'failed' }));
            }
          }
        } finally {
          clearInterval(poll);
          fns.buildEvents.off(key, on);
        }
      });
    });
}

/**
 * The artifact's bytes as they arrive: a raw `application/gzip` (or octet-stream) body, or the `archive` field
 * of a multipart/form-data body (parsed as it streams, never buffered whole).
 */
function uploadBody(c: Context<AppEnv>): AsyncIterable<Uint8Array> {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  const raw = c.req.raw.body;
  if (!raw) throw Invalid('artifact_empty', 'send the .tar.gz as the body (application/gzip) or the multipart field "archive"');
  if (type.startsWith('application/gzip') || type.startsWith('application/x-gzip') || type.startsWith('application/octet-stream')) {
    return raw as unknown as AsyncIterable<Uint8Array>;
  }
  if (!type.startsWith('multipart/form-data')) throw Invalid('unsupported_upload', 'send application/gzip or multipart/form-data with the field "archive"');
  let bb: Busboy.Busboy;
  try {
    bb = Busboy({ headers: { 'content-type': type }, limits: { files: 1, fileSize: Number.MAX_SAFE_INTEGER } });
  } catch (err) {
    throw Invalid('bad_multipart', `the multipart body cannot be read: ${(err as Error).message}`);
  }
  // Piped, not pushed: a slow or absent reader holds the upload back (backpressure) instead of buffering it.
  const out = new PassThrough();
  // The reader (the artifact store) may start only after the function is looked up: until then an error is
  // kept on the stream, for its iteration to throw, instead of crashing the process as an unheard 'error'.
  out.on('error', () => {});
  let found = false;
  bb.on('file', (name, file) => {
    if (name !== 'archive' || found) return void file.resume();
    found = true;
    file.pipe(out);
    // A reader that gave up (a refusal) destroys `out`: the rest of the file is then read and dropped.
    out.once('close', () => file.resume());
  });
  bb.on('error', (err) => out.destroy(Invalid('bad_multipart', `the multipart body cannot be read: ${(err as Error).message}`)));
  bb.on('close', () => {
    if (!found) out.destroy(Invalid('artifact_missing', 'the multipart body has no field "archive"'));
  });
  const source = Readable.fromWeb(raw as import('node:stream/web').ReadableStream);
  source.on('error', (err) => out.destroy(err));
  source.pipe(bb);
  return out;
}
