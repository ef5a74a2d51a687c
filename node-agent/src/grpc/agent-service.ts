// The Agent gRPC service: turns Build, Invoke, Remove, Watch, Drain and Info into work on the pools and the
// container runtime. Handlers translate messages; errors leave as kinds and codes (proto/errors.ts).
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { agentServiceDefinition } from '../../../proto/loader.js';
import { toGrpcError } from '../../../proto/errors.js';
import type { AgentHandlers } from '../../../proto/generated/containerpub/agent/v1/Agent.js';
import type { BuildRequest__Output } from '../../../proto/generated/containerpub/agent/v1/BuildRequest.js';
import type { BuildEvent } from '../../../proto/generated/containerpub/agent/v1/BuildEvent.js';
import type { WatchEvent } from '../../../proto/generated/containerpub/agent/v1/WatchEvent.js';
import type { InvokeRequest__Output } from '../../../proto/generated/containerpub/agent/v1/InvokeRequest.js';
import type { InvokeReply } from '../../../proto/generated/containerpub/agent/v1/InvokeReply.js';
import type { CallBatch__Output } from '../../../proto/generated/containerpub/agent/v1/CallBatch.js';
import { Batcher } from '../../../common/batcher.js';
import type { Limits__Output } from '../../../proto/generated/containerpub/agent/v1/Limits.js';
import type { EnvVar__Output } from '../../../proto/generated/containerpub/agent/v1/EnvVar.js';
import type { CallResult, FunctionSpec, StreamControl, StreamSink } from '../pool/types.js';
import { SpanKind, contextFrom, endSpan, nowMs, pastSpan, startSpan, traceparentOf, tracingOn, type Span } from '../../../common/tracing.js';
import { StartError } from '../pool/warm-container.js';
import { Inbound } from '../pool/stream-relay.js';
import { Runtimes } from '../images/runtimes.js';
import type { ContainerRuntime } from '../runtime/container-runtime.js';
import { buildFunctionImage, bundleFor, removeBundles, LABELS } from '../images/function-image.js';
import { execFile } from 'node:child_process';
import type { Pools } from '../pool/pools.js';
import { AgentError } from '../errors.js';
import type { Logger } from '../../../common/logger.js';
import { httpStatusOf, toWire } from '../../../proto/outcomes.js';

/** Messages queued on one Watch stream past which log lines and samples are dropped for it. */
const WATCH_BACKLOG = 1000;

export interface NodeFacts {
  nodeId: string;
  epoch: string;
  agentVersion: string;
  podmanVersion: string;
  ociRuntime: string;
  cgroupVersion: string;
  rootless: boolean;
  limitsEnforced: boolean;
  limitNotes: string[];
  runtimeImage: string;
  capacity: { memoryBytes: number; cpus: number; maxContainers: number };
  /** The container storage's folder: its file system's fill is in the heartbeats (disk alerts). */
  storageDir: string;
}

export interface AgentServiceDeps {
  facts: NodeFacts;
  runtime: ContainerRuntime;
  pools: Pools;
  dataDir: string;
  log: Logger;
  /** The runtimes functions may name; default: Node's only (the runtime image), and Python where the host has it. */
  runtimes?: Runtimes;
}

type WatchCall = grpc.ServerWritableStream<unknown, WatchEvent>;

/** Present in the data folder while the node is drained: a restart (maintenance, an upgrade) keeps it drained. */
const DRAINING_FILE = 'draining';

export class AgentService {
  private draining: boolean;
  /** Builds under way by `<function id>:<digest>`. */
  private readonly buildsUnderWay = new Map<string, ReturnType<typeof buildFunctionImage>>();
  /** Images known to exist here: asking Podman on every Invoke costs ≈10 ms. Dropped by Remove. */
  private readonly images = new Set<string>();
  private readonly watchers = new Set<WatchCall>();

  private readonly runtimes: Runtimes;

  constructor(private readonly d: AgentServiceDeps) {
    this.runtimes = d.runtimes ?? new Runtimes({ runtime: d.runtime, dataDir: d.dataDir, nodeImage: d.facts.runtimeImage, operator: {}, onImage: (name, image) => d.pools.setRuntimeImage(name, image) });
    this.draining = existsSync(join(d.dataDir, DRAINING_FILE));
    if (this.draining) d.log.warn('this node was drained before it restarted: it takes no calls until it is undrained');
  }

