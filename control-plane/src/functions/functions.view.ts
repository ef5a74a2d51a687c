// The public shape of a function, and the bounds of a function's settings.
import { z } from '@hono/zod-openapi';
import type { FunctionRow } from '../db/schema.js';
import type * as api from '../../../common/api-types.js';
import type { Same } from '../http/schemas.js';

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
};

export const DEFAULTS = { memoryMb: 128, cpus: 0.5, timeoutMs: 30_000, concurrency: 1, maxInstances: 10, auth: 'private', network: 'none' } as const;

export const FunctionSettings = z.object({
  memoryMb: LIMITS.memoryMb.optional(),
  cpus: LIMITS.cpus.optional(),
  timeoutMs: LIMITS.timeoutMs.optional(),
  concurrency: LIMITS.concurrency.optional(),
  maxInstances: LIMITS.maxInstances.optional(),
  auth: LIMITS.auth.optional(),
  network: LIMITS.network.optional(),
});

export const FunctionSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    owner: z.string().openapi({ description: 'the owner’s handle' }),
    url: z.string().openapi({ description: 'the function URL: /fn/<owner>/<name>, absolute when CPUB_PUBLIC_URL is set' }),
    memoryMb: z.number(),
    cpus: z.number(),
    timeoutMs: z.number(),
    concurrency: z.number(),
    maxInstances: z.number(),
    auth: LIMITS.auth,
    network: LIMITS.network,
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
    url: publicUrl ? new URL(path, publicUrl).toString() : path,
    memoryMb: f.memory_mb,
    cpus: f.cpus,
    timeoutMs: f.timeout_ms,
    concurrency: f.concurrency,
    maxInstances: f.max_instances,
    auth: f.auth,
    network: f.network,
    activeVersion: f.active_version,
    status: f.active_version === null ? 'not_deployed' : 'ready',
    createdAt: new Date(Number(f.created_at)).toISOString(),
    updatedAt: new Date(Number(f.updated_at)).toISOString(),
  };
}
