// The public shape of a function, and the bounds of a function's settings.
import { z } from '@hono/zod-openapi';
import type { FunctionRow } from '../db/schema.js';
import type * as api from '../../../common/api-types.js';
import type { Same } from '../http/schemas.js';
import { RetrySchema, RETRY_ON, storedPolicy } from '../async-calls/retry.js';
import { DestinationsSchema, storedDestinations } from '../async-calls/destinations.js';

export const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** Every setting a function has, with its bounds: a value outside them is a 400 naming the field. */
export const LIMITS = {
  memoryMb: z.number().int().min(64).max(4096),
  cpus: z.number().min(0.1).max(8),
  timeoutMs: z.number().int().min(100).max(15 * 60_000),
  concurrency: z.number().int().min(1).max(1000),
  maxInstances: z.number().int().min(1).max(100),
  auth: z.enum(['private', 'key', 'public']),
  network: z.enum(['none', 'egress']),
  /** How long the function's execution records are kept: 1h–400d (null: the server's default). */
  executionRetention: z
    .string()
    .regex(/^[1-9][0-9]{0,4}(h|d)$/, 'a duration in hours or days, like 12h or 7d')
    .refine((v) => retentionMs(v) >= 3_600_000 && retentionMs(v) <= 400 * 86_400_000, 'between 1h and 400d')
    .nullable(),
  /** Successful calls per second that get a record (0–1,000,000; every error and cold start does; null: the server's default). */
  executionSampling: z.number().int().min(0).max(1_000_000).nullable(),
  /** Calls of its async queue running at once (0–1000: 0 holds the queue, its calls wait; null: concurrency × maxInstances). */
  asyncConcurrency: z.number().int().min(0).max(1000).nullable(),
  /** How long a call over its capacity waits for a slot before a 429 (0–30 s; 0: refused at once; null: 1 s). */
  queueTimeoutMs: z.number().int().min(0).max(30_000).nullable(),
  /** A streamed answer's body at most, MiB (1–10,240; null: 100). */
  responseLimitMb: z.number().int().min(1).max(10_240).nullable(),
  /** A request body at the function URL at most, MiB (1–10,240; null: 100). */
  requestLimitMb: z.number().int().min(1).max(10_240).nullable(),
  /** Containers kept started across the fleet, idle or not: the warm floor (0–100, at most maxInstances). */
  minInstances: z.number().int().min(0).max(100),
  /** How its async calls are retried (null: the default policy). */
  retry: RetrySchema.nullable(),
  /** Where its async calls' outcomes are POSTed (a field given replaces that one; null clears it). */
  destinations: DestinationsSchema,
  /** Whether a viewer of its team may invoke it (developers and up always may). */
  viewerInvoke: z.boolean(),
};

/** `12h` or `7d` in ms. */
export function retentionMs(v: string): number {
  return Number(v.slice(0, -1)) * (v.endsWith('d') ? 86_400_000 : 3_600_000);
}

/** ms as the shortest of `Nd` or `Nh`. */
export function retentionText(ms: number): string {
  return ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : `${Math.round(ms / 3_600_000)}h`;
}

/** How long a call over its function's capacity waits for a slot when the function does not say. */
export const DEFAULT_QUEUE_TIMEOUT_MS = 1000;

/** A streamed answer's body at most when the function sets no limit of its own, MiB. */
export const DEFAULT_RESPONSE_LIMIT_MB = 100;

/** A request body at the function URL at most when the function sets no limit of its own, MiB. */
export const DEFAULT_REQUEST_LIMIT_MB = 100;

export const DEFAULTS = { memoryMb: 128, cpus: 0.5, timeoutMs: 30_000, concurrency: 1, maxInstances: 10, auth: 'private', network: 'none' } as const;

export const FunctionSettings = z.object({
  memoryMb: LIMITS.memoryMb.optional(),
  cpus: LIMITS.cpus.optional(),
  timeoutMs: LIMITS.timeoutMs.optional(),
  concurrency: LIMITS.concurrency.optional(),
  maxInstances: LIMITS.maxInstances.optional(),
  auth: LIMITS.auth.optional(),
  network: LIMITS.network.optional(),
  executionRetention: LIMITS.executionRetention.optional(),
  executionSampling: LIMITS.executionSampling.optional(),
  asyncConcurrency: LIMITS.asyncConcurrency.optional(),
  queueTimeoutMs: LIMITS.queueTimeoutMs.optional(),
  responseLimitMb: LIMITS.responseLimitMb.optional(),
  requestLimitMb: LIMITS.requestLimitMb.optional(),
  minInstances: LIMITS.minInstances.optional(),
  retry: LIMITS.retry.optional(),
  destinations: LIMITS.destinations.optional(),
  viewerInvoke: LIMITS.viewerInvoke.optional(),
});

