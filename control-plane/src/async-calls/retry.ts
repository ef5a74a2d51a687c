// A function's retry policy for async calls: how many more attempts a failed call gets, after how long, and
// which failures earn one. Retries are exponential with jitter (a failure's retries spread out instead of
// arriving together); a function's own answer is final unless the policy names its class (`http_5xx`, `http_4xx`).
import { z } from '@hono/zod-openapi';
import type { ExecutionStatus } from '../db/schema.js';

export const RETRY_ON = ['error', 'timeout', 'oom', 'crashed', 'agent_lost', 'no_agent', 'http_5xx', 'http_4xx'] as const;
export type RetryOn = (typeof RETRY_ON)[number];

export interface RetryPolicy {
  /** Attempts after the first (0–10), as Lambda's MaximumRetryAttempts. */
  maxAttempts: number;
  backoff: { baseMs: number; maxMs: number; jitter: boolean };
  on: RetryOn[];
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 2,
  backoff: { baseMs: 1000, maxMs: 60_000, jitter: true },
  on: ['error', 'timeout', 'oom', 'crashed', 'agent_lost', 'no_agent'],
};

/** The policy as PATCH /api/functions/:ref takes it: any part left out keeps its default. */
export const RetrySchema = z
  .object({
    maxAttempts: z.number().int().min(0).max(10).optional().openapi({ description: 'attempts after the first, 0–10 (default 2)' }),
    backoff: z
      .object({
        baseMs: z.number().int().min(10).max(3_600_000).optional().openapi({ description: 'the wait before the first retry (default 1000); doubled for each next' }),
        maxMs: z.number().int().min(10).max(86_400_000).optional().openapi({ description: 'the longest wait (default 60000)' }),
        jitter: z.boolean().optional().openapi({ description: 'a random half of each wait (default true)' }),
      })
      .strict()
      .optional(),
    on: z.array(z.enum(RETRY_ON)).max(RETRY_ON.length).optional().openapi({ description: `what earns a retry (default ${DEFAULT_RETRY.on.join(', ')}); a function's own 4xx/5xx answer only when named` }),
  })
  .strict()
  .openapi('RetryPolicy');

export type RetryInput = z.infer<typeof RetrySchema>;

/** The whole policy from what was given (null: the default). */
export function retryPolicy(input: RetryInput | null | undefined): RetryPolicy {
  return {
    maxAttempts: input?.maxAttempts ?? DEFAULT_RETRY.maxAttempts,
    backoff: { ...DEFAULT_RETRY.backoff, ...input?.backoff },
    on: input?.on ? [...new Set(input.on)] : DEFAULT_RETRY.on,
  };
}

/** A stored policy (functions.retry) with a change: the parts given replace theirs. */
export function mergeRetry(stored: string | null, patch: RetryInput): RetryInput {
  const old = stored ? (JSON.parse(stored) as RetryInput) : {};
  const backoff = old.backoff || patch.backoff ? { ...old.backoff, ...patch.backoff } : undefined;
  return { ...old, ...patch, ...(backoff ? { backoff } : {}) };
}

/** A function's stored policy (functions.retry). */
export function storedPolicy(json: string | null): RetryPolicy {
  return json ? retryPolicy(JSON.parse(json) as RetryInput) : DEFAULT_RETRY;
}

/** What an attempt's outcome is, for the policy: null when it succeeded for good. */
export function failureClass(status: ExecutionStatus, httpStatus: number, code?: string): RetryOn | 'rejected' | null {
  if (status === 'success') return httpStatus >= 500 ? 'http_5xx' : httpStatus >= 400 ? 'http_4xx' : null;
  if (status === 'rejected') return code === 'no_agent' ? 'no_agent' : 'rejected';
  return status;
}

/** The wait before attempt `next` (2 for the first retry): base × 2^(next − 2), at most max; with jitter, half of it random. */
export function backoffMs(policy: RetryPolicy, next: number, random = Math.random): number {
  const { baseMs, maxMs, jitter } = policy.backoff;
  const full = Math.min(maxMs, baseMs * 2 ** Math.max(0, next - 2));
  return Math.round(jitter ? full / 2 + random() * (full / 2) : full);
}
