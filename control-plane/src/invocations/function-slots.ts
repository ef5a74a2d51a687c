// A function's capacity on this replica: concurrency × maxInstances calls at once; beyond it a call waits in the
// function's line (first come, first served: a finishing call hands its slot to the first waiting) for what is left
// of its queueTimeoutMs, then gets 429 too_many_calls with a Retry-After from the function's recent call time.
import type { FunctionRow } from '../db/schema.js';
import { RateLimited } from '../errors.js';

/** Calls that may wait for a slot of a function, per slot of its capacity (beyond: 429 at once). */
const WAITING_PER_SLOT = 10;

interface Waiter {
  /** Its slot was handed over. */
  go: () => void;
  timer: NodeJS.Timeout;
}

export class FunctionSlots {
  /** Calls in flight per function. */
  private readonly inFlight = new Map<string, number>();
  /** Calls waiting for a slot, per function, in order. */
  private readonly waiting = new Map<string, Waiter[]>();
  /** A function's recent call time (ms, moving average): how long the queue ahead takes, for Retry-After. */
  private readonly callMs = new Map<string, number>();

  /**
   * Takes a slot of the function's capacity: at once (undefined) while it has one free; else a place in its queue
   * until a call hands its slot over, for up to `waitMs` (what is left of its queueTimeoutMs, within its timeout).
   * Refused with 429 too_many_calls when it may not wait, its queue is full, or the wait runs out — Retry-After then
   * says when the calls ahead should be done.
   */
  take(fn: Pick<FunctionRow, 'id' | 'name' | 'concurrency' | 'max_instances'>, waitMs: number): Promise<void> | undefined {
    const limit = fn.concurrency * fn.max_instances;
    const now = this.inFlight.get(fn.id) ?? 0;
    if (now < limit) {
      this.inFlight.set(fn.id, now + 1);
      return undefined;
    }
    const queue = this.waiting.get(fn.id) ?? [];
    const refused = (why: string) => {
      const aheadMs = ((queue.length + 1) / limit) * (this.callMs.get(fn.id) ?? 1000);
      return RateLimited('too_many_calls', `function ${fn.name} already has ${now} calls in flight (concurrency ${fn.concurrency} × ${fn.max_instances} instances)${why}`, Math.max(1, Math.ceil(aheadMs / 1000)));
    };
    if (waitMs <= 0) return Promise.reject(refused(''));
    if (queue.length >= limit * WAITING_PER_SLOT) return Promise.reject(refused(` and ${queue.length} waiting`));
    return new Promise<void>((go, fail) => {
      const waiter: Waiter = {
        go,
        timer: setTimeout(() => {
          const q = this.waiting.get(fn.id);
          const i = q?.indexOf(waiter) ?? -1;
          if (i >= 0) q!.splice(i, 1);
          if (q && !q.length) this.waiting.delete(fn.id);
          fail(refused(`; waited ${waitMs} ms for a slot`));
        }, waitMs),
      };
      queue.push(waiter);
      this.waiting.set(fn.id, queue);
    });
  }

  /** A call of the function ended (after `tookMs`): its slot goes to the first call waiting, else it is free. */
  release(functionId: string, tookMs: number): void {
    this.callMs.set(functionId, ((this.callMs.get(functionId) ?? tookMs) * 7 + tookMs) / 8);
    const queue = this.waiting.get(functionId);
    const next = queue?.shift();
    if (next) {
      if (!queue!.length) this.waiting.delete(functionId);
      clearTimeout(next.timer);
      next.go();
      return;
    }
    const n = (this.inFlight.get(functionId) ?? 1) - 1;
    if (n) this.inFlight.set(functionId, n);
    else this.inFlight.delete(functionId);
  }

  /** Calls of the function waiting for a slot. */
  waitingFor(functionId: string): number {
    return this.waiting.get(functionId)?.length ?? 0;
  }

  /** Calls of the function running (holding a slot). */
  inFlightFor(functionId: string): number {
    return this.inFlight.get(functionId) ?? 0;
  }
}
