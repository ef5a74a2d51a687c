// The fleet: agents join with the join token, the control plane dials each one, and node liveness follows
// their heartbeats (suspect after two missed beats, down after the TTL).
import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { Database, NodeRow } from '../db/schema.js';
import type { Sealer } from '../secrets/crypto.js';
import type { Logger } from '../logger.js';
import { credentialMatches } from '../../../proto/auth.js';
import { fromGrpcError } from '../../../proto/errors.js';
import { Conflict, Invalid, Unauthenticated, NotFound } from '../errors.js';
import { nodesRepo } from './nodes.repo.js';
import { AgentLink } from './agent-link.js';

export interface FleetOptions {
  heartbeatMs?: number;
  /** PEM of the CA (or self-signed certificate) agents' TLS certificates are checked against; unset → system roots. */
  agentCa?: Buffer | undefined;
  /** A node with no heartbeat for this long is `down` (the TTL). */
  downAfterMs?: number;
}

export interface NodeView {
  id: string;
  name: string;
  advertise: string;
  status: string;
  epoch: string | null;
  lastHeartbeatAt: string | null;
  capacity: { memoryBytes: number; cpus: number; maxContainers: number };
  usage: { containers: number; inFlight: number };
  limitsEnforced: boolean;
  limitNotes: string;
  rootless: boolean;
  tls: boolean;
  agentVersion: string;
}

export function toNodeView(n: NodeRow): NodeView {
  return {
    id: n.id,
    name: n.name,
    advertise: n.advertise,
    status: n.status,
    epoch: n.epoch,
    lastHeartbeatAt: n.last_heartbeat_at ? new Date(n.last_heartbeat_at).toISOString() : null,
    capacity: { memoryBytes: n.memory_bytes, cpus: n.cpus, maxContainers: n.max_containers },
    usage: { containers: n.containers, inFlight: n.in_flight },
    limitsEnforced: n.limits_enforced === 1,
    limitNotes: n.limit_notes,
    rootless: n.rootless === 1,
    tls: n.tls === 1,
    agentVersion: n.agent_version,
  };
}

const ADDRESS = /^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/;

/** A live line of a function's output, as it arrives from any agent. */
export interface LiveLogLine {
  executionId: string;
  atMs: number;
  level: string;
  stream: string;
  message: string;
}

