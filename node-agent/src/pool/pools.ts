// Warm pools: per function version, up to `concurrency` calls at once per container and up to `maxInstances`
// containers on this node; idle containers are reaped; containers of an earlier agent epoch are removed.
import type { ContainerRuntime } from '../runtime/container-runtime.js';
import { LABELS } from '../images/function-image.js';
import { WarmContainer, StartError, type ContainerOptions } from './warm-container.js';
import type { CallRequest, CallResult, CallTimings, FunctionSpec, StreamSink } from './types.js';
import { httpStatusOf } from '../../../proto/outcomes.js';
import { KeepAlive, keeps, plan, type KeepAliveOptions } from './keep-alive.js';

export interface PoolsOptions extends ContainerOptions {
  idleTimeoutMs: number;
  maxContainers: number;
  /** Memory limits of all containers here add up to at most this (`--max-memory`); unset → no cap. */
  maxMemoryBytes?: number;
  /**
   * Stems kept ready per limit shape (0: none). A stem is a started container of the runtime image with a
   * shape's limits and no function in it; a cold call of a function with that shape loads its bundle into one
   * instead of creating and starting a container (≈ 15 ms instead of ≈ 250 ms here).
   */
  stemsPerShape?: number;
  /** The runtime image stems run. */
  runtimeImage?: string;
  /** How long idle containers stay (keep-alive.ts): learned per version within bounds; unset: the idle timeout. */
  keepAlive?: Omit<KeepAliveOptions, 'fixedMs'>;
  /** The kept, checked bundle of a function image (undefined: none on this node, so no stem can load it). */
  bundleFor?: (image: string) => { appDir: string; entry: string; runtime?: string; small?: boolean } | undefined;
}

interface Slot {
  container: WarmContainer;
  cold?: { createMs: number; startMs: number; readyMs: number; prewarmed: boolean };
}

/** A call's timings but its run: its wait for a slot, and its cold start's phases when it had one. */
function timingsOf(queuedMs: number, slot: Slot): Omit<CallTimings, 'runMs'> {
  const cold = slot.cold;
  return { queuedMs: Math.max(0, queuedMs), coldStart: Boolean(cold), prewarmed: cold?.prewarmed ?? false, createMs: cold?.createMs ?? 0, startMs: cold?.startMs ?? 0, readyMs: cold?.readyMs ?? 0 };
}

/** The limits most functions run with (the control plane's defaults): stems of this shape are always kept. */
export const DEFAULT_SHAPE = { memoryMb: 128, cpus: 0.5 };
/** Stems are kept per runtime and limit shape: `node/128m/0.5cpu`. */
const shapeKey = (s: { memoryMb: number; cpus: number }, runtime = 'node') => `${runtime}/${s.memoryMb}m/${s.cpus}cpu`;

/** What a pool's fingerprint holds is the same in both (its env in the same order, as JSON.stringify sees it). */
function sameSettings(a: FunctionSpec, b: FunctionSpec): boolean {
  if (a.image !== b.image || a.memoryMb !== b.memoryMb || a.cpus !== b.cpus || a.network !== b.network || a.concurrency !== b.concurrency) return false;
  if (a.env === b.env) return true;
  const ka = Object.keys(a.env);
  const kb = Object.keys(b.env);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || a.env[ka[i]!] !== b.env[kb[i]!]) return false;
  return true;
}

class FunctionPool {
  constructor(keepAlive: KeepAliveOptions) {
    this.keepAlive = new KeepAlive(keepAlive);
  }

  /** What the containers were made with (image, limits, env): a call with other settings recycles them. */
  fingerprint = '';
  readonly containers: WarmContainer[] = [];
  starting = 0;
  /** Memory limits of the containers being started, bytes. */
  startingBytes = 0;
  /** The warm floor (Warm): this many containers are kept, idle or not, until `until` (epoch ms). */
  floor = { count: 0, until: 0 };
  /** Its calls' pattern, what it gives for its idle containers, and its last call (epoch ms). */
  readonly keepAlive: KeepAlive;
  lastArrival = 0;
  /** The arrival a prewarm was last started for (one prewarm per gap). */
  prewarmedFor = 0;
  /** What its containers are made from (for a prewarm). */
  spec: FunctionSpec | undefined;
  /** The floor's containers being started, why the last fill fell short, and when a failed one may be tried again. */
  filling: Promise<void> | undefined;
  fillShortfall = '';
  fillAfter = 0;
  private waiters: (() => void)[] = [];