export const FunctionSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    owner: z.string().openapi({ description: 'the handle of the team that owns it (a personal team’s is its person’s handle)' }),
    team: z.string().openapi({ description: 'the handle of the team it belongs to (the same as owner)' }),
    url: z.string().openapi({ description: 'the function URL: /fn/<owner>/<name>, absolute when CPUB_PUBLIC_URL is set' }),
    memoryMb: z.number(),
    cpus: z.number(),
    timeoutMs: z.number(),
    concurrency: z.number(),
    maxInstances: z.number(),
    auth: LIMITS.auth,
    network: LIMITS.network,
    executionRetention: z.string().nullable().openapi({ description: 'how long its execution records are kept; null: the server’s default (CPUB_EXECUTION_RETENTION)' }),
    executionSampling: z.number().nullable().openapi({ description: 'successful calls per second that get a record (errors and cold starts always do); null: the server’s default (CPUB_EXECUTION_SAMPLING, unset: every call)' }),
    asyncConcurrency: z.number().nullable().openapi({ description: 'calls of its async queue running at once; 0: the queue is held (its calls wait until this is raised); null: concurrency × maxInstances' }),
    minInstances: z.number().openapi({ description: 'containers of its live version(s) kept started across the fleet, idle or not, spread over nodes (the warm floor); 0: none' }),
    requestLimitMb: z.number().openapi({ description: 'a request body at its URL at most, MiB (default 100): a large one streams into the function as it reads it; bodies read whole (the JSON invoke route, signed or idempotent calls, async calls) are capped at 6 MB' }),
    responseLimitMb: z.number().openapi({ description: 'the body of an answer it streams at most, MiB (default 100; past it the stream is cut and the call fails); answers made whole are capped at 16 MiB' }),
    queueTimeoutMs: z.number().openapi({ description: 'how long a call over its capacity (concurrency × maxInstances) or its team’s concurrent-calls or memory quota waits for room before 429 too_many_calls or quota_exceeded (within its timeout; one wait for both); 0: refused at once' }),
    retry: z
      .object({ maxAttempts: z.number(), backoff: z.object({ baseMs: z.number(), maxMs: z.number(), jitter: z.boolean() }), on: z.array(z.enum(RETRY_ON)) })
      .openapi({ description: 'how its async calls are retried: attempts after the first, the exponential backoff, and what earns a retry' }),
    destinations: z
      .object({ onSuccess: z.string().nullable(), onFailure: z.string().nullable() })
      .openapi({ description: 'where the outcomes of its async calls are POSTed, signed with its destination secret (GET …/destinations/secret)' }),
    viewerInvoke: z.boolean().openapi({ description: 'whether a viewer of its team may invoke it' }),
    activeVersion: z.number().nullable(),
    status: z.enum(['ready', 'not_deployed']),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Function');

export type FunctionView = api.FunctionView;
true satisfies Same<z.infer<typeof FunctionSchema>, api.FunctionView>;

export function toFunctionView(f: FunctionRow, handle: string, publicUrl: string | undefined): FunctionView {
  const path = `/fn/${handle}/${f.name}`;
  return {
    id: f.id,
    name: f.name,
    owner: handle,
    team: handle,
    url: publicUrl ? new URL(path, publicUrl).toString() : path,
    memoryMb: f.memory_mb,
    cpus: f.cpus,
    timeoutMs: f.timeout_ms,
    concurrency: f.concurrency,
    maxInstances: f.max_instances,
    auth: f.auth,
    network: f.network,
    executionRetention: f.execution_retention_ms === null ? null : retentionText(Number(f.execution_retention_ms)),
    executionSampling: f.execution_sample_rate,
    asyncConcurrency: f.async_concurrency,
    queueTimeoutMs: f.queue_timeout_ms ?? DEFAULT_QUEUE_TIMEOUT_MS,
    responseLimitMb: f.response_limit_mb ?? DEFAULT_RESPONSE_LIMIT_MB,
    requestLimitMb: f.request_limit_mb ?? DEFAULT_REQUEST_LIMIT_MB,
    minInstances: f.min_instances ?? 0,
    retry: storedPolicy(f.retry),
    destinations: storedDestinations(f.destinations),
    viewerInvoke: f.viewer_invoke === 1,
    activeVersion: f.active_version,
    status: f.active_version === null ? 'not_deployed' : 'ready',
    createdAt: new Date(Number(f.created_at)).toISOString(),
    updatedAt: new Date(Number(f.updated_at)).toISOString(),
  };
}
