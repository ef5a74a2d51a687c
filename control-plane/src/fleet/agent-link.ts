// The control plane's connection to one agent: dial with the node credential, read Info, keep a Watch stream
// open, send calls and builds, and redial when the stream ends. Transport only: what the agent reports (Info,
// heartbeats, log lines, its going away) is handed to the fleet service, which keeps the node's state.
import type { StartupCheck } from '../../../proto/generated/containerpub/agent/v1/StartupCheck.js';
import { createReadStream } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { createAgentClient, type AgentClient } from '../../../proto/loader.js';
import { sendCredential } from '../../../proto/auth.js';
import { fromGrpcError } from '../../../proto/errors.js';
import { fromWire } from '../../../proto/outcomes.js';
import type { Logger } from '../../../common/logger.js';
import type { NodeReport, NodeUsage } from './nodes.repo.js';
import { AppError } from '../errors.js';
import type { InvokeRequest } from '../../../proto/generated/containerpub/agent/v1/InvokeRequest.js';
import type { InvokeReply__Output } from '../../../proto/generated/containerpub/agent/v1/InvokeReply.js';
import type { BuildEvent__Output } from '../../../proto/generated/containerpub/agent/v1/BuildEvent.js';
import type { WatchEvent__Output } from '../../../proto/generated/containerpub/agent/v1/WatchEvent.js';
import type { Heartbeat__Output } from '../../../proto/generated/containerpub/agent/v1/Heartbeat.js';
import type { DrainReply__Output } from '../../../proto/generated/containerpub/agent/v1/DrainReply.js';
import type { WarmRequest } from '../../../proto/generated/containerpub/agent/v1/WarmRequest.js';
import type { StreamedBody } from './body-pump.js';
import { AgentLost, CallStream, NotSent, type LinkReply } from './call-stream.js';

export { AgentLost, NotSent, type LinkReply };


/** How a link remembers a version it has built (images are per function and digest). */
export const builtKey = (functionId: string, digest: string) => `${functionId}:${digest}`;

/** An agent's error as ours: its kind and code kept (internal and deadline become unavailable). */
function remoteError(err: unknown): AppError {
  const e = fromGrpcError(err);
  const kind = e.kind === 'internal' || e.kind === 'deadline_exceeded' ? 'unavailable' : e.kind;
  return new AppError(kind, e.code, e.detail);
}

/** What a link hands to the fleet service as the agent reports it. */
export interface LinkEvents {
  /** The agent's Info, read at every (re)connection: awaited before the Watch stream opens. */
  onInfo(report: NodeReport, status: 'up' | 'draining'): Promise<void>;
  /** A heartbeat: what the node holds now. */
  onHeartbeat(epoch: string, usage: NodeUsage, draining: boolean): void;
  /** Live function log lines from the agent's Watch stream. */
  onLog?(log: FunctionLog): void;
  /** The agent was connected and now refuses connections: its process is gone (not merely slow). */
  onGone?(): void;
}

/**
 * The problem an InvokeStream reply carries when the agent could not run the call at all (what a unary Invoke
 * would have thrown): a refusal of the request stays `invalid`; anything else is the node being unable (503).
 */
export function replyProblem(reply: InvokeReply__Output): AppError | undefined {
  const p = reply.problem;
  return p ? new AppError(p.kind === 'invalid' ? 'invalid' : 'unavailable', p.code, p.detail) : undefined;
}

export interface FunctionLog {
  functionId: string;
  version: number;
  invocationId: string;
  line: { atMs: number | string; stream: string; level: string; message: string } | null;
}

export class AgentLink {
  private client: AgentClient | undefined;
  private watch: grpc.ClientReadableStream<unknown> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  epoch: string | undefined;
  private lastDialError: string | undefined;
  /** The calls on this agent: one long-lived call stream. */
  private readonly calls: CallStream;
  /** `<function id>:<digest>` of the versions this agent has built (this epoch): others need a Build first. */
  readonly built = new Set<string>();
  /** What placement needs, from Info and the heartbeats (plus what this control plane sent since the last one). */
  capacity = { memoryBytes: 0, maxContainers: 0 };
  /** The runtimes the agent can build functions on (its Info): placement sends a version only where its runtime is. */
  runtimes: ReadonlySet<string> = new Set(['node']);
  /** The agent serves Calls (its call stream's messages in batches); an older one, InvokeStream only. */
  private callBatches = false;
  reservedBytes = 0;
  containers = 0;
  /** Warm containers per `<function id>@<version>` (last heartbeat, plus cold starts answered since). */
  readonly warm = new Map<string, number>();
  /** Calls this control plane has on the node per `<function id>@<version>`. */
  readonly callsOf = new Map<string, number>();