  /** Drains or undrains, and remembers it across restarts. */
  private setDraining(on: boolean): void {
    // Written first: a failure leaves the node as it was, and the caller gets the error.
    if (on) writeFileSync(join(this.d.dataDir, DRAINING_FILE), `${new Date().toISOString()}\n`);
    else rmSync(join(this.d.dataDir, DRAINING_FILE), { force: true });
    this.draining = on;
  }

  addToServer(server: grpc.Server): void {
    server.addService(agentServiceDefinition(), this.handlers());
  }

  /** For the pools' live log hook: every call's line goes to every watcher. */
  publishLog(functionId: string, version: number, invocationId: string, line: { atMs: number; stream: string; level: string; message: string }): void {
    this.broadcast({ log: { functionId, version, invocationId, line } });
  }

  publishExit(functionId: string, version: number, containerId: string, state: { exitCode: number; oomKilled: boolean }): void {
    this.broadcast({ exit: { atMs: Date.now(), functionId, version, containerId, exitCode: state.exitCode, oomKilled: state.oomKilled } });
  }

  closeWatchers(): void {
    for (const w of this.watchers) w.end();
    this.watchers.clear();
  }

  /**
   * Live log lines and exits to every Watch. A control plane that reads too slowly gets no more log lines
   * until it catches up (they are dropped, not queued without bound); exits are always sent.
   */
  private broadcast(event: Omit<WatchEvent, 'epoch'>): void {
    for (const w of this.watchers) {
      if (event.log && w.writableLength > WATCH_BACKLOG) {
        this.droppedLogLines++;
        continue;
      }
      w.write({ epoch: this.d.facts.epoch, ...event });
    }
  }

  private droppedLogLines = 0;
  private lastCpu: { atMs: number; cpuMs: number } | undefined;

  /** Containers, calls in flight, memory in use (sum of the containers' cgroups) and CPU since last asked. */
  private usage(samples = this.d.pools.samples()) {
    const now = Date.now();
    const cpuMs = samples.reduce((n, s) => n + s.cpuMs, 0);
    const last = this.lastCpu;
    // The baseline moves at most once a second: several readers (a Watch per replica, `status`) do not each
    // see the few milliseconds since another one asked.
    if (!last || now - last.atMs >= 1000) this.lastCpu = { atMs: now, cpuMs };
    const cpuPercent = last && now > last.atMs ? Math.max(0, ((cpuMs - last.cpuMs) / (now - last.atMs) / this.d.facts.capacity.cpus) * 100) : 0;
    return {
      containers: this.d.pools.totalContainers,
      inFlight: this.d.pools.callsInFlight,
      memoryBytes: samples.reduce((n, s) => n + s.memoryBytes, 0),
      memoryReservedBytes: this.d.pools.reservedBytes(),
      cpuPercent: Math.round(cpuPercent * 10) / 10,
      ...this.disk(now),
    };
  }

  private diskAt: { atMs: number; diskBytes: number; diskUsedBytes: number } | undefined;
  /** The storage's file system, looked at every 10 s at most. */
  private disk(now: number): { diskBytes: number; diskUsedBytes: number } {
    if (!this.diskAt || now - this.diskAt.atMs >= 10_000) {
      try {
        const s = statfsSync(this.d.facts.storageDir);
        this.diskAt = { atMs: now, diskBytes: s.blocks * s.bsize, diskUsedBytes: (s.blocks - s.bavail) * s.bsize };
      } catch {
        this.diskAt = { atMs: now, diskBytes: 0, diskUsedBytes: 0 };
      }
    }
    return { diskBytes: this.diskAt.diskBytes, diskUsedBytes: this.diskAt.diskUsedBytes };
  }

