// The public shape of an execution: one call of a function, with its timings, resources and logs.
import { z } from '@hono/zod-openapi';
import type { ExecutionRow } from '../db/schema.js';
import type * as api from '../../../common/api-types.js';
import type { Same } from '../http/schemas.js';
import { EXECUTION_STATUSES } from '../../../proto/outcomes.js';
import { decodeCallLog } from '../../../common/call-log.js';

export const ExecutionSchema = z
  .object({
    id: z.string(),
    functionId: z.string(),
    version: z.number(),
    nodeId: z.string().nullable(),
    trigger: z.enum(['api', 'url']),
    status: z.enum(EXECUTION_STATUSES),
    httpStatus: z.number(),
    startedAt: z.string(),
    durationMs: z.number(),
    coldStart: z.boolean(),
    timings: z.record(z.string(), z.union([z.number(), z.boolean()])),
    cpuMs: z.number(),
    peakMemoryBytes: z.number(),
    request: z.object({ method: z.string(), path: z.string(), bytes: z.number() }),
    error: z.string().nullable(),
    logs: z.array(z.object({ atMs: z.number(), stream: z.string(), level: z.string(), message: z.string() })).optional(),
    logsTruncated: z.boolean(),
  })
  .openapi('Execution');

export type ExecutionView = api.ExecutionView;
true satisfies Same<z.infer<typeof ExecutionSchema>, api.ExecutionView>;

export function toExecutionView(e: ExecutionRow, withLogs: boolean): ExecutionView {
  return {
    id: e.id,
    functionId: e.function_id,
    version: e.version,
    nodeId: e.node_id,
    trigger: e.trigger,
    status: e.status,
    httpStatus: e.http_status,
    startedAt: new Date(Number(e.started_at)).toISOString(),
    durationMs: e.duration_ms,
    coldStart: e.cold_start === 1,
    timings: JSON.parse(e.timings) as Record<string, number | boolean>,
    cpuMs: e.cpu_ms,
    peakMemoryBytes: Number(e.peak_memory_bytes),
    request: { method: e.method, path: e.path, bytes: e.request_bytes },
    error: e.error,
    ...(withLogs ? { logs: decodeCallLog(e.logs) } : {}),
    logsTruncated: e.logs_truncated === 1,
  };
}
