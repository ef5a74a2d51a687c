// The control plane's connection to one agent: dial with the node credential, read Info, keep a Watch stream
// open, write heartbeats to the nodes table, and redial when the stream ends.
import * as grpc from '@grpc/grpc-js';
import { createAgentClient, type AgentClient } from '../../../proto/loader.js';
import { sendCredential } from '../../../proto/auth.js';
import { fromGrpcError } from '../../../proto/errors.js';
import type { Executor } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { nodesRepo } from './nodes.repo.js';

export class AgentLink {
  private client: AgentClient | undefined;
  private watch: grpc.ClientReadableStream<unknown> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  epoch: string | undefined;
  private lastDialError: string | undefined;

  constructor(
    readonly nodeId: string,
    private readonly advertise: string,
    private readonly credential: string,
    private readonly transport: grpc.ChannelCredentials,
    private readonly db: Executor,
    private readonly log: Logger,
    private readonly heartbeatMs: number,
  ) {}

  start(): void {
    void this.connect();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.watch?.cancel();
    this.client?.close();
  }

  private redial(afterMs = 1000): void {
    if (this.closed) return;
    this.watch?.cancel();
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
      if (this.epoch && this.epoch !== info.epoch) this.log.info({ node: this.nodeId, epoch: info.epoch }, 'agent restarted with a new epoch');
      this.epoch = info.epoch;
      this.lastDialError = undefined;
      await nodesRepo.report(
        this.db,
        this.nodeId,
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
        },
        info.draining ? 'draining' : 'up',
        Date.now(),
      );
      const watch = client.Watch({ heartbeatMs: this.heartbeatMs });
      this.watch = watch;
      watch.on('data', (e: { epoch: string; heartbeat?: { usage: { containers: number; inFlight: number } | null; draining: boolean } | null }) => {
        // Events from an agent epoch other than the one we read are stale: fence them off.
        if (e.epoch !== this.epoch) return this.redial(0);
        if (e.heartbeat) {
          const u = e.heartbeat.usage ?? { containers: 0, inFlight: 0 };
          void nodesRepo.heartbeat(this.db, this.nodeId, e.epoch, u, e.heartbeat.draining, Date.now()).catch((err) => this.log.warn({ err }, 'heartbeat write failed'));
        }
      });
      watch.on('error', (err) => {
        const e = fromGrpcError(err);
        if (e.code !== 'grpc_cancelled') this.log.warn({ node: this.nodeId, kind: e.kind, code: e.code }, 'agent watch stream ended');
        this.redial();
      });
      watch.on('end', () => this.redial());
    } catch (err) {
      const e = fromGrpcError(err);
      // Said once per new reason (a bad certificate, a refused connection), not once per retry.
      const level = e.detail === this.lastDialError ? 'debug' : 'warn';
      this.lastDialError = e.detail;
      this.log[level]({ node: this.nodeId, kind: e.kind, code: e.code, detail: e.detail }, 'agent not reachable; will retry');
      this.redial();
    }
  }
}
