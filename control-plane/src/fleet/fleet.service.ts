// The fleet: agents join with the join token, every control-plane replica dials each one, calls are placed
// by placement.ts, and node liveness follows their heartbeats (suspect after two missed beats, down after the
// TTL; judged by one replica at a time).
import { auditRepo } from '../audit/audit.repo.js';
import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { Database, NodeRow, NodeStatus } from '../db/schema.js';
import type { Sealer } from '../secrets/crypto.js';
import type { Logger } from '../../../common/logger.js';
import { credentialMatches } from '../../../proto/auth.js';
import { fromGrpcError } from '../../../proto/errors.js';
import { Conflict, Invalid, Unauthenticated, NotFound, Unavailable } from '../errors.js';
import type { Leases } from '../maintenance/lease.js';
import { nodesRepo, runtimesOf } from './nodes.repo.js';
import { AgentLink, builtKey } from './agent-link.js';
import { place, type NodeState } from '../scheduling/placement.js';
import type { FloorNode, NodeBasics } from '../scheduling/warm-floor.js';
import type { LogLine, NodeView, NodeWarm } from '../../../common/api-types.js';

export interface FleetOptions {
  heartbeatMs?: number;
  /** PEM of the CA (or self-signed certificate) agents' TLS certificates are checked against; unset → system roots. */
  agentCa?: Buffer | undefined;
  /** A node with no heartbeat for this long is `down` (the TTL). */
  downAfterMs?: number;
  /** With several replicas on one database: node liveness is judged by the one holding the `liveness` lease. */
  leases?: Leases;
  /** Told of a join with a bad token (metrics, alerts): who tried (the node's name and address). */
  onBadJoin?: (who: string) => void;
}

/** A node as the API shows it; the shape lives in common/api-types.ts, which the CLI reads too. */
export type { NodeView };

export function toNodeView(n: NodeRow): NodeView {
  let warm: NodeWarm[] = [];
  try {
    warm = (JSON.parse(n.warm) as NodeWarm[]).map((w) => ({ ...w, floor: w.floor ?? 0, keepAliveMs: w.keepAliveMs ?? 0, prewarmMs: w.prewarmMs ?? 0, learned: w.learned ?? false }));
  } catch {
    // an unreadable column shows as no warm containers
  }
  return {
    id: n.id,
    name: n.name,
    advertise: n.advertise,
    status: n.status,
    epoch: n.epoch,
    lastHeartbeatAt: n.last_heartbeat_at ? new Date(Number(n.last_heartbeat_at)).toISOString() : null,
    capacity: { memoryBytes: Number(n.memory_bytes), cpus: n.cpus, maxContainers: n.max_containers },
    usage: { containers: n.containers, inFlight: n.in_flight, memoryBytes: Number(n.memory_used_bytes), memoryReservedBytes: Number(n.memory_reserved_bytes) },
    warm,
    limitsEnforced: n.limits_enforced === 1,
    limitNotes: n.limit_notes,
    rootless: n.rootless === 1,
    tls: n.tls === 1,
    agentVersion: n.agent_version,
    runtimes: runtimesOf(n),
  };
}

const ADDRESS = /^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/;

/** A live line of a function's output, as it arrives from any agent: what `…/logs?follow=true` sends on. */
export type LiveLogLine = LogLine;

/** What a call needs placed: its version, image and limits. */
export interface PlacementNeed {
  functionId: string;
  version: number;
  digest: string;
  memoryMb: number;
  concurrency: number;
  /** The version's runtime; default "node". */
  runtime?: string;
}

