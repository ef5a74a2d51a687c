// The public shape of an execution: one call of a function, with its timings, resources and logs.
import { z } from '@hono/zod-openapi';
import type { ExecutionRow } from '../db/schema.js';
import type * as api from '../../../common/api-types.js';
import type { Same } from '../http/schemas.js';
import { EXECUTION_STATUSES } from '../../../proto/outcomes.js';
import { decodeCallLog } from '../../../common/call-log.js';
import { statusOfCode, uuidText } from './records.js';

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

/** `lines`: the call's log (execution_logs), for the view of one execution; omitted in lists. */
export function toExecutionView(e: ExecutionRow, lines?: string | null): ExecutionView {
  const cold = e.cold ? (JSON.parse(e.cold) as { createMs: number; startMs: number; readyMs: number; prewarmed: boolean }) : { createMs: 0, startMs: 0, readyMs: 0, prewarmed: false };
  return {
    id: uuidText(e.id),
    functionId: uuidText(e.function_id),
    version: e.version,
    nodeId: e.node_id,
    trigger: e.trigger,
    status: statusOfCode(e.status),
    httpStatus: e.http_status,
    startedAt: new Date(Number(e.started_at)).toISOString(),
    durationMs: e.duration_ms,
    coldStart: e.cold_start === 1,
    timings: { queuedMs: e.queued_ms, createMs: cold.createMs, startMs: cold.startMs, readyMs: cold.readyMs, runMs: e.run_ms, prewarmed: cold.prewarmed, placementMs: e.placement_ms, agentMs: Math.round(e.agent_us / 100) / 10 },
    cpuMs: e.cpu_ms,
    peakMemoryBytes: Number(e.peak_memory_kib) * 1024,
    request: { method: e.method, path: e.path, bytes: e.request_bytes },
    error: e.error,
    ...(lines !== undefined ? { logs: lines ? decodeCallLog(lines) : [] } : {}),
    logsTruncated: e.logs === 2,
  };
}