  private info() {
    const f = this.d.facts;
    return {
      epoch: f.epoch,
      nodeId: f.nodeId,
      agentVersion: f.agentVersion,
      podmanVersion: f.podmanVersion,
      ociRuntime: f.ociRuntime,
      cgroupVersion: f.cgroupVersion,
      capacity: f.capacity,
      usage: this.usage(),
      limitsEnforced: f.limitsEnforced,
      limitNotes: f.limitNotes,
      rootless: f.rootless,
      runtimeImage: f.runtimeImage,
      draining: this.draining,
      runtimes: this.runtimes.list(),
      callBatches: true,
    };
  }

  private handlers(): AgentHandlers {
    const f = this.d.facts;
    return {
      // Asks Podman whether the runtime image is still there (someone may have removed it): ≈10 ms, and Info
      // is called when a server connects, not per call.
      Info: (_call, cb) =>
        void this.d.runtime.imageExists(f.runtimeImage).then(
          (present) => cb(null, { ...this.info(), runtimeImagePresent: present }),
          (err) => cb(toGrpcError(err, f.epoch)),
        ),

      // A streaming call ends with an error status by emitting it (grpc-js).
      Build: (call) => void this.build(call).catch((err) => call.emit('error', toGrpcError(err, f.epoch))),

      Invoke: (call, cb) => void this.invoke(call.request).then((r) => cb(null, r), (err) => cb(toGrpcError(err, f.epoch))),

      InvokeStream: (call) =>
        this.serveCalls(
          (take) => call.on('data', take),
          (reply) => call.write(reply),
          () => call.end(),
          call,
        ),

      // InvokeStream's messages in batches: the replies of one turn of the event loop go together (common/batcher.ts).
      Calls: (call) => {
        const out = new Batcher<InvokeReply>((replies) => call.write({ replies }), replyBytes);
        this.serveCalls(
          (take) => call.on('data', (batch: CallBatch__Output) => batch.calls.forEach(take)),
          (reply, alone) => out.push(reply, alone),
          () => (out.flush(), call.end()),
          call,
        );
      },

      Remove: (call, cb) =>
        void (async () => {
          const { functionId, version } = call.request;
          for (const img of this.images) if (img.includes(`/fn-${functionId.toLowerCase()}:`)) this.images.delete(img);
          const containers = await this.d.pools.removeFunction(functionId, version);
          removeBundles(this.d.dataDir, functionId, version);
          const left = await this.d.runtime.list({ [LABELS.managed]: 'true', [LABELS.function]: functionId });
          for (const c of left) if (!version || c.labels[LABELS.version] === String(version)) await this.d.runtime.remove(c.id);
          const images = await this.d.runtime.removeImages({
            [LABELS.managed]: 'true',
            [LABELS.function]: functionId,
            ...(version ? { [LABELS.version]: String(version) } : {}),
          });
          return { epoch: f.epoch, containersRemoved: containers, imagesRemoved: images };
        })().then((r) => cb(null, r), (err) => cb(toGrpcError(err, f.epoch))),

      Watch: (call) => {
        const every = Math.min(Math.max(call.request.heartbeatMs || 1000, 100), 30_000);
        this.watchers.add(call);
        const beat = () => {
          const at = Date.now();
          const samples = this.d.pools.samples();
          call.write({ epoch: f.epoch, heartbeat: { atMs: at, usage: this.usage(samples), warm: this.d.pools.warmCounts(), draining: this.draining } });
          if (call.writableLength > WATCH_BACKLOG) return; // samples wait for a reader that keeps up
          for (const s of samples) call.write({ epoch: f.epoch, sample: { atMs: at, ...s } });
          if (this.droppedLogLines) {
            this.d.log.warn({ dropped: this.droppedLogLines }, 'live log lines dropped: a Watch reader is not keeping up');
            this.droppedLogLines = 0;
          }
        };
        beat();
        const timer = setInterval(beat, every);
        const done = () => {
          clearInterval(timer);
          this.watchers.delete(call);
        };
        call.on('cancelled', done);
        call.on('close', done);
        call.on('error', done);
      },

      Drain: (call, cb) =>
        void (async () => {
          this.setDraining(true);
          if (call.request.wait) await this.d.pools.idle();
          return { epoch: f.epoch, inFlight: this.d.pools.callsInFlight, drained: this.d.pools.callsInFlight === 0 };
        })().then((r) => cb(null, r), (err) => cb(toGrpcError(err, f.epoch))),

      Warm: (call, cb) =>
        void (async () => {
          const req = call.request;
          if (req.count === 0) return { epoch: f.epoch, ready: this.d.pools.endFloor(req.functionId, req.version), shortfall: '' };
          if (this.draining) return { epoch: f.epoch, ready: 0, shortfall: 'the node is draining' };
          await this.haveImage(req.image);
          const spec = specOf(req.functionId, req.functionName, req.version, req.image, req.limits, req.env);
          const r = this.d.pools.warm(spec, req.count, Math.min(Math.max(req.holdMs || 30_000, 1000), 600_000));
          return { epoch: f.epoch, ...r };
        })().then((r) => cb(null, r), (err) => cb(toGrpcError(err, f.epoch))),

      Undrain: (_call, cb) => {
        if (this.draining) this.d.log.info('draining ended: taking calls again');
        try {
          this.setDraining(false);
        } catch (err) {
          return cb(toGrpcError(err, f.epoch));
        }
        cb(null, { epoch: f.epoch, inFlight: this.d.pools.callsInFlight, drained: false });
      },
    };
  }