  /** Calls on this agent not answered yet. */
  get inFlight(): number {
    return this.calls.inFlight;
  }

  /** Connected, with an epoch read from Info and a Watch open. */
  get ready(): boolean {
    return Boolean(this.client && this.epoch && this.watch);
  }

  /**
   * Runs one call on the agent, as a message on the link's one long-lived InvokeStream (a unary gRPC call
   * costs ≈1 ms here). Rejects with agent_lost when the stream breaks or no reply comes by the deadline
   * (plus a grace second): never a hang.
   */
  invoke(req: InvokeRequest & { invocationId: string; deadlineMs: number; functionId: string; version: number }, memoryBytes = 0, body?: StreamedBody): Promise<LinkReply> {
    if (!this.client || !this.epoch) return Promise.reject(NotSent(`node ${this.nodeId} is not connected`));
    const fv = `${req.functionId}@${req.version}`;
    const warmFree = this.warmFree(fv, Number(req.limits?.concurrency ?? 1));
    if (warmFree <= 0) {
      // A new container is likely: count it until the next heartbeat says what the node really holds.
      this.reservedBytes += memoryBytes;
      this.containers++;
    }
    this.callsOf.set(fv, (this.callsOf.get(fv) ?? 0) + 1);
    const done = () => {
      const n = (this.callsOf.get(fv) ?? 1) - 1;
      if (n) this.callsOf.set(fv, n);
      else this.callsOf.delete(fv);
    };
    return this.calls.send(this.client, this.epoch, this.callBatches, req, body).then(
      (r) => {
        // A streamed answer holds its container until its end.
        if (r.stream) {
          void r.stream.ended.then(
            (end) => {
              done();
              if (end.timings?.coldStart && fromWire(end.outcome) === 'ok') this.warm.set(fv, (this.warm.get(fv) ?? 0) + 1);
            },
            done,
          );
          return r;
        }
        done();
        if (r.timings?.coldStart && fromWire(r.outcome) === 'ok') this.warm.set(fv, (this.warm.get(fv) ?? 0) + 1);
        return r;
      },
      (err) => {
        done();
        throw err;
      },
    );
  }

  /** Free warm slots of a version on this node, as far as this control plane knows. */
  warmFree(fv: string, concurrency: number): number {
    return (this.warm.get(fv) ?? 0) * Math.max(1, concurrency) - (this.callsOf.get(fv) ?? 0);
  }

  /**
   * Sets the warm floor of a version on this agent (count 0 ends it), held for `holdMs` unless renewed; resolves
   * with how many of its containers are live there once the agent has started what it could.
   */
  warmFloor(req: WarmRequest & { functionId: string; version: number; count: number }): Promise<{ ready: number; shortfall: string }> {
    const client = this.client;
    if (!client || !this.epoch) return Promise.reject(NotSent(`node ${this.nodeId} is not connected`));
    return new Promise((resolve, reject) =>
      client.Warm(req, { deadline: Date.now() + 10_000 }, (err, r) => (err ? reject(remoteError(err)) : resolve({ ready: r!.ready, shortfall: r!.shortfall }))),
    );
  }

  /** Containers of each version this agent holds for a warm floor (last heartbeat). */
  readonly floors = new Map<string, number>();

  /** Drops a function's containers and images on this agent. */
  remove(functionId: string): Promise<void> {
    const client = this.client;
    if (!client) return Promise.resolve();
    return new Promise((resolve, reject) => client.Remove({ functionId, version: 0 }, { deadline: Date.now() + 30_000 }, (err) => (err ? reject(remoteError(err)) : resolve())));
  }

