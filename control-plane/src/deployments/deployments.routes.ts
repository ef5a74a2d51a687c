// HTTP routes for a function's versions: upload one (built on an agent), list, read, roll back, read or follow a
// build's log.
import { CanarySchema, canaryFields } from '../canaries/canaries.routes.js';
import { DEFAULT_CANARY_WINDOW_MS } from '../canaries/canaries.service.js';
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { MiddlewareHandler } from 'hono';
import type { ReadableStream } from 'node:stream/web';
import { Readable } from 'node:stream';
import type { AppEnv } from '../http/env.js';
import { Invalid } from '../errors.js';
import { problem, json, jsonBody, pageQuery, fnRef, unauthenticated, fnNotFound, authed } from '../http/schemas.js';
import { FunctionSchema } from '../functions/functions.view.js';
import type { DeploymentsService } from './deployments.service.js';
import { DeploymentSchema } from './deployments.view.js';
import { uploadBody } from './upload-body.js';

const version = fnRef.extend({ version: z.coerce.number().int().min(1).openapi({ description: 'the version number' }) });
const archive = { type: 'string', format: 'binary', description: 'the .tar.gz made by `cpub deploy` (cpub.json manifest and the bundle)' } as const;

export function deploymentsRoutes(deployments: DeploymentsService, user: MiddlewareHandler<AppEnv>) {
  const auth = authed(user);
  const upload = createRoute({
    ...auth,
    method: 'post',
    path: '/{ref}/deployments',
    summary: 'Upload a new version; it is built on an agent (with wait=true, the answer comes when the build ended)',
    // Not parsed by the validator: the artifact store reads the body as it streams, capped and checked.
    request: {
      params: fnRef,
      query: z.object({
        wait: z.enum(['true', 'false']).optional(),
        canary: z.coerce.number().pipe(canaryFields.percent).optional().openapi({ description: 'deploy as a canary: the share of live’s calls it gets (percent); it is not made active, and is promoted when it holds for canaryWindowMs' }),
        canaryWindowMs: z.coerce.number().pipe(canaryFields.windowMs).optional().openapi({ description: 'the canary’s window (default 10 minutes)' }),
      })
        // A misspelt canary parameter must not deploy the version live: unknown parameters are a 400.
        .strict(),
      body: {
        required: true,
        content: {
          'application/gzip': { schema: archive },
          'multipart/form-data': { schema: { type: 'object', properties: { archive }, required: ['archive'] } },
        },
      },
    },
    responses: {
      201: json('Built (wait=true)', z.object({ deployment: DeploymentSchema, canary: CanarySchema.optional() })),
      202: json('Accepted; building', z.object({ deployment: DeploymentSchema, canary: CanarySchema.optional() })),
      400: problem('Not a valid artifact (the entry is named)'),
      401: unauthenticated,
      404: fnNotFound,
      408: problem('The upload was too slow'),
      413: problem('Over the artifact size cap'),
      409: problem('A canary cannot start now: no_baseline, canary_under_way, live_split'),
      422: problem('The build or its startup check failed (wait=true): build_failed, with the log’s tail'),
    },
  });
  const list = createRoute({
    ...auth,
    method: 'get',
    path: '/{ref}/deployments',
    summary: 'Versions, newest first',
    request: { params: fnRef, query: pageQuery(20) },
    responses: { 200: json('Versions', z.object({ deployments: z.array(DeploymentSchema), nextCursor: z.string().nullable() })), 401: unauthenticated, 404: fnNotFound },
  });
  const get = createRoute({
    ...auth,
    method: 'get',
    path: '/{ref}/deployments/{version}',
    summary: 'One version: status, digest, timings and build log',
    request: { params: version },
    responses: { 200: json('Version', z.object({ deployment: DeploymentSchema.extend({ buildLog: z.string() }) })), 401: unauthenticated, 404: fnNotFound },
  });
  const log = createRoute({
    ...auth,
    method: 'get',
    path: '/{ref}/deployments/{version}/logs',
    summary: 'A version’s build log; with follow=true and the build running, its lines as Server-Sent Events (`log`, then `done`)',
    request: { params: version, query: z.object({ follow: z.enum(['true', 'false']).optional() }) },
    responses: {
      200: { description: 'The log', content: { 'text/plain': { schema: { type: 'string' } }, 'text/event-stream': { schema: { type: 'string' } } } },
      401: unauthenticated,
      404: fnNotFound,
    },
  });
  const rollback = createRoute({
    ...auth,
    method: 'post',
    path: '/{ref}/rollback',
    summary: 'Make a ready version the active one',
    request: { params: fnRef, body: jsonBody(z.object({ version: z.number().int().min(1) })) },
    responses: { 200: json('Function', z.object({ function: FunctionSchema })), 401: unauthenticated, 404: fnNotFound, 409: problem('That version is not ready') },
  });

  return new OpenAPIHono<AppEnv>()
    .openapi(upload, async (c) => {
      const q = c.req.valid('query');
      const wait = q.wait === 'true';
      if (q.canaryWindowMs !== undefined && q.canary === undefined) throw Invalid('invalid_canary', 'canaryWindowMs is for a canary: give canary=<percent> too', { field: 'canaryWindowMs' });
      const canary = q.canary === undefined ? undefined : { percent: q.canary, windowMs: q.canaryWindowMs ?? DEFAULT_CANARY_WINDOW_MS };
      const declared = c.req.header('content-length');
      const body = uploadBody(c.req.header('content-type'), c.req.raw.body as ReadableStream | null);
      const deployment = await deployments.deploy(c.get('user'), c.req.valid('param').ref, body, wait, declared === undefined ? undefined : Number(declared), canary).catch((err: unknown) => {
        // Refused (unknown function, too large, malformed): the rest of a multipart upload is read and dropped.
        if (body instanceof Readable) body.resume();
        throw err;
      });
      const { canary: started, ...view } = deployment;
      const out = started ? { deployment: view, canary: started } : { deployment: view };
      return wait ? c.json(out, 201) : c.json(out, 202);
    })
    .openapi(list, async (c) => {
      const q = c.req.valid('query');
      return c.json(await deployments.list(c.get('user'), c.req.valid('param').ref, q.limit, q.cursor), 200);
    })
    .openapi(get, async (c) => {
      const p = c.req.valid('param');
      return c.json({ deployment: await deployments.get(c.get('user'), p.ref, p.version) }, 200);
    })
    .openapi(log, async (c) => {
      const p = c.req.valid('param');
      const stop = new AbortController();
      const r = await deployments.buildLog(c.get('user'), p.ref, p.version, c.req.valid('query').follow === 'true', stop.signal);
      if ('text' in r) return c.text(r.text, 200);
      return streamSSE(c, async (sse) => {
        sse.onAbort(() => stop.abort());
        for await (const e of r.events) {
          if (e.done !== undefined) await sse.writeSSE({ event: 'done', data: e.done });
          else await sse.writeSSE({ event: 'log', data: e.line });
        }
      });
    })
    .openapi(rollback, async (c) => c.json({ function: await deployments.rollback(c.get('user'), c.req.valid('param').ref, c.req.valid('json').version) }, 200));
}
