// How a function scales now (GET /api/functions/:ref/scaling, `cpub info`, the dashboard): its calls in flight and
// waiting (this replica's), its async queue, its containers per version across the fleet (the nodes' heartbeats),
// its warm floor and its cap.
import type { Kysely } from 'kysely';
import type { Database, FunctionRow, User } from '../db/schema.js';
import type { FunctionLookup } from '../functions/functions.service.js';
import { asyncCallsRepo } from '../async-calls/async-calls.repo.js';
import { nodesRepo } from '../fleet/nodes.repo.js';
import { aliasesRepo } from '../aliases/aliases.repo.js';
import { toNodeView } from '../fleet/fleet.service.js';
import type { ScalingVersionView, ScalingView } from '../../../common/api-types.js';
import type { FloorState } from './floor-keeper.js';
import { floorShares } from './warm-floor.js';

export interface ScalingDeps {
  db: Kysely<Database>;
  functions: FunctionLookup;
  /** Calls running and waiting for a slot on this replica. */
  calls: { inFlightFor(functionId: string): number; waitingFor(functionId: string): number };
  liveVersions: (fn: FunctionRow) => Promise<{ version: number; weight: number }[]>;
  /** The warm floor keeper's last pass (this replica's, when it holds the lease). */
  floors: ReadonlyMap<string, FloorState>;
}

export class ScalingService {
  constructor(private readonly d: ScalingDeps) {}

  async get(user: User, ref: string): Promise<ScalingView> {
    return this.of(await this.d.functions.find(user, ref, 'functions:read'));
  }

  async of(fn: FunctionRow): Promise<ScalingView> {
    const [live, queued, nodes, aliases] = await Promise.all([this.d.liveVersions(fn), asyncCallsRepo.queuedOf(this.d.db, fn.id), nodesRepo.list(this.d.db), aliasesRepo.list(this.d.db, fn.id)]);
    const min = fn.min_instances ?? 0;
    const byVersion = new Map<number, ScalingVersionView>();
    const version = (v: number) => {
      let view = byVersion.get(v);
      if (!view) byVersion.set(v, (view = { version: v, weight: 0, idle: 0, busy: 0, floorWanted: 0, floorHeld: 0, nodes: [] }));
      return view;
    };
    for (const { version: v, weight } of live) version(v).weight = weight;
    // Its floor over live's version(s) and each alias's over its own, shared by weight; a version keeps the most any asks.
    const floors = [
      ...(min && fn.active_version !== null ? floorShares(min, Object.fromEntries(live.map((v) => [v.version, v.weight])), fn.active_version) : []),
      ...aliases.filter((a) => (a.min_instances ?? 0) > 0 && a.name !== 'live').flatMap((a) => floorShares(a.min_instances!, a.weights, a.version)),
    ];
    for (const f of floors) version(f.version).floorWanted = Math.max(version(f.version).floorWanted, f.count);
    for (const n of nodes.filter((x) => x.status !== 'down').map(toNodeView)) {
      for (const w of n.warm) {
        if (w.functionId !== fn.id) continue;
        const view = version(w.version);
        view.idle += w.idle;
        view.busy += w.busy;
        view.floorHeld += w.floor;
        view.nodes.push({ node: n.id, name: n.name, idle: w.idle, busy: w.busy, floor: w.floor, keepAliveMs: w.keepAliveMs, prewarmMs: w.prewarmMs, learned: w.learned });
      }
    }
    const shortfalls = live.map(({ version: v }) => this.d.floors.get(`${fn.id}@${v}`)?.shortfall).filter(Boolean);
    return {
      inFlight: this.d.calls.inFlightFor(fn.id),
      waiting: this.d.calls.waitingFor(fn.id),
      queued,
      capacity: fn.concurrency * fn.max_instances,
      minInstances: min,
      maxInstances: fn.max_instances,
      versions: [...byVersion.values()].sort((a, b) => b.weight - a.weight || b.version - a.version),
      floorShortfall: shortfalls.length ? shortfalls.join('; ') : null,
    };
  }
}