  /**
   * Builds an artifact on this agent: streams it in, log lines out; resolves the image. Fails (never hangs)
   * when the agent goes away mid-upload or the artifact cannot be read; the call is cancelled then.
   */
  async build(b: { functionId: string; version: number; digest: string; sizeBytes: number; file: string; timeoutMs: number; startupCheck?: StartupCheck }, onLog: (line: string) => void): Promise<{ image: string; cached: boolean }> {
    const client = this.client;
    if (!client) throw NotSent(`node ${this.nodeId} is not connected`);
    const call = client.Build({ deadline: Date.now() + b.timeoutMs + 30_000 });
    let result: { image: string; cached: boolean } | undefined;
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (e: BuildEvent__Output) => {
        if (e.log) onLog(e.log.line);
        if (e.result) result = { image: e.result.image, cached: e.result.cached };
      });
      call.on('end', resolve);
      call.on('error', (err) => reject(remoteError(err)));
    });
    const upload = async () => {
      call.write({ header: { functionId: b.functionId, version: b.version, digest: b.digest, sizeBytes: b.sizeBytes, timeoutMs: b.timeoutMs, startupCheck: b.startupCheck } });
      for await (const chunk of createReadStream(b.file, { highWaterMark: 64 * 1024 })) {
        // A call that fails while we wait for room ends the wait (done rejects) instead of waiting forever.
        if (!call.write({ chunk })) await Promise.race([new Promise((r) => call.once('drain', r)), done]);
      }
      call.end();
    };
    try {
      await Promise.all([upload(), done]);
    } catch (err) {
      call.cancel();
      if (err instanceof AppError) throw err;
      // Our side failed (the artifact unreadable): the details, paths included, go to the log only.
      this.log.error({ err, node: this.nodeId, functionId: b.functionId, version: b.version }, 'sending a build failed');
      throw new AppError('unavailable', 'build_failed', `the build on node ${this.nodeId} could not be sent; the server log says why`);
    }
    if (!result) throw AgentLost(`node ${this.nodeId} ended the build without a result`);
    this.built.add(builtKey(b.functionId, b.digest));
    return result;
  }

  constructor(
    readonly nodeId: string,
    readonly advertise: string,
    private readonly credential: string,
    /** The credential as stored: a change (the node re-joined through another replica) means a new link. */
    readonly sealedCredential: string,
    private readonly transport: grpc.ChannelCredentials,
    private readonly log: Logger,
    private readonly heartbeatMs: number,
    private readonly events: LinkEvents,
    /** When the node row this link was made from was written (a re-join makes a newer one). */
    readonly since = 0,
  ) {
    this.calls = new CallStream(nodeId);
  }

  start(): void {
    void this.connect();
  }

  close(): void {
    this.closed = true;
    this.calls.close(`node ${this.nodeId} was closed`);
    clearTimeout(this.retry);
    this.watch?.cancel();
    this.watch = undefined;
    this.client?.close();
    this.client = undefined; // not `ready` any more: placement skips it, a call on it is NotSent
  }

  private onHeartbeat(epoch: string, h: Heartbeat__Output): void {
    const u = h.usage;
    this.reservedBytes = Number(u?.memoryReservedBytes ?? 0);
    this.containers = u?.containers ?? 0;
    this.warm.clear();
    this.floors.clear();
    for (const w of h.warm) {
      if (w.idle + w.busy > 0) this.warm.set(`${w.functionId}@${w.version}`, w.idle + w.busy);
      if (w.floor > 0) this.floors.set(`${w.functionId}@${w.version}`, w.floor);
    }
    const warm = h.warm.filter((w) => w.idle + w.busy + w.floor > 0).map((w) => ({ functionId: w.functionId, version: w.version, idle: w.idle, busy: w.busy, floor: w.floor, keepAliveMs: w.keepAliveMs, prewarmMs: w.prewarmMs, learned: w.learned }));
    this.events.onHeartbeat(epoch, { containers: this.containers, inFlight: u?.inFlight ?? 0, memoryBytes: Number(u?.memoryBytes ?? 0), reservedBytes: this.reservedBytes, diskBytes: Number(u?.diskBytes ?? 0), diskUsedBytes: Number(u?.diskUsedBytes ?? 0), warm }, h.draining);
  }

  /** Asks the agent to finish its calls and take no new ones (`undo`: take calls again). */
  drain(undo: boolean): Promise<{ inFlight: number; drained: boolean }> {
    const client = this.client;
    if (!client || !this.epoch) return Promise.reject(NotSent(`node ${this.nodeId} is not connected`));
    return new Promise((resolve, reject) => {
      const cb = (err: grpc.ServiceError | null, r?: DrainReply__Output) => (err ? reject(remoteError(err)) : resolve({ inFlight: r!.inFlight, drained: r!.drained }));
      if (undo) client.Undrain({}, { deadline: Date.now() + 10_000 }, cb);
      else client.Drain({ wait: false }, { deadline: Date.now() + 10_000 }, cb);
    });
  }

  private redial(afterMs = 1000): void {
    if (this.closed) return;
    this.calls.close(`lost the connection to node ${this.nodeId}`);
    this.watch?.cancel();
    this.watch = undefined;
    this.client?.close();
    this.client = undefined;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.connect(), afterMs);
    this.retry.unref();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = createAgentClient(this.advertise, this.transport, { interceptors: [sendCredential(this.credential)] });
    this.client = client;
    try {
      const info = await new Promise<import('../../../proto/generated/containerpub/agent/v1/InfoReply.js').InfoReply__Output>((resolve, reject) =>
        client.Info({}, { deadline: Date.now() + 5000 }, (err, r) => (err ? reject(err) : resolve(r!))),
      );
      if (this.epoch && this.epoch !== info.epoch) {
        this.log.info({ node: this.nodeId, epoch: info.epoch }, 'agent restarted with a new epoch');
        this.built.clear();
        this.calls.failAll(`node ${this.nodeId} restarted`);
      }
      this.epoch = info.epoch;
      this.lastDialError = undefined;
      this.capacity = { memoryBytes: Number(info.capacity?.memoryBytes ?? 0), maxContainers: info.capacity?.maxContainers ?? 0 };
      // An agent from before runtimes were listed runs Node's only.
      const runtimes = info.runtimes?.length ? info.runtimes.map((r) => r.name) : ['node'];
      this.runtimes = new Set(runtimes);
      this.callBatches = info.callBatches;
      this.reservedBytes = Number(info.usage?.memoryReservedBytes ?? 0);
      this.containers = info.usage?.containers ?? 0;
      await this.events.onInfo(
        {
          epoch: info.epoch,
          memoryBytes: Number(info.capacity?.memoryBytes ?? 0),
          cpus: info.capacity?.cpus ?? 0,
          maxContainers: info.capacity?.maxContainers ?? 0,
          containers: info.usage?.containers ?? 0,
          inFlight: info.usage?.inFlight ?? 0,
          limitsEnforced: info.limitsEnforced,
          limitNotes: info.limitNotes,
          rootless: info.rootless,
          agentVersion: info.agentVersion,
          runtimes,
        },
        info.draining ? 'draining' : 'up',
      );
      const watch = client.Watch({ heartbeatMs: this.heartbeatMs });
      this.watch = watch;
      watch.on('data', (e: WatchEvent__Output) => {
        // Events from an agent epoch other than the one we read are stale: fence them off.
        if (e.epoch !== this.epoch) return this.redial(0);
        if (e.log) this.events.onLog?.(e.log);
        if (e.heartbeat) this.onHeartbeat(e.epoch, e.heartbeat);
      });
      watch.on('error', (err) => {
        const e = fromGrpcError(err);
        if (e.code !== 'grpc_cancelled') this.log.warn({ node: this.nodeId, kind: e.kind, code: e.code }, 'agent watch stream ended');
        this.redial();
      });
      watch.on('end', () => this.redial());
    } catch (err) {
      const e = fromGrpcError(err);
      // A refused connection after a live one: nothing listens at the address any more (kill -9, a crash).
      // That is known now, not after the heartbeat TTL (which still covers hung agents and partitions).
      if (this.epoch && !this.closed && /ECONNREFUSED/.test(e.detail)) this.events.onGone?.();
      // Said once per new reason (a bad certificate, a refused connection), not once per retry.
      const level = e.detail === this.lastDialError ? 'debug' : 'warn';
      this.lastDialError = e.detail;
      this.log[level]({ node: this.nodeId, kind: e.kind, code: e.code, detail: e.detail }, 'agent not reachable; will retry');
      this.redial();
    }
  }
}