export class Fleet {
  private readonly links = new Map<string, AgentLink>();
  /** Live function log lines from every agent, by function id (for `…/logs?follow=true`). */
  readonly logs = new EventEmitter();
  private liveness: NodeJS.Timeout | undefined;
  private readonly heartbeatMs: number;
  private readonly downAfterMs: number;
  private readonly agentCa: Buffer | undefined;

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
    this.logs.setMaxListeners(0);
  }

  async start(): Promise<void> {
    for (const n of await nodesRepo.list(this.db)) this.link(n.id, n.advertise, this.sealer.open(n.credential_sealed, `node:${n.id}`), n.tls === 1);
    this.liveness = setInterval(() => void this.checkLiveness(), Math.min(1000, this.heartbeatMs));
    this.liveness.unref();
  }

  stop(): void {
    clearInterval(this.liveness);
    for (const l of this.links.values()) l.close();
    this.links.clear();
  }

  /** An agent joins: returns its node id and the credential it must demand on every call. */
  async register(input: { joinToken: string; nodeId: string; name?: string | undefined; advertise: string; credential?: string | undefined; tls?: boolean | undefined }): Promise<{ nodeId: string; credential: string }> {
    if (!credentialMatches(this.joinToken, input.joinToken)) throw Unauthenticated('bad_join_token', 'the join token is not valid (see `cpub-server join-token`)');
    if (!ADDRESS.test(input.advertise)) throw Invalid('invalid_advertise', 'advertise must be host:port', { field: 'advertise' });
    if (!/^[A-Za-z0-9-]{8,64}$/.test(input.nodeId)) throw Invalid('invalid_node_id', 'nodeId must be 8–64 letters, digits or dashes', { field: 'nodeId' });
    // Re-joining an existing node (a restart, a new address) needs the credential it was given: the join
    // token alone must not let anyone take over a node and receive the calls meant for it.
    const existing = await nodesRepo.get(this.db, input.nodeId);
    if (existing && !credentialMatches(this.sealer.open(existing.credential_sealed, `node:${existing.id}`), input.credential)) {
      throw Conflict('node_exists', 'this node id is taken; re-joining needs the node’s current credential');
    }
    const credential = randomBytes(32).toString('base64url');
    await nodesRepo.upsert(
      this.db,
      { id: input.nodeId, name: input.name || input.advertise || hostname(), advertise: input.advertise, credentialSealed: this.sealer.seal(credential, `node:${input.nodeId}`), tls: Boolean(input.tls) },
      Date.now(),
    );
    this.log.info({ node: input.nodeId, advertise: input.advertise, tls: Boolean(input.tls) }, 'agent joined');
    this.link(input.nodeId, input.advertise, credential, Boolean(input.tls));
    return { nodeId: input.nodeId, credential };
  }

  async list(): Promise<NodeView[]> {
    return (await nodesRepo.list(this.db)).map(toNodeView);
  }

  async get(id: string): Promise<NodeView> {
    const n = await nodesRepo.get(this.db, id);
    if (!n) throw NotFound('node_not_found', 'no such node');
    return toNodeView(n);
  }

  private upRefresh: Promise<void> | undefined;
  private upCache: { at: number; ids: Set<string> } | undefined;

  /** The agents that can take work now (status up, connected), least busy first. */
  async available(): Promise<AgentLink[]> {
    // The nodes that are up, read at most every 500 ms by one query at a time; calls meanwhile use the last
    // answer (stale by a fraction of the heartbeat TTL), so the query is never on a warm call's path.
    if (!this.upCache || Date.now() - this.upCache.at > 500) {
      this.upRefresh ??= nodesRepo
        .list(this.db)
        .then((rows) => void (this.upCache = { at: Date.now(), ids: new Set(rows.filter((n) => n.status === 'up').map((n) => n.id)) }))
        .finally(() => (this.upRefresh = undefined));
      if (!this.upCache) await this.upRefresh;
      else this.upRefresh.catch(() => {}); // a failed refresh keeps the last answer; the next call tries again
    }
    const up = this.upCache!.ids;
    return [...this.links.values()].filter((l) => l.ready && up.has(l.nodeId)).sort((a, b) => a.inFlight - b.inFlight);
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

  private link(nodeId: string, advertise: string, credential: string, tls: boolean): void {
    this.links.get(nodeId)?.close();
    // An agent that joined over TLS is only ever dialled over TLS, checked against CPUB_AGENT_CA.
    const transport = tls ? grpc.credentials.createSsl(this.agentCa ?? null) : grpc.credentials.createInsecure();
    const l = new AgentLink(nodeId, advertise, credential, transport, this.db, this.log, this.heartbeatMs, (e) => {
      if (e.line) this.logs.emit(e.functionId, { executionId: e.invocationId, atMs: Number(e.line.atMs), level: e.line.level, stream: e.line.stream, message: e.line.message });
    });
    this.links.set(nodeId, l);
    l.start();
  }

  private async checkLiveness(now = Date.now()): Promise<void> {
    try {
      for (const n of await nodesRepo.list(this.db)) {
        if (n.status === 'down' || n.last_heartbeat_at === null) continue;
        const silent = now - n.last_heartbeat_at;
        const next = silent >= this.downAfterMs ? 'down' : silent >= 2 * this.heartbeatMs + 500 ? 'suspect' : n.status;
        if (next !== n.status) {
          await nodesRepo.setStatus(this.db, n.id, next, now);
          this.log.warn({ node: n.id, status: next, silentMs: silent }, 'node liveness changed');
        }
      }
    } catch (err) {
      this.log.warn({ err }, 'liveness check failed');
    }
  }
}
