// `POST /api/functions/{ref}/invoke`: a call as JSON (method, path, query, headers, body) and the function's answer
// as JSON; for tools and the CLI. A thin adapter over InvocationService.invoke, as the function URL is.
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../http/env.js';
import { bearerToken } from '../auth/bearer.js';
import { TEAM_HEADER, teamHeader } from '../http/auth-middleware.js';
import { problem, json, jsonBody, bearer, fnRef, unauthenticated, fnNotFound, type Same } from '../http/schemas.js';
import type { CallOutcome, InvocationService } from './invocation.service.js';
import type { ReplyBody } from '../fleet/reply-body.js';
import { prefersAsync, statusUrlOf } from './prefer.js';
import type * as api from '../../../common/api-types.js';

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
  alias: z.string().min(1).max(32).optional().openapi({ description: 'call through this alias of the function (live when absent): its version, or its split' }),
});

const InvokeAnswer = z.object({
  executionId: z.string(),
  statusCode: z.number(),
  headers: z.record(z.string(), z.string()),
  body: z.string(),
  bodyEncoding: z.enum(['utf8', 'base64']),
  durationMs: z.number(),
  coldStart: z.boolean(),
  sampled: z.boolean().openapi({ description: 'true: a success past the function’s executionSampling rate, counted in the stats but with no execution record (GET /api/executions/{id} is a 404)' }),
});

true satisfies Same<z.infer<typeof InvokeAnswer>, api.InvokeResult>;

export const AsyncAccepted = z
  .object({ executionId: z.string(), statusUrl: z.string().openapi({ description: 'GET it for the call’s progress, attempts and answer' }) })
  .openapi('AsyncAccepted');

true satisfies Same<z.infer<typeof AsyncAccepted>, api.AsyncAccepted>;

const invoke = createRoute({
  method: 'post',
  path: '/{ref}/invoke',
  summary: 'Call the function (the owner’s access token, or an API key of the function); the answer is its own status, headers and body',
  security: bearer,
  request: {
    params: fnRef,
    query: z.object({
      stream: z.enum(['true', 'false']).optional().openapi({ description: '`true`: the answer is the function’s body itself, sent as it is produced (`Cpub-Status` and `Cpub-Headers` carry its status and headers; a stream that fails is cut, never ended cleanly) — what `cpub invoke` uses' }),
    }),
    headers: z.object({
      prefer: z.string().max(1024).optional().openapi({ description: '`respond-async` (RFC 7240): answer 202 once the call is queued, and run it later (with retries)' }),
      'idempotency-key': z.string().max(255).optional().openapi({ description: 'the call runs once per function and key for 24 h: a repeat gets the first call’s answer (`Idempotent-Replayed: true`); another request with the same key is a 422' }),
    }),
    body: jsonBody(InvokeBody),
  },
  responses: {
    200: {
      description: 'The function answered: its status, headers and body as JSON — or, with `stream=true`, its body itself as it is produced',
      content: { 'application/json': { schema: InvokeAnswer }, 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } },
    },
    202: json('Queued (Prefer: respond-async): durable, it runs soon; Location is its status URL', AsyncAccepted),
    401: unauthenticated,
    404: fnNotFound,
    409: problem('No ready version'),
    413: problem('The body is over 6 MiB'),
    422: problem('The Idempotency-Key was used for another request (idempotency_key_reused)'),
    429: problem('Over the function’s concurrency'),
    500: problem('The function threw (function_error)'),
    502: problem('function_oom, function_crashed, agent_lost'),
    503: problem('No agent can take it'),
    504: problem('function_timeout'),
  },
});

/**
 * A streamed answer as a web stream for Hono's response (which writes it with the socket's backpressure): credit goes
 * back to the agent as the response takes chunks; a stream that did not end well errors (the response is cut).
 */
function webStream(body: ReplyBody, recorded: Promise<CallOutcome>): ReadableStream<Uint8Array> {
  let owed = 0;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        body.read((chunk) => {
          controller.enqueue(chunk);
          owed += chunk.length;
          if ((controller.desiredSize ?? 0) > 0) {
            body.grant(owed);
            owed = 0;
          }
        });
        // Closed once its record is written, as a whole answer is sent once its record is.
        recorded.then(
          (r) => (r.status === 'success' ? controller.close() : controller.error(new Error(r.error?.detail ?? 'the streamed answer failed'))),
          (err: Error) => controller.error(err),
        );
      },
      pull() {
        if (!owed) return;
        body.grant(owed);
        owed = 0;
      },
      cancel() {
        body.cancel();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
  );
}

/** On an answer that is the first call's, given again for its Idempotency-Key. */
const REPLAYED = { 'Idempotent-Replayed': 'true' };

export function invokeRoutes(invocations: InvocationService) {
  return new OpenAPIHono<AppEnv>().openapi(invoke, async (c) => {
    const b = c.req.valid('json');
    const request = { method: b.method, path: b.path.startsWith('/') ? b.path : `/${b.path}`, query: b.query.replace(/^\?/, ''), headers: Object.entries(b.headers), body: Buffer.from(b.body ?? '', 'utf8') };
    const caller = { credentials: { bearer: bearerToken(c.req.header('authorization')), team: teamHeader(c.req.header(TEAM_HEADER)) } };
    const h = c.req.valid('header');
    const options = { trigger: 'api' as const, idempotencyKey: h['idempotency-key'], alias: b.alias };
    if (prefersAsync(h.prefer)) {
      const { executionId, replayed } = await invocations.enqueue(caller, { ref: c.req.valid('param').ref }, request, options);
      const statusUrl = statusUrlOf(executionId);
      return c.json({ executionId, statusUrl }, 202, { Location: statusUrl, 'Preference-Applied': 'respond-async', ...(replayed ? REPLAYED : {}) });
    }
    const streams = c.req.valid('query').stream === 'true';
    const out = await invocations.invoke(caller, { ref: c.req.valid('param').ref }, request, { ...options, stream: streams && h['idempotency-key'] === undefined });
    if (out.replayed) c.header('Idempotent-Replayed', 'true');
    if (out.error) throw out.error;
    if (streams) {
      const meta = { 'Content-Type': 'application/octet-stream', 'Cpub-Status': String(out.statusCode), 'Cpub-Headers': JSON.stringify(Object.fromEntries(out.headers)), 'Cpub-Execution-Id': out.executionId, 'Cache-Control': 'no-store' };
      return c.body(out.stream ? webStream(out.stream.body, out.stream.recorded) : new Uint8Array(out.body), 200, meta) as never;
    }
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
        sampled: out.sampled,
      },
      200,
    );
  });
}