  /**
   * One control plane's call stream (InvokeStream, or Calls in batches): each request a call — or, for a call already
   * sent, credit, a cancel, or its streaming body's next part — and its replies written as they come.
   */
  private serveCalls(onRequest: (take: (req: InvokeRequest__Output) => void) => void, write: (reply: InvokeReply, alone: boolean) => void, end: () => void, call: grpc.ServerDuplexStream<unknown, unknown>): void {
    const f = this.d.facts;
    let open = 0;
    let ended = false;
    const done = () => ended && open === 0 && end();
    // A reply of the one call in flight goes at once; others may wait for the end of the turn (a batch).
    const send = (reply: InvokeReply) => write(reply, open <= 1);
    /** This stream's calls whose answers are streaming: credit and cancels from the control plane go to them. */
    const flowing = new Map<string, StreamControl>();
    /** This stream's calls whose request bodies are streaming in: their chunks and ends go to them. */
    const incoming = new Map<string, Inbound>();
    onRequest((req: InvokeRequest__Output) => {
      if (req.credit || req.cancel || req.bodyChunk.length || req.bodyEnd || req.bodyError) {
        const flow = flowing.get(req.invocationId);
        if (req.credit) flow?.grant(req.credit);
        if (req.cancel) flow?.cancel();
        const body = incoming.get(req.invocationId);
        if (req.bodyChunk.length) body?.push(req.bodyChunk);
        if (req.bodyEnd || req.bodyError) {
          body?.end(req.bodyError || undefined);
          incoming.delete(req.invocationId);
        }
        return;
      }
      open++;
      // A large request body streams in after the call: the function's credit for it goes back as PART_CREDIT.
      const bodyStream = req.bodyFollows ? new Inbound((credit) => send({ epoch: f.epoch, invocationId: req.invocationId, part: 'PART_CREDIT', credit })) : undefined;
      if (bodyStream) incoming.set(req.invocationId, bodyStream);
      // A streamed answer goes out in parts: its head, its chunks as they come (within the control plane's
      // credit), then its end (the reply below).
      const sink: StreamSink = {
        head: (status, headers, control, first, timings) => {
          flowing.set(req.invocationId, control);
          send({ epoch: f.epoch, invocationId: req.invocationId, part: 'PART_HEAD', status, headers: headers.map(([name, value]) => ({ name, value })), body: first, timings });
        },
        chunk: (data) => send({ epoch: f.epoch, invocationId: req.invocationId, part: 'PART_CHUNK', body: data }),
      };
      void this.invoke(req, sink, bodyStream)
        .then(
          (r) => send({ ...r, invocationId: req.invocationId, ...(flowing.delete(req.invocationId) ? { part: 'PART_END', status: 0, headers: [], body: Buffer.alloc(0) } : {}) }),
          (err) => {
            const e = err as Partial<AgentError>;
            const problem = e instanceof AgentError ? { kind: e.kind, code: e.code, detail: e.detail } : { kind: 'internal', code: 'internal_error', detail: 'internal error on the agent' };
            if (!(e instanceof AgentError)) this.d.log.error({ err }, 'invoke failed');
            send({ epoch: f.epoch, invocationId: req.invocationId, problem });
          },
        )
        .finally(() => {
          flowing.delete(req.invocationId);
          incoming.delete(req.invocationId);
          open--;
          done();
        });
    });
    call.on('end', () => {
      ended = true;
      done();
    });
    call.on('error', () => {});
    // The control plane went away: nobody reads these answers any more.
    call.on('close', () => {
      for (const flow of flowing.values()) flow.cancel();
      for (const body of incoming.values()) body.end('the control plane went away');
    });
  }

