// Calls per second with a burst, per token or API key: a token bucket per key, in this replica's memory. With N
// replicas behind a balancer each admits up to the limit, so a caller spread over all of them may reach N × the
// rate (and N × the burst) — the stated error of this approximation; with one replica it is exact.
import { z } from '@hono/zod-openapi';
import { RateLimited } from '../errors.js';

export interface RateLimit {
  perSecond: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly max = 100_000,
  ) {}

  /** Takes one call from `key`'s bucket, or throws 429 rate_limited with the seconds until one is free. */
  take(key: string, limit: RateLimit, what: string): void {
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.max) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: limit.burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(limit.burst, b.tokens + ((now - b.at) / 1000) * limit.perSecond);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const waitS = (1 - b.tokens) / limit.perSecond;
    throw RateLimited('rate_limited', `${what} may make ${limit.perSecond} calls a second (bursts of ${limit.burst}): wait ${Math.ceil(waitS * 1000)} ms`, Math.max(1, Math.ceil(waitS)));
  }
}

/** A limit as the API takes it: calls a second (0.01–100,000) and a burst (1–1,000,000, at least one call). */
export const RateLimitSchema = z
  .object({ perSecond: z.number().min(0.01).max(100_000), burst: z.number().int().min(1).max(1_000_000) })
  .strict()
  .openapi('RateLimit', { description: 'calls a second, with bursts of up to `burst` calls; 429 rate_limited past it (per replica: with N replicas up to N × the rate)' });

/** A stored limit (JSON) as a RateLimit; undefined: none. */
export function storedLimit(json: string | null): RateLimit | undefined {
  return json ? (JSON.parse(json) as RateLimit) : undefined;
}