  /** Live containers the floor keeps now (0 once it lapsed). */
  kept(now = Date.now()): number {
    return this.floor.until > now ? this.floor.count : 0;
  }

  /** Live (not dead) containers, and those starting. */
  get live(): number {
    let n = this.starting;
    for (const c of this.containers) if (!c.dead) n++;
    return n;
  }

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

/** After a floor's container failed to start, the next try waits this long. */
const FLOOR_RETRY_MS = 30_000;
/** A version's pool with no container, no floor and no call for this long is dropped (its learned pattern with it). */
const POOL_FORGET_MS = 4 * 3_600_000;

export class Pools {
  private readonly pools = new Map<string, FunctionPool>();
  private reaper: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  /** Ready stems by shape, and the shapes asked for lately (with when). */
  private readonly stems = new Map<string, WarmContainer[]>();
  private readonly shapes = new Map<string, { spec: FunctionSpec; lastUsed: number }>();
  private refilling: Promise<void> | undefined;
  private stopped = false;
  /** Runtime images other than Node's (`opts.runtimeImage`) this node has, by name: their functions get stems too. */
  private readonly runtimeImages = new Map<string, string>();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly opts: PoolsOptions,
  ) {}

  /** Removes containers this node left in earlier epochs, then starts the idle reaper. */
  async start(): Promise<number> {
    const mine = await this.runtime.list({ [LABELS.node]: this.opts.nodeId, [LABELS.managed]: 'true' });
    const stale = mine.filter((c) => c.labels[LABELS.epoch] !== this.opts.epoch);
    await Promise.all(stale.map((c) => this.runtime.remove(c.id)));
    // Often enough for the idle timeout and, when keep-alives are learned, for a quarter of the histogram's bin.
    const every = Math.min(5000, Math.max(250, this.opts.idleTimeoutMs / 4), this.opts.keepAlive?.mode === 'learned' ? Math.max(10, (this.opts.keepAlive.binMs ?? 60_000) / 4) : Infinity);
    this.reaper = setInterval(() => void this.reap().catch(() => {}), every);
    this.reaper.unref();
    this.noteShape(DEFAULT_SHAPE, 0);
    return stale.length;
  }

  /** Removes every container and stem of this agent; resolves with how many there were. */
  async stop(): Promise<number> {
    this.stopped = true;
    clearInterval(this.reaper);
    await this.refilling;
    const stems = [...this.stems.values()].flat();
    this.stems.clear();
    const mine = [...[...this.pools.values()].flatMap((p) => p.containers), ...stems];
    await Promise.all(mine.map((c) => c.destroy().catch(() => {})));
    this.pools.clear();
    // Whatever a race left behind (a stem started or a container replaced while stopping): by this epoch's labels.
    const left = await this.runtime.list({ [LABELS.node]: this.opts.nodeId, [LABELS.epoch]: this.opts.epoch }).catch(() => []);
    await Promise.all(left.map((c) => this.runtime.remove(c.id).catch(() => {})));
    return mine.length + left.length;
  }

  /** Container ids of the stems ready now. */
  stemIds(): string[] {
    return [...this.stems.values()].flat().filter((c) => !c.dead).map((c) => c.id);
  }

  get stemCount(): number {
    let n = 0;
    for (const list of this.stems.values()) n += list.length;
    return n;
  }

  /** A runtime image (other than Node's) this node has now: cold starts of its functions keep stems of it. */
  setRuntimeImage(runtime: string, image: string): void {
    this.runtimeImages.set(runtime, image);
  }