  private async build(call: grpc.ServerDuplexStream<BuildRequest__Output, BuildEvent>): Promise<void> {
    const epoch = this.d.facts.epoch;
    mkdirSync(join(this.d.dataDir, 'build'), { recursive: true });
    const dir = mkdtempSync(join(this.d.dataDir, 'build', 'upload-'));
    try {
      const file = join(dir, 'artifact.tar.gz');
      const out = createWriteStream(file);
      const hash = createHash('sha256');
      let header: BuildRequest__Output['header'] | undefined;
      let size = 0;
      // Events, not `for await`: grpc-js server streams do not end their async iterator.
      await new Promise<void>((resolve, reject) => {
        call.on('data', (msg: BuildRequest__Output) => {
          if (msg.header) return void (header = msg.header);
          if (!msg.chunk) return;
          if (!header) return reject(new AgentError('invalid', 'build_header_missing', 'the first Build message must be the header'));
          size += msg.chunk.length;
          if (size > Number(header.sizeBytes)) return reject(new AgentError('invalid', 'artifact_size_mismatch', 'more bytes than the header announced'));
          hash.update(msg.chunk);
          if (!out.write(msg.chunk)) {
            call.pause();
            out.once('drain', () => call.resume());
          }
        });
        call.on('end', resolve);
        call.on('error', reject);
        out.on('error', reject);
      });
      await new Promise<void>((resolve, reject) => {
        out.once('error', reject);
        out.end(() => resolve());
      });
      if (!header) throw new AgentError('invalid', 'build_header_missing', 'no Build header received');
      const digest = hash.digest('hex');
      if (digest !== header.digest) throw new AgentError('invalid', 'digest_mismatch', `artifact sha256 is ${digest}, header says ${header.digest}`);
      const t0 = Date.now();
      // One build per function and digest at a time: a second Build of it (another control-plane replica,
      // a retry) waits for the one under way and answers with its image.
      const key = `${header.functionId}:${digest}`;
      const under = this.buildsUnderWay.get(key);
      const log = (line: string) => call.write({ epoch, log: { atMs: Date.now(), line } });
      let r: Awaited<ReturnType<typeof buildFunctionImage>>;
      if (under) {
        log('the same version is being built for another request: waiting for it');
        r = { ...(await under), cached: true };
      } else {
        const build = buildFunctionImage(
          this.d.runtime,
          this.d.dataDir,
          { functionId: header.functionId, version: header.version, digest, artifactPath: file, runtimeImage: this.d.facts.runtimeImage, runtimeImageFor: (name) => this.runtimes.imageFor(name, log), timeoutMs: header.timeoutMs || 300_000 },
          log,
        );
        this.buildsUnderWay.set(key, build);
        try {
          r = await build;
        } finally {
          this.buildsUnderWay.delete(key);
        }
      }
      this.images.add(r.image);
      const check = header.startupCheck;
      if (check) await this.startupCheck(specOf(header.functionId, check.functionName, header.version, r.image, check.limits, check.env), log);
      call.write({ epoch, result: { image: r.image, imageId: r.imageId, cached: r.cached, durationMs: Date.now() - t0 } });
      call.end();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Starts the new version once (its limits, isolation and env) so its entry is imported: a module that throws
   * while loading, or exports no handler, fails the build here, with the error and where it happened, instead
   * of failing every call once it is live. The container stays warm for the first call.
   */
  private async startupCheck(spec: FunctionSpec, log: (line: string) => void): Promise<void> {
    log(`startup check: starting version ${spec.version} once and importing its entry`);
    try {
      const deadline = Date.now() + STARTUP_CHECK_MS;
      const r = await this.d.pools.prepare(spec, deadline).catch(async (err: Error) => {
        // The engine failing the start, or a container gone without a word (a load failure too fast for its log
        // connection), may be passing: once more, to tell which and to hear why.
        if (err instanceof AgentError || (err instanceof StartError && (err.log.length > 0 || err.outcome !== 'crashed'))) throw err;
        log(`startup check: ${err instanceof StartError ? 'the container exited without a word' : `the engine failed to start the container (${err.message})`}; trying once more`);
        return this.d.pools.prepare(spec, deadline);
      });
      log(`startup check passed in ${r.ms} ms${r.prewarmed ? ' (on a prewarmed container)' : ''}; the container stays warm`);
    } catch (err) {
      const lines = err instanceof StartError ? err.log.map((l) => l.message) : [];
      for (const line of lines) for (const part of line.split('\n')) log(`  ${part}`);
      // An import() that fails to parse says what but not where: `node --check` (parse only) on the bundle does.
      const where = failedAt(lines) ?? (await syntaxErrorAt(bundleFor(this.d.dataDir, spec.image)));
      throw new AgentError('invalid', 'startup_failed', `the startup check failed: ${firstError(lines) ?? (err as Error).message}${where ? ` (at ${where})` : ''}`);
    }
  }

  /** Throws image_missing unless the image is built here (the control plane then sends Build). */
  private async haveImage(image: string): Promise<void> {
    if (this.images.has(image)) return;
    if (!(await this.d.runtime.imageExists(image))) throw new AgentError('not_found', 'image_missing', `image ${image} is not built on this node; send Build first`);
    this.images.add(image);
  }

  private async invoke(req: InvokeRequest__Output, stream?: StreamSink, bodyStream?: Inbound) {
    const f = this.d.facts;
    if (this.draining) {
      return { epoch: f.epoch, outcome: toWire('rejected'), status: httpStatusOf('rejected'), error: 'the node is draining', headers: [], logs: [] };
    }
    await this.haveImage(req.image);
    if (this.draining) return { epoch: f.epoch, outcome: toWire('rejected'), status: httpStatusOf('rejected'), error: 'the node is draining', headers: [], logs: [] };
    const spec = specOf(req.functionId, req.functionName, req.version, req.image, req.limits, req.env);
    const headers = (req.request?.headers ?? []).map((h) => [h.name, h.value] as [string, string]);
    // A traced call (the control plane sent its dispatch span): this node's span is its child, and the function's
    // request carries this span on in `traceparent`, so the function's own calls join the trace. Tracing off
    // here, the function gets the control plane's span.
    const span = req.traceparent && tracingOn() ? startSpan('agent invoke', contextFrom({ traceparent: req.traceparent }), { 'cpub.function_id': req.functionId, 'cpub.execution_id': req.invocationId, 'cpub.version': req.version }, SpanKind.SERVER) : undefined;
    if (req.traceparent) {
      const i = headers.findIndex(([k]) => k === 'traceparent');
      const value = span ? traceparentOf(span) : req.traceparent;
      if (i >= 0) headers[i] = ['traceparent', value];
      else headers.push(['traceparent', value]);
    }
    const r = await this.d.pools.invoke(spec, {
      invocationId: req.invocationId,
      deadlineMs: Number(req.deadlineMs) || Date.now() + spec.timeoutMs,
      declineAfterMs: req.declineAfterMs,
      method: req.request?.method || 'GET',
      path: req.request?.path || '/',
      query: req.request?.query || '',
      headers,
      body: req.request?.body ?? Buffer.alloc(0),
      stream,
      maxStreamBytes: Number(req.limits?.maxResponseBytes ?? 0) || undefined,
      bodyStream,
    });
    if (span) traceTimings(span, r.timings, r.outcome, r.error, nowMs());
    return {
      epoch: f.epoch,
      outcome: toWire(r.outcome),
      status: r.status,
      headers: r.headers.map(([name, value]) => ({ name, value })),
      body: r.body,
      logs: r.logs,
      logsTruncated: r.logsTruncated,
      timings: r.timings,
      resources: r.resources,
      error: r.error,
    };
  }
}

/** How long a new version's startup check may take (a cold container start and the module's import). */
const STARTUP_CHECK_MS = 30_000;

/** A call's or a check's function spec from its wire fields, with the control plane's defaults for what is unset. */
function specOf(functionId: string, name: string, version: number, image: string, limits: Limits__Output | null, env: EnvVar__Output[]): FunctionSpec {
  const l = limits ?? { memoryMb: 128, cpus: 0.5, timeoutMs: 30_000, concurrency: 1, maxInstances: 1, network: false };
  return {
    functionId,
    name,
    version,
    image,
    memoryMb: l.memoryMb || 128,
    cpus: l.cpus || 0.5,
    timeoutMs: l.timeoutMs || 30_000,
    concurrency: l.concurrency || 1,
    maxInstances: l.maxInstances || 1,
    network: l.network,
    env: Object.fromEntries(env.map((e) => [e.name, e.value])),
  };
}

/** Where in the function's own files a load failed (`index.mjs:3`), from the stack or V8's syntax-error header. */
export function failedAt(lines: string[]): string | undefined {
  for (const line of lines) {
    const m = /(?:file:\/\/)?\/(?:run\/cpub\/app|app)\/([^\s:()]+):(\d+)/.exec(line);
    if (m) return `${m[1]}:${m[2]}`;
  }
  return undefined;
}

/** The error's own line (`SyntaxError: Unexpected token '}'`) from the function's output, if there is one. */
function firstError(lines: string[]): string | undefined {
  for (const line of lines) {
    const m = /^(?:cannot start the function: )?((?:[A-Z][A-Za-z]*Error|Error)(?: \[[A-Z_]+\])?: .*)$/m.exec(line);
    if (m) return m[1]!.replace(/(file:\/\/)?\/(run\/cpub\/)?app\//g, '');
  }
  return undefined;
}

/** Where the entry fails to parse (`index.mjs:4`), by `node --check` on the kept bundle: it parses, runs nothing. */
async function syntaxErrorAt(bundle: { appDir: string; entry: string } | undefined): Promise<string | undefined> {
  if (!bundle) return undefined;
  const r = await new Promise<{ stderr: string }>((resolve) =>
    execFile(process.execPath, ['--check', join(bundle.appDir, bundle.entry)], { encoding: 'utf8', timeout: 10_000, env: {} }, (_err, _stdout, stderr) => resolve({ stderr })),
  );
  const m = new RegExp(`${bundle.appDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/([^\\s:]+):(\\d+)`).exec(r.stderr);
  return m ? `${m[1]}:${m[2]}` : undefined;
}

/**
 * The phases of a traced call, as the pool timed them, as spans under the agent's: waiting for a slot, a cold
 * start's (stem claim or create, start, ready), and the run — laid end to end back from now.
 */
function traceTimings(span: Span, t: CallResult['timings'], outcome: string, error: string | undefined, end: number): void {
  let at = end;
  const back = (ms: number) => [(at -= ms), at + ms] as const;
  const [runStart, runEnd] = back(t.runMs);
  pastSpan('run', span, runStart, runEnd);
  if (t.coldStart) {
    const [readyStart, readyEnd] = back(t.readyMs);
    const [startStart, startEnd] = back(t.startMs);
    const [createStart, createEnd] = back(t.createMs);
    pastSpan(t.prewarmed ? 'stem claim' : 'create', span, createStart, createEnd);
    pastSpan('start', span, startStart, startEnd);
    pastSpan('ready', span, readyStart, readyEnd);
  }
  if (t.queuedMs) pastSpan('queued', span, ...back(t.queuedMs));
  span.setAttributes({ 'cpub.outcome': outcome, 'cpub.cold_start': t.coldStart });
  endSpan(span, outcome === 'success' ? undefined : error || outcome, end);
}

/** A reply's bytes that count against a batch's size: its body (a whole answer's, or a chunk) and its log lines. */
function replyBytes(r: InvokeReply): number {
  let n = r.body?.length ?? 0;
  for (const l of r.logs ?? []) n += l.message?.length ?? 0;
  return n;
}
