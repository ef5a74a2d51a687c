// Queries on the nodes table (the fleet registry). Heartbeats are stamped with the database's clock, so the
// replica judging liveness compares them with one clock whichever replica wrote them.
import { sql } from 'kysely';
import type { Executor, NodeRow, NodeStatus } from '../db/schema.js';
import { dbNowMs } from '../db/connect.js';

export interface NodeReport {
  epoch: string;
  memoryBytes: number;
  cpus: number;
  maxContainers: number;
  containers: number;
  inFlight: number;
  limitsEnforced: boolean;
  limitNotes: string[];
  rootless: boolean;
  agentVersion: string;
  runtimes: string[];
}

export interface NodeUsage {
  containers: number;
  inFlight: number;
  memoryBytes: number;
  reservedBytes: number;
  diskBytes?: number;
  diskUsedBytes?: number;
  warm: { functionId: string; version: number; idle: number; busy: number; floor: number; keepAliveMs: number; prewarmMs: number; learned: boolean }[];
}

/** The runtimes a node's row lists (a JSON array of names); an unreadable column reads as none. */
export function runtimesOf(row: Pick<NodeRow, 'runtimes'>): string[] {
  try {
    const v = JSON.parse(row.runtimes) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export const nodesRepo = {
  /** How many nodes have each status (for the metrics). */
  countByStatus(db: Executor): Promise<{ status: NodeStatus; n: number }[]> {
    return db.selectFrom('nodes').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
  },

  /** Every node not `down` (for the metrics). */
  notDown(db: Executor): Promise<NodeRow[]> {
    return db.selectFrom('nodes').selectAll().where('status', '!=', 'down').execute();
  },

  /** Inserts a node, or updates its address and credential when it joins again. */
  async upsert(db: Executor, n: { id: string; name: string; advertise: string; credentialSealed: string; tls: boolean }, now: number): Promise<void> {
    const tls = n.tls ? 1 : 0;
    await db
      .insertInto('nodes')
      .values({ id: n.id, name: n.name, advertise: n.advertise, credential_sealed: n.credentialSealed, tls, status: 'down', created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet({ name: n.name, advertise: n.advertise, credential_sealed: n.credentialSealed, tls, updated_at: now }))
      .execute();
  },

  list(db: Executor): Promise<NodeRow[]> {
    return db.selectFrom('nodes').selectAll().orderBy('created_at').orderBy('id').execute();
  },

  byName(db: Executor, name: string): Promise<NodeRow[]> {
    return db.selectFrom('nodes').selectAll().where('name', '=', name).execute();
  },

  get(db: Executor, id: string): Promise<NodeRow | undefined> {
    return db.selectFrom('nodes').selectAll().where('id', '=', id).executeTakeFirst();
  },

  async report(db: Executor, id: string, r: NodeReport, status: NodeStatus, now: number): Promise<void> {
    await db
      .updateTable('nodes')
      .set({
        epoch: r.epoch,
        status,
        last_heartbeat_at: dbNowMs(db),
        memory_bytes: r.memoryBytes,
        cpus: r.cpus,
        max_containers: r.maxContainers,
        containers: r.containers,
        in_flight: r.inFlight,
        limits_enforced: r.limitsEnforced ? 1 : 0,
        limit_notes: r.limitNotes.join('; '),
        rootless: r.rootless ? 1 : 0,
        agent_version: r.agentVersion,
        runtimes: JSON.stringify(r.runtimes),
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
  },

  /** A heartbeat of the node's current epoch (one from an older epoch changes nothing). */
  async heartbeat(db: Executor, id: string, epoch: string, usage: NodeUsage, draining: boolean, now: number): Promise<void> {
    await db
      .updateTable('nodes')
      .set({
        last_heartbeat_at: dbNowMs(db),
        containers: usage.containers,
        in_flight: usage.inFlight,
        memory_used_bytes: usage.memoryBytes,
        memory_reserved_bytes: usage.reservedBytes,
        disk_bytes: usage.diskBytes ?? 0,
        disk_used_bytes: usage.diskUsedBytes ?? 0,
        warm: JSON.stringify(usage.warm),
        status: draining ? (usage.inFlight === 0 ? 'drained' : 'draining') : 'up',
        updated_at: now,
      })
      .where('id', '=', id)
      .where('epoch', '=', epoch)
      .execute();
  },

  /** Sets a node's status; with `ifHeartbeatAt`, only while its last heartbeat is still the one judged (none came since). */
  async setStatus(db: Executor, id: string, status: NodeStatus, now: number, ifHeartbeatAt?: number): Promise<boolean> {
    let q = db.updateTable('nodes').set({ status, updated_at: now }).where('id', '=', id);
    if (ifHeartbeatAt !== undefined) q = q.where('last_heartbeat_at', '=', ifHeartbeatAt);
    return Number((await q.executeTakeFirst()).numUpdatedRows) > 0;
  },

  /** The database's clock, epoch ms (what heartbeats are stamped with). */
  async dbNow(db: Executor): Promise<number> {
    const r = await sql<{ now: number | string }>`select ${dbNowMs(db)} as now`.execute(db);
    return Number(r.rows[0]!.now);
  },
};