  /** Remembers a shape functions of a runtime were cold-started with, and tops its stems up soon (off the call's path). */
  private noteShape(shape: { memoryMb: number; cpus: number }, delayMs = 100, runtime = 'node'): void {
    const image = runtime === 'node' ? this.opts.runtimeImage : this.runtimeImages.get(runtime);
    if (!this.opts.stemsPerShape || !image || this.stopped) return;
    const spec: FunctionSpec = { functionId: 'stem', name: '', version: 0, image, memoryMb: shape.memoryMb, cpus: shape.cpus, timeoutMs: 30_000, concurrency: 1, maxInstances: 1, network: false, env: {} };
    this.shapes.set(shapeKey(shape, runtime), { spec, lastUsed: Date.now() });
    setTimeout(() => void this.refill(), delayMs).unref();
  }

  /** Starts stems, one at a time, until every recent shape has its number (within the node's container cap). */
  private refill(): Promise<void> {
    this.refilling ??= (async () => {
      await Promise.resolve(); // the assignment above happens before the finally below can clear it
      try {
        for (let again = true; again && !this.stopped; ) {
          again = false;
          for (const [key, { spec }] of [...this.shapes].sort((a, b) => b[1].lastUsed - a[1].lastUsed)) {
            const all = this.stems.get(key) ?? [];
            const list = all.filter((c) => !c.dead);
            // A stem that died is destroyed (its container, folder, log server and cgroup handles), not just dropped.
            await Promise.all(all.filter((c) => c.dead).map((c) => c.destroy().catch(() => {})));
            this.stems.set(key, list);
            if (list.length >= this.opts.stemsPerShape! || !this.fits(spec)) continue;
            const { container } = await WarmContainer.start(this.runtime, spec, this.opts, Date.now() + 30_000, spec.image);
            if (this.stopped || !this.shapes.has(key)) await container.destroy();
            else list.push(container);
            again = true;
          }
        }
      } catch {
        // A stem that fails to start is tried again at the next cold start: cold starts still work without one.
      } finally {
        this.refilling = undefined;
      }
    })();
    return this.refilling;
  }

  /** A ready stem of this spec's runtime and shape, taken out of the stem pool. */
  private takeStem(spec: FunctionSpec, runtime: string): WarmContainer | undefined {
    const list = this.stems.get(shapeKey(spec, runtime));
    while (list?.length) {
      const c = list.shift()!;
      if (!c.dead) return c;
      void c.destroy();
    }
    return undefined;
  }

