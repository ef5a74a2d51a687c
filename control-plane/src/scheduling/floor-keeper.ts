// The warm floor keeper: for every function with minInstances, keeps that many containers of its live version(s)
// started across the fleet (a split shares the floor by weight, at least one each), spread over nodes by
// warm-floor.ts and counted against their memory. Agents hold a floor for a while (HOLD_MS) unless it is renewed,
// so one replica at a time (the `warm-floor` lease) renews every floor each EVERY_MS, and ends (count 0) the floors
// nobody wants any more; a floor whose keeper died lapses by itself and its containers go idle the usual way. An
// alias may have a floor of its own (its version's, shared by weight over its split); a running canary's version
// keeps one container; a version wanted by several floors keeps the most any of them asks.
import type { Kysely } from 'kysely';
import type { Database, FunctionRow } from '../db/schema.js';
import type { Logger } from '../../../common/logger.js';
import type { Fleet } from '../fleet/fleet.service.js';
import type { Leases } from '../maintenance/lease.js';
import type { DeploymentsService } from '../deployments/deployments.service.js';
import { functionsRepo } from '../functions/functions.repo.js';
import { floorShares, spreadFloor } from './warm-floor.js';
import { canariesRepo } from '../canaries/canaries.repo.js';
import { aliasesRepo } from '../aliases/aliases.repo.js';

const EVERY_MS = 5000;
/** How long an agent keeps a floor without a renewal: three missed renewals and a start's worth of slack. */
const HOLD_MS = 3 * EVERY_MS + 5000;

export interface FloorKeeperDeps {
  db: Kysely<Database>;
  fleet: Fleet;
  deployments: DeploymentsService;
  /** The versions live sends calls to, with their share in percent. */
  liveVersions: (fn: FunctionRow) => Promise<{ version: number; weight: number }[]>;
  envOf: (functionId: string) => Record<string, string> | Promise<Record<string, string>>;
  log: Logger;
  leases?: Leases;
}

/** What the floor of a version came to at the last pass (this replica's, when it held the lease). */
export interface FloorState {
  wanted: number;
  ready: number;
  shortfall: string;
}

export class FloorKeeper {
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** The last pass's result per `<function id>@<version>`. */
  readonly states = new Map<string, FloorState>();
  /** Shortfalls already logged (logged again only when they change). */
  private readonly told = new Map<string, string>();

