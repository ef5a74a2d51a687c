// The public shape of an execution: one call of a function, with its timings, resources and logs.
import { z } from '@hono/zod-openapi';
import type * as api from '../../../common/api-types.js';
import type { Same } from '../http/schemas.js';
import { EXECUTION_STATUSES } from '../../../proto/outcomes.js';
import { decodeCallLog } from '../../../common/call-log.js';
import { TRIGGERS, type ExecutionRecord } from './records.js';

export const ExecutionSchema = z
  .object({
    id: z.string(),
    functionId: z.string(),
    version: z.number(),
    nodeId: z.string().nullable(),
    trigger: z.enum(TRIGGERS),
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
    callId: z.string().nullable(),
    traceId: z.string().nullable().openapi({ description: 'the call’s trace id (W3C, 32 hex digits): its trace when tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT), else the caller’s traceparent’s; null: none' }),
  })
  .openapi('Execution');

export type ExecutionView = api.ExecutionView;
true satisfies Same<z.infer<typeof ExecutionSchema>, api.ExecutionView>;

/** `lines`: the call's log (execution_logs), for the view of one execution; omitted in lists. */
export function toExecutionView(e: ExecutionRecord, lines?: string | null): ExecutionView {
  const cold = e.cold ?? { createMs: 0, startMs: 0, readyMs: 0, prewarmed: false };
  return {
    id: e.id,
    functionId: e.functionId,
    version: e.version,
    nodeId: e.nodeId,
    trigger: e.trigger,
    status: e.status,
    httpStatus: e.httpStatus,
    startedAt: new Date(e.startedAt).toISOString(),
    durationMs: e.durationMs,
    coldStart: e.coldStart,
    timings: { queuedMs: e.queuedMs, createMs: cold.createMs, startMs: cold.startMs, readyMs: cold.readyMs, runMs: e.runMs, prewarmed: cold.prewarmed, placementMs: e.placementMs, agentMs: Math.round(e.agentUs / 100) / 10 },
    cpuMs: e.cpuMs,
    peakMemoryBytes: e.peakMemoryKib * 1024,
    request: { method: e.method, path: e.path, bytes: e.requestBytes },
    error: e.error,
    ...(lines !== undefined ? { logs: lines ? decodeCallLog(lines) : [] } : {}),
    logsTruncated: e.logs === 2,
    callId: e.callId,
    traceId: e.traceId ?? null,
  };
}