  /** Destroys one stem (the least recently asked-for shape's) to make room under the container cap. */
  private async dropStem(): Promise<void> {
    const key = [...this.shapes].sort((a, b) => a[1].lastUsed - b[1].lastUsed).map(([k]) => k).find((k) => this.stems.get(k)?.length);
    const c = key ? this.stems.get(key)!.pop() : undefined;
    await c?.destroy();
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

  warmCounts(): { functionId: string; version: number; idle: number; busy: number; floor: number; keepAliveMs: number; prewarmMs: number; learned: boolean }[] {
    const now = Date.now();
    return [...this.pools.entries()].map(([k, p]) => {
      const [functionId, version] = k.split('@') as [string, string];
      const live = p.containers.filter((c) => !c.dead);
      const w = p.keepAlive.windows();
      return { functionId, version: Number(version), idle: live.filter((c) => c.busy === 0).length, busy: live.filter((c) => c.busy > 0).length, floor: p.kept(now), keepAliveMs: Math.round(w.keepAliveMs), prewarmMs: Math.round(w.prewarmMs), learned: w.learned };
    });
  }

  /**
   * The warm floor of a version: keeps `count` of its containers (idle or not) until `holdMs` passes without another
   * call of this; the reaper and eviction leave them, calls use them as any warm container. Answers at once with how
   * many are live and why not all (as the last fill left it); what is missing is started in the background, one at a
   * time within the node's caps and `maxInstances`, at most as many starts as were missing, and after a failed start
   * not again for FLOOR_RETRY_MS (a version that cannot start is not restarted at every renewal).
   */
  warm(spec: FunctionSpec, count: number, holdMs: number): { ready: number; shortfall: string } {
    if (count <= 0) return { ready: this.endFloor(spec.functionId, spec.version), shortfall: '' };
    const pool = this.poolFor(spec);
    pool.floor = { count, until: Date.now() + holdMs };
    const want = Math.min(count, Math.max(1, spec.maxInstances));
    if (!pool.filling && pool.live < want && Date.now() >= pool.fillAfter) pool.filling = this.fill(pool, spec, want).finally(() => (pool.filling = undefined));
    const capped = want < count ? `max instances is ${spec.maxInstances}` : '';
    return { ready: pool.containers.filter((c) => !c.dead).length, shortfall: [capped, pool.fillShortfall].filter(Boolean).join('; ') };
  }

  /** Resolves when the version's floor has started what it could (tests; the agent answers Warm before this). */
  async warmed(functionId: string, version: number): Promise<{ ready: number; shortfall: string }> {
    const pool = this.pools.get(key(functionId, version));
    await pool?.filling;
    return { ready: pool?.containers.filter((c) => !c.dead).length ?? 0, shortfall: pool?.fillShortfall ?? '' };
  }

  private async fill(pool: FunctionPool, spec: FunctionSpec, want: number): Promise<void> {
    pool.fillShortfall = '';
    for (let starts = want - pool.live; starts > 0 && pool.live < want && !this.stopped; starts--) {
      if (!this.fits(spec)) {
        pool.fillShortfall = 'this node has no room for another container (--max-containers or --max-memory)';
        return;
      }
      try {
        await this.prepare(spec, Date.now() + 30_000, true);
      } catch (err) {
        pool.fillShortfall = `a container failed to start: ${(err as Error).message}`;
        pool.fillAfter = Date.now() + FLOOR_RETRY_MS;
        return;
      }
    }
  }

  /** Ends a version's warm floor: its containers go the usual way (idle past the timeout). Returns how many are live. */
  endFloor(functionId: string, version: number): number {
    const pool = this.pools.get(key(functionId, version));
    if (!pool) return 0;
    pool.floor = { count: 0, until: 0 };
    return pool.containers.filter((c) => !c.dead).length;
  }

  /** The pool of a version, made fresh when `spec` differs from what its containers were made with. */
  private poolFor(spec: FunctionSpec): FunctionPool {
    const k = key(spec.functionId, spec.version);
    const pool = this.pools.get(k) ?? this.pools.set(k, new FunctionPool({ mode: 'fixed', minMs: 0, maxMs: Infinity, ...this.opts.keepAlive, fixedMs: this.opts.idleTimeoutMs })).get(k)!;
    const last = pool.spec;
    pool.spec = spec;
    // The same settings as the last call's (nearly every call): no fingerprint to make.
    if (last && sameSettings(last, spec)) return pool;
    const fingerprint = `${spec.image}|${spec.memoryMb}|${spec.cpus}|${spec.network}|${spec.concurrency}|${JSON.stringify(spec.env)}`;
    if (pool.fingerprint !== fingerprint) {
      // Settings or env changed: containers made with the old ones take no new calls and go once idle.
      if (pool.fingerprint) for (const c of pool.containers) c.dead = true;
      pool.fingerprint = fingerprint;
      for (const c of pool.containers.filter((x) => x.busy === 0)) void this.discard(pool, c);
    }
    return pool;
  }

  /**
   * The startup check of a new version: starts one container of `spec` (from a stem when one fits), which
   * imports its entry, and leaves it warm for the first call. Throws StartError (with the function's output)
   * when the module cannot load.
   */
  async prepare(spec: FunctionSpec, deadlineMs: number, fresh = false): Promise<{ ms: number; prewarmed: boolean }> {
    const t0 = performance.now();
    const pool = this.poolFor(spec);
    const slot = await this.acquire(pool, spec, deadlineMs, deadlineMs, fresh);
    slot.container.busy--;
    slot.container.lastUsed = Date.now();
    pool.wake();
    return { ms: Math.round(performance.now() - t0), prewarmed: slot.cold?.prewarmed ?? false };
  }

  /** Runs one call on a warm container, or a new one; never throws — every failure is an outcome. */
  async invoke(spec: FunctionSpec, req: CallRequest): Promise<CallResult> {
    const queued = performance.now();
    this.inFlight++;
    const pool = this.poolFor(spec);
    pool.lastArrival = Date.now();
    pool.keepAlive.observe(pool.lastArrival);
    try {
      let slot: Slot;
      try {
        slot = await this.acquire(pool, spec, req.deadlineMs, req.declineAfterMs ? Date.now() + req.declineAfterMs : req.deadlineMs);
      } catch (err) {
        const outcome = err instanceof StartError ? err.outcome : 'rejected';
        const queuedMs = Math.round(performance.now() - queued);
        return {
          outcome,
          status: httpStatusOf(outcome),
          headers: [],
          body: Buffer.alloc(0),
          logs: err instanceof StartError ? err.log : [],
          logsTruncated: false,
          timings: { queuedMs, coldStart: outcome !== 'rejected', prewarmed: false, createMs: 0, startMs: 0, readyMs: 0, runMs: 0 },
          resources: { cpuMs: 0, peakMemoryBytes: 0 },
          error: (err as Error).message,
        };
      }
      const queuedMs = Math.round(performance.now() - queued - (slot.cold ? slot.cold.createMs + slot.cold.startMs + slot.cold.readyMs : 0));
      const c = slot.container;
      // A streamed answer's head goes before the call ends: it carries the call's timings so far (its cold start).
      const sink = req.stream;
      const ranAt = performance.now();
      const timed: StreamSink | undefined = sink && {
        head: (status, headers, control, first) => sink.head(status, headers, control, first, { ...timingsOf(queuedMs, slot), runMs: Math.round(performance.now() - ranAt) }),
        chunk: (data) => sink.chunk(data),
      };
      const r = await c.call(timed ? { ...req, stream: timed } : req);
      c.busy--;
      c.lastUsed = Date.now();
      if (c.dead && c.busy === 0) await this.discard(pool, c);
      pool.wake();
      const { runMs, ...rest } = r;
      return { ...rest, timings: { ...timingsOf(queuedMs, slot), runMs } };
    } finally {
      if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** A container slot for the call; `fullBy`: when the node stays full (not the function at its instances) until then, decline. */
  private async acquire(pool: FunctionPool, spec: FunctionSpec, deadlineMs: number, fullBy: number, fresh = false): Promise<Slot> {
    for (;;) {
      // A container that died idle holds an instance until it is removed: removed now, not at the next reap.
      for (const c of pool.containers.filter((x) => x.dead && x.busy === 0)) void this.discard(pool, c).catch(() => {});
      const warm = fresh ? undefined : pool.containers.find((c) => !c.dead && c.busy < Math.max(1, spec.concurrency));
      if (warm) {
        warm.busy++;
        return { container: warm };
      }
      const below = pool.containers.length + pool.starting < Math.max(1, spec.maxInstances);
      // A stem of this shape is counted already: claiming it needs no room.
      // A stem of the function's runtime (Node's, or another this node has an image of).
      const bundle = below && !spec.network ? this.opts.bundleFor?.(spec.image) : undefined;
      const runtimeName = bundle?.runtime ?? 'node';
      const stem = bundle ? this.takeStem(spec, runtimeName) : undefined;
      if (below && !stem && !this.fits(spec)) await this.evictFor(spec, pool);
      if (below && (stem || this.fits(spec))) {
        const bytes = spec.memoryMb * 2 ** 20;
        pool.starting++;
        pool.startingBytes += bytes;
        try {
          let container: WarmContainer;
          let cold: NonNullable<Slot['cold']>;
          if (stem && bundle) {
            container = stem;
            cold = { createMs: 0, startMs: 0, readyMs: await stem.claim(spec, bundle, deadlineMs), prewarmed: true };
          } else {
            const started = await WarmContainer.start(this.runtime, spec, this.opts, deadlineMs);
            container = started.container;
            cold = { createMs: started.createMs, startMs: started.startMs, readyMs: started.readyMs, prewarmed: false };
          }
          if (!spec.network) this.noteShape(spec, 100, runtimeName);
          if (this.pools.get(key(spec.functionId, spec.version)) !== pool) {
            // The function was removed while this container started.
            await container.destroy();
            throw new Error('the function was removed from this node');
          }
          container.busy++;
          // Its death (even idle) wakes the calls waiting in this pool: its instance is free again.
          container.onGone = () => pool.wake();
          pool.containers.push(container);
          return { container, cold };
        } finally {
          pool.starting--;
          pool.startingBytes -= bytes;
          pool.wake(); // a new container has free slots (or a failed start frees the way): waiters look again
        }
      }
      if (Date.now() >= (below ? Math.min(fullBy, deadlineMs) : deadlineMs)) {
        throw new Error(below ? 'this node is full (containers or memory) and nothing idle could make room in time' : 'no container free for this function before the deadline');
      }
      // A slot freed in this pool wakes us; room freed elsewhere on the node is looked for every 100 ms.
      await pool.waitForChange(below ? Math.min(deadlineMs, Date.now() + 100) : deadlineMs);
    }
  }

  /** Memory limits of every container here (warm, starting, stems), bytes: what the control plane packs by. */
  reservedBytes(): number {
    let n = 0;
    for (const p of this.pools.values()) {
      n += p.startingBytes;
      for (const c of p.containers) n += c.spec.memoryMb * 2 ** 20;
    }
    for (const list of this.stems.values()) for (const c of list) n += c.spec.memoryMb * 2 ** 20;
    return n;
  }

  /** One more container of `spec` fits under --max-containers and --max-memory (stems included). */
  private fits(spec: FunctionSpec): boolean {
    const max = this.opts.maxMemoryBytes;
    return this.totalContainers + this.stemCount < this.opts.maxContainers && (!max || this.reservedBytes() + spec.memoryMb * 2 ** 20 <= max);
  }

  /** Makes room for `spec`: stems first, then idle containers of other functions, least recently used first. */
  private async evictFor(spec: FunctionSpec, except: FunctionPool): Promise<void> {
    while (!this.fits(spec) && this.stemCount > 0) await this.dropStem();
    const idle = [...this.pools.values()]
      .filter((p) => p !== except)
      .flatMap((p) => p.containers.filter((c) => c.busy === 0).map((c) => ({ p, c })))
      .sort((a, b) => a.c.lastUsed - b.c.lastUsed);
    for (const { p, c } of idle) {
      if (this.fits(spec)) return;
      // A warm floor's containers are not room: the floor was asked for and is counted already.
      if (!c.dead && p.live <= p.kept()) continue;
      await this.discard(p, c);
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
    // Shapes nobody cold-started for a while lose their stems (the default shape keeps its own).
    for (const [key, shape] of this.shapes) {
      if (key === shapeKey(DEFAULT_SHAPE) || shape.lastUsed >= cutoff) continue;
      this.shapes.delete(key);
      for (const c of this.stems.get(key)?.splice(0) ?? []) await c.destroy();
    }
    for (const list of this.stems.values()) {
      for (const c of list.filter((x) => x.dead)) {
        list.splice(list.indexOf(c), 1);
        await c.destroy();
      }
    }
    if (this.stems.size) void this.refill();
    const now = Date.now();
    for (const p of this.pools.values()) {
      const w = p.keepAlive.windows();
      // The most recently used go last: a warm floor keeps those.
      for (const c of [...p.containers].sort((a, b) => a.lastUsed - b.lastUsed)) {
        if (c.busy > 0 || (!c.dead && (keeps(plan(w, p.lastArrival, c.lastUsed), now) || p.live <= p.kept()))) continue;
        await this.discard(p, c).catch(() => {});
      }
      if (!p.containers.length && !p.starting && !p.filling && !p.kept(now) && now - p.lastArrival > POOL_FORGET_MS) {
        for (const [k, v] of this.pools) if (v === p) this.pools.delete(k);
        continue;
      }
      // A version whose calls come after a gap it has learned: one container is started shortly before the next.
      const next = plan(w, p.lastArrival, p.lastArrival);
      if (next.prewarmAt !== null && p.spec && p.live === 0 && p.prewarmedFor !== p.lastArrival && now >= next.prewarmAt && now < next.prewarmUntil!) {
        p.prewarmedFor = p.lastArrival;
        void this.prepare(p.spec, now + 30_000, true).catch(() => {});
      }
    }
  }
}
