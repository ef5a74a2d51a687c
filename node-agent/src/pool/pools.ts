// Warm pools: per function version, up to `concurrency` calls at once per container and up to `maxInstances`
// containers on this node; idle containers are reaped; containers of an earlier agent epoch are removed.
import type { ContainerRuntime } from '../runtime/container-runtime.js';
import { LABELS } from '../images/function-image.js';
import { WarmContainer, StartError, type ContainerOptions } from './warm-container.js';
import type { CallRequest, CallResult, FunctionSpec } from './types.js';

export interface PoolsOptions extends ContainerOptions {
  idleTimeoutMs: number;
  maxContainers: number;
}

interface Slot {
  container: WarmContainer;
  cold?: { createMs: number; startMs: number; readyMs: number };
}

class FunctionPool {
  readonly containers: WarmContainer[] = [];
  starting = 0;
  private waiters: (() => void)[] = [];

  wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  waitForChange(untilMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, Math.max(0, untilMs - Date.now()));
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

const key = (functionId: string, version: number) => `${functionId}@${version}`;

export class Pools {
  private readonly pools = new Map<string, FunctionPool>();
  private reaper: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly opts: PoolsOptions,
  ) {}

  /** Removes containers this node left in earlier epochs, then starts the idle reaper. */
  async start(): Promise<number> {
    const mine = await this.runtime.list({ [LABELS.node]: this.opts.nodeId, [LABELS.managed]: 'true' });
    const stale = mine.filter((c) => c.labels[LABELS.epoch] !== this.opts.epoch);
    await Promise.all(stale.map((c) => this.runtime.remove(c.id)));
    this.reaper = setInterval(() => void this.reap().catch(() => {}), Math.min(5000, Math.max(250, this.opts.idleTimeoutMs / 4)));
    this.reaper.unref();
    return stale.length;
  }

  async stop(): Promise<void> {
    clearInterval(this.reaper);
    await Promise.all([...this.pools.values()].flatMap((p) => p.containers.map((c) => c.destroy())));
    this.pools.clear();
  }

  get totalContainers(): number {
    let n = 0;
    for (const p of this.pools.values()) n += p.containers.length + p.starting;
    return n;
  }

  get callsInFlight(): number {
    return this.inFlight;
  }

  /** Resolves when no call is in flight (for drain). */
  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  /** A resource sample of every live container. */
  samples(): { functionId: string; version: number; containerId: string; cpuMs: number; memoryBytes: number }[] {
    const out = [];
    for (const p of this.pools.values()) {
      for (const c of p.containers) {
        const s = c.sample();
        if (s) out.push({ functionId: c.spec.functionId, version: c.spec.version, containerId: c.id, ...s });
      }
    }
    return out;
  }

  warmCounts(): { functionId: string; version: number; idle: number; busy: number }[] {
    return [...this.pools.entries()].map(([k, p]) => {
      const [functionId, version] = k.split('@') as [string, string];
      const live = p.containers.filter((c) => !c.dead);
      return { functionId, version: Number(version), idle: live.filter((c) => c.busy === 0).length, busy: live.filter((c) => c.busy > 0).length };
    });
  }

  /** Runs one call on a warm container, or a new one; never throws — every failure is an outcome. */
  async invoke(spec: FunctionSpec, req: CallRequest): Promise<CallResult> {
    const queued = performance.now();
    this.inFlight++;
    const pool = this.pools.get(key(spec.functionId, spec.version)) ?? this.pools.set(key(spec.functionId, spec.version), new FunctionPool()).get(key(spec.functionId, spec.version))!;
    try {
      let slot: Slot;
      try {
        slot = await this.acquire(pool, spec, req.deadlineMs);
      } catch (err) {
        const outcome = err instanceof StartError ? err.outcome : 'rejected';
        const queuedMs = Math.round(performance.now() - queued);
        return {
          outcome,
          status: outcome === 'rejected' ? 503 : outcome === 'timeout' ? 504 : 502,
          headers: [],
          body: Buffer.alloc(0),
          logs: err instanceof StartError ? err.log : [],
          logsTruncated: false,
          timings: { queuedMs, coldStart: outcome !== 'rejected', createMs: 0, startMs: 0, readyMs: 0, runMs: 0 },
          resources: { cpuMs: 0, peakMemoryBytes: 0 },
          error: (err as Error).message,
        };
      }
      const queuedMs = Math.round(performance.now() - queued - (slot.cold ? slot.cold.createMs + slot.cold.startMs + slot.cold.readyMs : 0));
      const c = slot.container;
      const r = await c.call(req);
      c.busy--;
      c.lastUsed = Date.now();
      if (c.dead && c.busy === 0) await this.discard(pool, c);
      pool.wake();
      const { runMs, ...rest } = r;
      return { ...rest, timings: { queuedMs: Math.max(0, queuedMs), coldStart: Boolean(slot.cold), createMs: slot.cold?.createMs ?? 0, startMs: slot.cold?.startMs ?? 0, readyMs: slot.cold?.readyMs ?? 0, runMs } };
    } finally {
      if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async acquire(pool: FunctionPool, spec: FunctionSpec, deadlineMs: number): Promise<Slot> {
    for (;;) {
      const warm = pool.containers.find((c) => !c.dead && c.busy < Math.max(1, spec.concurrency));
      if (warm) {
        warm.busy++;
        return { container: warm };
      }
      if (pool.containers.length + pool.starting < Math.max(1, spec.maxInstances) && this.totalContainers < this.opts.maxContainers) {
        pool.starting++;
        try {
          const { container, ...cold } = await WarmContainer.start(this.runtime, spec, this.opts, deadlineMs);
          if (this.pools.get(key(spec.functionId, spec.version)) !== pool) {
            // The function was removed while this container started.
            await container.destroy();
            throw new Error('the function was removed from this node');
          }
          container.busy++;
          pool.containers.push(container);
          return { container, cold };
        } finally {
          pool.starting--;
          pool.wake(); // a new container has free slots (or a failed start frees the way): waiters look again
        }
      }
      if (Date.now() >= deadlineMs) throw new Error('no container free for this function before the deadline');
      await pool.waitForChange(deadlineMs);
    }
  }

  private async discard(pool: FunctionPool, c: WarmContainer): Promise<void> {
    const i = pool.containers.indexOf(c);
    if (i >= 0) pool.containers.splice(i, 1);
    await c.destroy();
  }

  /** Removes every container of a function (one version, or all when version is 0). */
  async removeFunction(functionId: string, version = 0): Promise<number> {
    let n = 0;
    for (const [k, p] of this.pools) {
      if (!k.startsWith(`${functionId}@`) || (version && k !== key(functionId, version))) continue;
      for (const c of p.containers.splice(0)) {
        await c.destroy();
        n++;
      }
      this.pools.delete(k);
    }
    return n;
  }

  private async reap(): Promise<void> {
    const cutoff = Date.now() - this.opts.idleTimeoutMs;
    for (const p of this.pools.values()) {
      for (const c of [...p.containers]) {
        if (c.busy === 0 && (c.dead || c.lastUsed < cutoff)) await this.discard(p, c).catch(() => {});
      }
    }
  }
}
