// The public shape of an async call: where it is (queued, running, succeeded, failed — a failed call is a dead
// letter), each attempt (an execution record of its own), and the final answer.
import { z } from '@hono/zod-openapi';
import type { AsyncCallRow } from './async-calls.repo.js';
import type { DeliveryRow } from './destination-deliveries.repo.js';
import { TRIGGERS } from '../executions/records.js';
import type { Same } from '../http/schemas.js';
import type * as api from '../../../common/api-types.js';

/** One attempt, as the call's history keeps it (executionId null: interrupted — the replica running it stopped). */
export type Attempt = api.AsyncAttempt;

/** The last finished attempt's answer (the function's own, or the problem that stopped it). */
export interface StoredAnswer {
  statusCode: number;
  headers: [string, string][];
}

const AttemptSchema = z.object({
  executionId: z.string().nullable(),
  status: z.string(),
  httpStatus: z.number(),
  startedAt: z.string(),
  durationMs: z.number(),
  error: z.string().nullable(),
});

export const AsyncCallSchema = z
  .object({
    id: z.string(),
    functionId: z.string(),
    trigger: z.enum(TRIGGERS),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']).openapi({ description: 'failed: after its last attempt; it is a dead letter of the function' }),
    createdAt: z.string(),
    nextAttemptAt: z.string().nullable().openapi({ description: 'when a queued call runs next' }),
    finishedAt: z.string().nullable(),
    attempts: z.array(AttemptSchema),
    answer: z
      .object({ statusCode: z.number(), headers: z.record(z.string(), z.string()), body: z.string(), bodyEncoding: z.enum(['utf8', 'base64']) })
      .nullable()
      .openapi({ description: 'the last attempt’s answer, once one finished' }),
    deliveries: z
      .array(z.object({ id: z.string(), event: z.enum(['call.succeeded', 'call.failed']), url: z.string(), state: z.enum(['pending', 'delivered', 'failed']), attempts: z.number(), lastError: z.string().nullable() }))
      .openapi({ description: 'its outcome’s deliveries to the function’s destinations' }),
    schedule: z.object({ id: z.string(), scheduledAt: z.string() }).nullable().openapi({ description: 'for a call a schedule made: the schedule and the tick it fired for' }),
  })
  .openapi('AsyncCall');

true satisfies Same<z.infer<typeof AsyncCallSchema>, api.AsyncCallView>;

/** The schedule a call was made by, from the headers its tick gave it (scheduler.ts). */
function scheduleOf(headers: [string, string][]): { id: string; scheduledAt: string } | null {
  const h = Object.fromEntries(headers);
  return h['cpub-schedule-id'] && h['cpub-scheduled-time'] ? { id: h['cpub-schedule-id'], scheduledAt: h['cpub-scheduled-time'] } : null;
}

export function toAsyncCallView(r: AsyncCallRow, deliveries: DeliveryRow[] = []): api.AsyncCallView {
  const answer = r.answer ? (JSON.parse(r.answer) as StoredAnswer) : null;
  const body = r.answer_body ?? Buffer.alloc(0);
  const text = body.toString('utf8');
  const utf8 = Buffer.from(text, 'utf8').equals(body);
  return {
    id: r.id,
    functionId: r.function_id,
    trigger: r.trigger,
    status: r.state,
    createdAt: new Date(Number(r.created_at)).toISOString(),
    nextAttemptAt: r.state === 'queued' ? new Date(Number(r.due_at)).toISOString() : null,
    finishedAt: r.finished_at === null ? null : new Date(Number(r.finished_at)).toISOString(),
    attempts: JSON.parse(r.history) as Attempt[],
    answer: answer && { statusCode: answer.statusCode, headers: Object.fromEntries(answer.headers), body: utf8 ? text : body.toString('base64'), bodyEncoding: utf8 ? 'utf8' : 'base64' },
    schedule: r.trigger === 'schedule' ? scheduleOf(JSON.parse(r.headers) as [string, string][]) : null,
    deliveries: deliveries.map((d) => ({ id: d.id, event: d.event as api.DeliveryView['event'], url: d.url, state: d.state, attempts: d.attempts, lastError: d.last_error })),
  };
}