export class Fleet {
  private readonly links = new Map<string, AgentLink>();
  /** Live function log lines from every agent, by function id (for `…/logs?follow=true`). */
  readonly logs = new EventEmitter();
  private liveness: NodeJS.Timeout | undefined;
  private readonly heartbeatMs: number;
  private readonly downAfterMs: number;
  private readonly agentCa: Buffer | undefined;
  private readonly leases: Leases | undefined;
  /** The nodes table as last read (status, epoch), at most 500 ms old on the call path. */
  private rows = new Map<string, NodeRow>();
  private rowsAt = 0;
  private rowsRefresh: Promise<void> | undefined;
  private startedAt = 0;
  private turn = 0;
  private alerted = false;
  private stopped = false;
  private readonly onBadJoin: ((who: string) => void) | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly sealer: Sealer,
    private readonly joinToken: string,
    private readonly log: Logger,
    opts: FleetOptions = {},
  ) {
    this.heartbeatMs = opts.heartbeatMs ?? 1000;
    this.downAfterMs = opts.downAfterMs ?? 10_000;
    this.agentCa = opts.agentCa;
    this.leases = opts.leases;
    this.onBadJoin = opts.onBadJoin;
    this.logs.setMaxListeners(0);
  }

  async start(): Promise<void> {
    this.startedAt = Date.now();
    await this.readRows();
    this.liveness = setInterval(() => void this.tick(), Math.min(1000, this.heartbeatMs));
    this.liveness.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.liveness);
    for (const l of this.links.values()) l.close();
    this.links.clear();
  }

  /** An agent joins: returns its node id and the credential it must demand on every call. */
  async register(input: { joinToken: string; nodeId: string; name?: string | undefined; advertise: string; credential?: string | undefined; tls?: boolean | undefined }): Promise<{ nodeId: string; credential: string }> {
    if (!credentialMatches(this.joinToken, input.joinToken)) {
      this.onBadJoin?.(`node ${input.name ?? input.nodeId} at ${input.advertise}`);
      throw Unauthenticated('bad_join_token', 'the join token is not valid (see `cpub-server join-token`)');
    }
    if (!ADDRESS.test(input.advertise)) throw Invalid('invalid_advertise', 'advertise must be host:port', { field: 'advertise' });
    if (!/^[A-Za-z0-9-]{8,64}$/.test(input.nodeId)) throw Invalid('invalid_node_id', 'nodeId must be 8–64 letters, digits or dashes', { field: 'nodeId' });
    // Re-joining an existing node (a restart, a new address) needs the credential it was given: the join
    // token alone must not let anyone take over a node and receive the calls meant for it.
    const existing = await nodesRepo.get(this.db, input.nodeId);
    if (existing && !credentialMatches(this.sealer.open(existing.credential_sealed, `node:${existing.id}`), input.credential)) {
      throw Conflict('node_exists', 'this node id is taken; re-joining needs the node’s current credential');
    }
    // Names tell nodes apart in `cpub nodes` and `cpub nodes drain`: a live node of another id keeps its own.
    const name = input.name || input.advertise || hostname();
    const clash = (await nodesRepo.byName(this.db, name)).find((n) => n.id !== input.nodeId && n.status !== 'down');
    if (clash) throw Conflict('node_name_taken', `a live node (${clash.id}, at ${clash.advertise}) is already named "${name}"; give this agent another with --name or CPUB_AGENT_NAME`);
    const credential = randomBytes(32).toString('base64url');
    const sealed = this.sealer.seal(credential, `node:${input.nodeId}`);
    const now = Date.now();
    await nodesRepo.upsert(this.db, { id: input.nodeId, name, advertise: input.advertise, credentialSealed: sealed, tls: Boolean(input.tls) }, now);
    this.log.info({ node: input.nodeId, advertise: input.advertise, tls: Boolean(input.tls) }, 'agent joined');
    this.link(input.nodeId, input.advertise, sealed, Boolean(input.tls), now);
    return { nodeId: input.nodeId, credential };
  }

  /** A node by id, else by name (a live one first); NotFound otherwise. */
  private async resolve(idOrName: string): Promise<NodeRow> {
    const byId = await nodesRepo.get(this.db, idOrName);
    if (byId) return byId;
    const named = await nodesRepo.byName(this.db, idOrName);
    const row = named.find((n) => n.status !== 'down') ?? named[0];
    if (!row) throw NotFound('node_not_found', 'no such node');
    return row;
  }

  async list(): Promise<{ nodes: NodeView[]; alert: string | null }> {
    const [rows, now] = await Promise.all([nodesRepo.list(this.db), nodesRepo.dbNow(this.db)]);
    return { nodes: rows.map(toNodeView), alert: this.allUnreachable(rows, now) };
  }

  async get(id: string): Promise<NodeView> {
    const n = await nodesRepo.get(this.db, id);
    if (!n) throw NotFound('node_not_found', 'no such node');
    return toNodeView(n);
  }

  /**
   * The agents that may take a call of this version, best first (see placement.ts): a node that declines is
   * skipped for the next. The nodes table is read at most every 500 ms, by one query at a time; calls
   * meanwhile use the last answer (stale by a fraction of the heartbeat TTL), so it is never on a warm call's path.
   */
  async candidates(need: PlacementNeed): Promise<AgentLink[]> {
    if (Date.now() - this.rowsAt > 500) {
      const refresh = this.readRows();
      if (!this.rowsAt) await refresh;
      else refresh.catch(() => {}); // a failed read keeps the last answer; the next call tries again
    }
    const fv = `${need.functionId}@${need.version}`;
    const image = builtKey(need.functionId, need.digest);
    const states: NodeState[] = [];
    for (const l of this.links.values()) {
      const state = this.nodeOf(l) as NodeState;
      state.warmFree = l.warmFree(fv, need.concurrency);
      state.hasImage = l.built.has(image);
      state.inFlight = l.inFlight;
      state.runtimes = l.runtimes;
      states.push(state);
    }
    const runtime = need.runtime ?? 'node';
    const placed = place({ memoryBytes: need.memoryMb * 2 ** 20, turn: this.turn++, runtime }, states);
    if (!placed.length && runtime !== 'node') this.checkRuntime(runtime);
    return placed.map((s) => this.links.get(s.id)!);
  }

  /**
   * Throws `runtime_unavailable` when connected nodes exist and none runs `runtime` (a call or a build of it would
   * otherwise wait for an agent that is up and will never take it).
   */
  private checkRuntime(runtime: string): void {
    const ready = [...this.links.values()].filter((l) => l.ready);
    if (!ready.length || ready.some((l) => l.runtimes.has(runtime))) return;
    const have = [...new Set(ready.flatMap((l) => [...l.runtimes]))].sort();
    throw Unavailable('runtime_unavailable', `no node runs the runtime "${runtime}" (the connected nodes run ${have.map((r) => `"${r}"`).join(', ')}; an operator adds one with \`cpub-agent start --runtime ${runtime}=<image>\`)`);
  }

  /** Every dialled node as the warm floor's spread sees it, for one version (`<function id>@<version>`). */
  floorNodes(fv: string, runtime?: string): { link: AgentLink; node: FloorNode }[] {
    return [...this.links.values()].filter((l) => runtime === undefined || l.runtimes.has(runtime)).map((l) => ({ link: l, node: { ...this.nodeOf(l), has: l.warm.get(fv) ?? 0 } }));
  }

  /** What placement and the warm floor know of a node: its state (the table), its link, its room (heartbeats). */
  private nodeOf(l: AgentLink): NodeBasics {
    const row = this.rows.get(l.nodeId);
    return {
      id: l.nodeId,
      status: row?.status ?? 'down',
      connected: l.ready,
      // Another replica may have seen the agent restart first: its epoch in the table is then newer.
      epochCurrent: !row?.epoch || row.epoch === l.epoch,
      capacity: l.capacity,
      reservedBytes: l.reservedBytes,
      containers: l.containers,
    };
  }

  /** Containers of a version (`<function id>@<version>`) on every node (their last heartbeats). */
  warmOf(fv: string): number {
    let n = 0;
    for (const l of this.links.values()) n += l.warm.get(fv) ?? 0;
    return n;
  }

  /**
   * The instances of a version `link`'s node may run: the function's cap (maxInstances, fleet-wide) less what the
   * other nodes hold (their last heartbeats), and at least one so a call placed there can always run.
   */
  capOn(link: AgentLink, fv: string, maxInstances: number): number {
    let elsewhere = 0;
    for (const l of this.links.values()) if (l !== link) elsewhere += l.warm.get(fv) ?? 0;
    return Math.max(1, maxInstances - elsewhere);
  }

  /** Drains (or undrains) a node named by its id or its name. */
  async drain(idOrName: string, undo: boolean, actor?: { id: string; ip: string | null }): Promise<NodeView> {
    const row = await this.resolve(idOrName);
    const id = row.id;
    const l = this.links.get(id);
    if (!l?.ready) throw Unavailable('node_unreachable', `node ${row.name} is not connected; it cannot be ${undo ? 'undrained' : 'drained'} now`);
    const r = await l.drain(undo);
    const status: NodeStatus = undo ? 'up' : r.drained ? 'drained' : 'draining';
    const now = Date.now();
    await this.db.transaction().execute(async (tx) => {
      await nodesRepo.setStatus(tx, id, status, now);
      await auditRepo.record(tx, { event: undo ? 'node_undrained' : 'node_drained', actorId: actor?.id ?? null, clientIp: actor?.ip ?? null, target: `node:${row.name}`, before: { status: row.status }, after: { status } }, now);
    });
    this.rows.set(id, { ...row, status });
    this.log.info({ node: id, status, inFlight: r.inFlight }, undo ? 'node undrained' : 'node draining');
    return this.get(id);
  }

  /** Asks every connected agent to drop a function's containers and images (best effort: a restart cleans up too). */
  async removeEverywhere(functionId: string): Promise<void> {
    await Promise.all(
      [...this.links.values()].map(async (l) => {
        // A busy Podman can refuse once (an image listing racing a removal): a few tries before giving up.
        for (let attempt = 1; ; attempt++) {
          try {
            return await l.remove(functionId);
          } catch (err) {
            if (attempt >= 4) return this.log.warn({ node: l.nodeId, err: fromGrpcError(err) }, 'remove on agent failed');
            await new Promise((r) => setTimeout(r, 1000 * attempt));
          }
        }
      }),
    );
  }

  /** Reads the nodes table; dials nodes that joined through another replica (or re-joined with a new credential). */
  private readRows(): Promise<void> {
    this.rowsRefresh ??= nodesRepo
      .list(this.db)
      .then((rows) => {
        if (this.stopped) return; // a read that ended after stop() dials nothing
        this.rows = new Map(rows.map((r) => [r.id, r]));
        this.rowsAt = Date.now();
        for (const n of rows) {
          const l = this.links.get(n.id);
          // A row read before a re-join here committed is older than the link: it must not undo it.
          const changed = l && (l.advertise !== n.advertise || l.sealedCredential !== n.credential_sealed) && Number(n.updated_at) >= l.since;
          if (!l || changed) this.link(n.id, n.advertise, n.credential_sealed, n.tls === 1, Number(n.updated_at));
        }
      })
      .finally(() => (this.rowsRefresh = undefined));
    return this.rowsRefresh;
  }

  /** Dials a node (replacing its link); `since`: when the row this link follows was written. */
  private link(nodeId: string, advertise: string, sealedCredential: string, tls: boolean, since: number): void {
    this.links.get(nodeId)?.close();
    // An agent that joined over TLS is only ever dialled over TLS, checked against CPUB_AGENT_CA.
    const transport = tls ? grpc.credentials.createSsl(this.agentCa ?? null) : grpc.credentials.createInsecure();
    const credential = this.sealer.open(sealedCredential, `node:${nodeId}`);
    const l: AgentLink = new AgentLink(nodeId, advertise, credential, sealedCredential, transport, this.log, this.heartbeatMs, {
      // The node's state is the fleet's: the link only reports what the agent says.
      // The row (status, epoch) placement reads is read again before the link counts as ready: else a node that
      // came up (or restarted with a new epoch) is passed over until the next read of the table.
      onInfo: async (report, status) => {
        await nodesRepo.report(this.db, nodeId, report, status, Date.now());
        await this.rowsRefresh?.catch(() => {});
        await this.readRows().catch(() => {});
      },
      onHeartbeat: (epoch, usage, draining) =>
        void nodesRepo.heartbeat(this.db, nodeId, epoch, usage, draining, Date.now()).catch((err) => this.log.warn({ err }, 'heartbeat write failed')),
      onLog: (e) => {
        if (e.line) this.logs.emit(e.functionId, { executionId: e.invocationId, atMs: Number(e.line.atMs), level: e.line.level, stream: e.line.stream, message: e.line.message });
      },
      // Only the node's current link speaks for it (a replaced one may still be finishing a dial).
      onGone: () => void (this.links.get(nodeId) === l && this.gone(nodeId)),
    }, since);
    this.links.set(nodeId, l);
    l.start();
  }

  /** A node whose agent refuses connections is down at once (its epoch is over: it comes back with a new one). */
  private async gone(nodeId: string): Promise<void> {
    const row = this.rows.get(nodeId);
    if (!row || row.status === 'down') return;
    try {
      await nodesRepo.setStatus(this.db, nodeId, 'down', Date.now());
      this.rows.set(nodeId, { ...row, status: 'down' });
      this.log.warn({ node: nodeId, status: 'down' }, 'node down: its agent refuses connections');
    } catch (err) {
      this.log.warn({ err }, 'marking a node down failed');
    }
  }

  /**
   * Every node that was reachable went silent at once (all past two missed beats, one past the TTL): more
   * likely our own network than every host, so none is declared down.
   */
  private allUnreachable(rows: NodeRow[], now: number): string | null {
    const live = rows.filter((n) => n.status !== 'down' && n.last_heartbeat_at !== null);
    const silent = live.map((n) => now - Number(n.last_heartbeat_at));
    if (live.length < 2 || !silent.every((ms) => ms >= this.suspectAfterMs) || !silent.some((ms) => ms >= this.downAfterMs)) return null;
    return `all ${live.length} agents stopped answering at once: check this control plane's network before replacing hosts`;
  }

  /** Two missed heartbeats (and half a second of slack). */
  private get suspectAfterMs(): number {
    return 2 * this.heartbeatMs + 500;
  }

  private async tick(): Promise<void> {
    try {
      await this.readRows();
      // After a control-plane start, agents get one TTL to be dialled again before any is judged.
      if (Date.now() - this.startedAt < this.downAfterMs) return;
      if (this.leases && !(await this.leases.acquire('liveness', 3 * Math.max(1000, this.heartbeatMs)))) return;
      // Heartbeats carry the database's clock: judged by it, not by this replica's.
      const now = await nodesRepo.dbNow(this.db);
      const rows = [...this.rows.values()];
      const alert = this.allUnreachable(rows, now);
      if (alert) {
        // No mass re-placement: the nodes stay suspect (calls still try them) until they answer again.
        if (!this.alerted) this.log.error({ nodes: rows.length }, alert);
        this.alerted = true;
      } else if (this.alerted) {
        this.alerted = false;
        this.log.info('agents answer again');
      }
      for (const n of rows) {
        if (n.status === 'down' || n.last_heartbeat_at === null) continue;
        const silent = now - Number(n.last_heartbeat_at);
        const next: NodeStatus = silent >= this.downAfterMs && !alert ? 'down' : silent >= this.suspectAfterMs ? 'suspect' : n.status;
        // Only if no heartbeat came since the row was read (another replica may have written one).
        if (next !== n.status && (await nodesRepo.setStatus(this.db, n.id, next, Date.now(), Number(n.last_heartbeat_at)))) {
          this.rows.set(n.id, { ...n, status: next });
          this.log.warn({ node: n.id, status: next, silentMs: silent }, 'node liveness changed');
        }
      }
    } catch (err) {
      this.log.warn({ err }, 'liveness check failed');
    }
  }
}