  constructor(private readonly d: FloorKeeperDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), EVERY_MS);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
    await this.running;
  }

  /** A function changed (its floor, its versions, its split): a pass soon instead of at the next tick. */
  wake(): void {
    if (this.stopped || this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.tick();
    }, 100);
    this.soon.unref();
  }

  /** One pass over every floor (a pass asked for while one runs follows it). */
  tick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.pass()
      .catch((err) => this.d.log.warn({ err }, 'keeping warm floors failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          void this.tick();
        }
      });
    return this.running;
  }

  private async pass(): Promise<void> {
    if (this.d.leases && !(await this.d.leases.acquire('warm-floor', 3 * EVERY_MS))) return;
    // What each version wants: the most any of its floors asks (the same containers serve them all).
    const wanted = new Map<string, { fn: FunctionRow; version: number; count: number }>();
    const want = (fn: FunctionRow, version: number, count: number) => {
      const fv = `${fn.id}@${version}`;
      const w = wanted.get(fv);
      if (!w || w.count < count) wanted.set(fv, { fn, version, count });
    };
    // A floor over a split is shared by weight, at least one each (floorShares).
    for (const fn of await functionsRepo.withFloor(this.d.db)) {
      const live = await this.d.liveVersions(fn);
      const weights = Object.fromEntries(live.map((v) => [v.version, v.weight]));
      for (const s of floorShares(fn.min_instances!, weights, fn.active_version!)) want(fn, s.version, s.count);
    }
    for (const a of await aliasesRepo.withFloor(this.d.db)) {
      const fn = await functionsRepo.byId(this.d.db, a.function_id);
      if (fn) for (const s of floorShares(a.min_instances!, a.weights, a.version)) want(fn, s.version, s.count);
    }
    // A running canary's version keeps at least one container warm (it was warmed before its calls moved).
    for (const c of await canariesRepo.allOpen(this.d.db)) {
      if (c.state !== 'running') continue;
      const fn = await functionsRepo.byIdOfActiveOwner(this.d.db, c.function_id);
      if (fn) want(fn, c.version, 1);
    }
    const work: Promise<void>[] = [...wanted.values()].map((w) => this.keep(w.fn, w.version, w.count));
    // Floors held for versions nobody wants any more (the floor lowered to 0, a new active version, a split ended).
    for (const { link } of this.d.fleet.floorNodes('')) {
      for (const fv of link.floors.keys()) {
        if (wanted.has(fv)) continue;
        const [functionId, version] = fv.split('@') as [string, string];
        this.states.delete(fv);
        work.push(link.warmFloor({ functionId, version: Number(version), count: 0 }).then(() => undefined, () => undefined));
      }
    }
    await Promise.all(work);
    for (const fv of this.states.keys()) if (!wanted.has(fv)) this.states.delete(fv);
    for (const fv of this.told.keys()) if (!wanted.has(fv)) this.told.delete(fv);
  }

  /** Starts `count` containers of a version across the fleet now (a canary's, before calls move to it); how many are ready. */
  async warmUp(fn: FunctionRow, version: number, count: number): Promise<number> {
    await this.keep(fn, version, count);
    return this.states.get(`${fn.id}@${version}`)?.ready ?? 0;
  }

  /** Keeps `count` containers of one version across the fleet. */
  private async keep(fn: FunctionRow, version: number, count: number): Promise<void> {
    const fv = `${fn.id}@${version}`;
    try {
      const dep = await this.d.deployments.version(fn, version);
      const env = await this.d.envOf(fn.id);
      const nodes = this.d.fleet.floorNodes(fv, dep.runtime);
      const { perNode, shortfall } = spreadFloor(count, fn.memory_mb * 2 ** 20, nodes.map((n) => n.node));
      const limits = { memoryMb: fn.memory_mb, cpus: fn.cpus, timeoutMs: fn.timeout_ms, concurrency: fn.concurrency, maxInstances: fn.max_instances, network: fn.network === 'egress' };
      const why: string[] = shortfall ? [`${shortfall} of ${count} fit on no node (memory, container cap, or no node up)`] : [];
      let ready = 0;
      await Promise.all(
        nodes.map(async ({ link }) => {
          const k = perNode.get(link.nodeId) ?? 0;
          if (k === 0) {
            if (link.floors.has(fv)) await link.warmFloor({ functionId: fn.id, version, count: 0 }).catch(() => {});
            return;
          }
          try {
            // A node without the image builds it behind the pass (a build can take minutes; the other floors'
            // renewals must not wait for it) and is warmed at a later pass.
            const building = this.d.deployments.ensureOn(link, dep);
            if (building) {
              building.catch(() => {});
              why.push(`node ${link.nodeId}: building the image`);
              return;
            }
            const r = await link.warmFloor({ functionId: fn.id, functionName: fn.name, version, image: dep.image!, limits, env: Object.entries(env).map(([name, value]) => ({ name, value })), count: k, holdMs: HOLD_MS });
            ready += Math.min(k, r.ready);
            if (r.shortfall) why.push(`node ${link.nodeId}: ${r.shortfall}`);
          } catch (err) {
            why.push(`node ${link.nodeId}: ${(err as Error).message}`);
          }
        }),
      );
      this.note(fn, fv, { wanted: count, ready, shortfall: why.join('; ') });
    } catch (err) {
      this.note(fn, fv, { wanted: count, ready: 0, shortfall: (err as Error).message });
    }
  }

  private note(fn: FunctionRow, fv: string, state: FloorState): void {
    this.states.set(fv, state);
    if ((this.told.get(fv) ?? '') === state.shortfall) return;
    this.told.set(fv, state.shortfall);
    if (state.shortfall) this.d.log.warn({ function: fn.id, name: fn.name, version: fv.split('@')[1], wanted: state.wanted, ready: state.ready, why: state.shortfall }, 'warm floor not met');
    else this.d.log.info({ function: fn.id, name: fn.name, version: fv.split('@')[1], ready: state.ready }, 'warm floor met');
  }
}
