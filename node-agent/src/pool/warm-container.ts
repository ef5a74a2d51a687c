// One function container: cold start (create with limits and isolation, start, wait for the shim's socket),
// calls over its unix socket with keep-alive, per-call logs routed from its output, and its end.
import { request, Agent } from 'node:http';
import { Pool, util as undiciUtil, type Dispatcher } from 'undici';
import { createServer, type Server } from 'node:net';
import { chmodSync, chownSync, cpSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ContainerRuntime, IdRange } from '../runtime/container-runtime.js';
import { USERNS_SIZE, type Isolation } from '../runtime/isolation.js';
import { FUNCTION_UID } from '../images/runtime-image.js';
import { LABELS } from '../images/function-image.js';
import { cgroupOf, type CgroupReader } from './cgroup.js';
import { MuxClient, answerHead } from './mux-client.js';
import { DEFAULT_STREAM_MAX_BYTES, Relay, relay } from './stream-relay.js';
import { STREAM_WINDOW } from '../../../proto/loader.js';
import type { BodySource, CallLogLine, CallRequest, CallResult, FunctionSpec, Outcome } from './types.js';
import { Readable } from 'node:stream';
import { HOP_BY_HOP } from '../../../common/headers.js';

const SOCKET_IN_CONTAINER = '/run/cpub/fn.sock';
const LOG_SOCKET_IN_CONTAINER = '/run/cpub/log.sock';
const MUX_SOCKET_IN_CONTAINER = '/run/cpub/mux.sock';
const MAX_LOG_LINE = 64 * 1024;
/** Headers of the hop between the agent and the shim, never part of the function's answer. */
const MAX_RESPONSE_BYTES = 16 * 2 ** 20;
/** Room in an answer's frame for its head beside the call's log (base64, under twice the log cap): the function's headers. */
const MAX_ANSWER_HEAD_BYTES = 4 * 2 ** 20;

/** What the shim answered for a call, over either socket. */
interface ShimAnswer {
  status: number;
  headers: [string, string][];
  functionError: boolean;
  body: Buffer;
  log: { lines: CallLogLine[]; truncated: boolean };
  /** A streamed answer that did not end well (its stream failed, or passed its limit): the call is an `error`. */
  error?: string;
  /** The answer was streamed: its body's size. */
  streamedBytes?: number;
}

export interface ContainerOptions {
  dataDir: string;
  /** This agent's node id: several agents may share a host, and each cleans up only its own containers. */
  nodeId: string;
  epoch: string;
  logCapBytes: number;
  /** `http`: calls over the shim's HTTP contract only, as a runtime without the frame socket is called. */
  callProtocol?: 'frames' | 'http';
  /** The seccomp profile and user namespaces function containers get (runtime/isolation.ts). */
  isolation: Isolation;
  /** Called when a container is found dead (after a call failed on it). */
  onExit?: (spec: FunctionSpec, containerId: string, state: { exitCode: number; oomKilled: boolean }) => void;
  /** Called with every per-call line as it arrives (live tail). */
  onCallLine?: (spec: FunctionSpec, invocationId: string, line: CallLogLine) => void;
  /** A streamed answer fails when the function sends nothing for this long while it may (default 30 s). */
  streamIdleMs?: number;
}

export class WarmContainer {
  busy = 0;
  lastUsed = Date.now();
  dead = false;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private undici: Pool | undefined;
  /** Calls go through undici's pool (less CPU per request than node:http's client); a large call log comes as a trailer, up to the log cap. */
  private get pool(): Pool {
    return (this.undici ??= new Pool('http://function.local', { socketPath: this.socketPath, connections: 64, maxHeaderSize: 4 * 2 ** 20, maxResponseSize: MAX_RESPONSE_BYTES, keepAliveTimeout: 30_000 }));
  }
  private logServer: Server | undefined;
  /** The shim's multiplexed call socket, when it has one. */
  private mux: MuxClient | undefined;
  private cgroup: CgroupReader | undefined;
  readonly startupLog: CallLogLine[] = [];
  /** Lines seen on the output stream per call in flight: the record of a call that died before its trailer. */
  private readonly seen = new Map<string, CallLogLine[]>();
  /** The last invocations finished here (oldest first), whose live lines may still be on their way. */
  private readonly finished = new Set<string>();

  private constructor(
    private readonly runtime: ContainerRuntime,
    /** For a stem, the shape it was made for until it is claimed; then the function it runs. */
    public spec: FunctionSpec,
    readonly id: string,
    private readonly dir: string,
    private readonly opts: ContainerOptions,
  ) {}

  get socketPath(): string {
    return join(this.dir, 'fn.sock');
  }

  /** A stem not claimed yet: runs the runtime image with no function in it. */
  stem = false;
  /** The host gid the container's user has, when the agent could give it the folder (rootful); else none. */
  private group: number | undefined;

  /**
   * Creates and starts a container and waits until its shim answers; times each phase. With `stemImage`, the
   * container is a stem: the runtime image with `spec`'s limits and no function, for `claim` to load one into.
   */
  static async start(runtime: ContainerRuntime, spec: FunctionSpec, opts: ContainerOptions, deadlineMs: number, stemImage?: string) {
    const name = stemImage ? `cpub-stem-${randomBytes(6).toString('hex')}` : containerName(spec);
    const dir = join(opts.dataDir, 'run', name);
    mkdirSync(dir, { recursive: true });
    // Only the agent reaches the containers' folders on the host (a container reaches its own through its mount).
    chmodSync(join(opts.dataDir, 'run'), 0o700);
    const t0 = performance.now();
    // glibc's malloc: one arena (libuv's threads would each get their own) and memory given back to the
    // kernel sooner: an idle warm container keeps less of what a burst of calls allocated.
    const shim = {
      CPUB_SOCKET: SOCKET_IN_CONTAINER,
      ...(opts.callProtocol === 'http' ? {} : { CPUB_MUX_SOCKET: MUX_SOCKET_IN_CONTAINER }),
      CPUB_MAX_RESPONSE_BYTES: String(MAX_RESPONSE_BYTES),
      CPUB_STREAM_WINDOW: String(STREAM_WINDOW),
      CPUB_LOG_SOCKET: LOG_SOCKET_IN_CONTAINER,
      CPUB_LOG_CAP: String(opts.logCapBytes),
      // A root agent gives the folder to the container's group (fenceFolder): the sockets need no more.
      CPUB_SOCKET_MODE: process.getuid?.() === 0 ? '660' : '777',
      MALLOC_ARENA_MAX: '1',
      MALLOC_TRIM_THRESHOLD_: '65536',
    };
    const mine = { [LABELS.managed]: 'true', [LABELS.node]: opts.nodeId, [LABELS.epoch]: opts.epoch };
    const id = await runtime.create({
      name,
      image: stemImage ?? spec.image,
      labels: stemImage ? { ...mine, [LABELS.stem]: 'true' } : { ...mine, [LABELS.function]: spec.functionId, [LABELS.version]: String(spec.version) },
      env: stemImage
        ? { ...shim, CPUB_STEM: '1' }
        : { ...spec.env, ...shim, CPUB_FUNCTION_NAME: spec.name, CPUB_FUNCTION_VERSION: String(spec.version) },
      memoryBytes: spec.memoryMb * 2 ** 20,
      cpus: spec.cpus,
      pidsLimit: 128,
      network: spec.network,
      readOnlyRoot: true,
      tmpfsBytes: 64 * 2 ** 20,
      user: `${FUNCTION_UID}:${FUNCTION_UID}`,
      mounts: [{ host: dir, container: '/run/cpub', readOnly: false }],
      ulimits: { nofile: 1024, nproc: 4096 },
      seccompProfile: opts.isolation.seccompProfile,
      usernsSize: opts.isolation.ownUids ? USERNS_SIZE : undefined,
    });
    const c = new WarmContainer(runtime, spec, id, dir, opts);
    c.stem = Boolean(stemImage);
    try {
      // The folder is the agent's and the container group's alone (its uid creates its sockets here).
      c.group = await fenceFolder(runtime, id, dir, opts.isolation);
      // Live log lines arrive on a socket of ours in the container's folder: attaching to the container's
      // output through Podman would add ≈115 ms to every cold start.
      c.logServer = await listenForLogs(join(dir, 'log.sock'), c.group, (line) => c.route(line), () => c.shimGone());
      const t1 = performance.now();
      await c.startOrExplain();
      const t2 = performance.now();
      await c.waitReady(deadlineMs);
      // Calls go over the multiplexed socket when the shim made one (a runtime that speaks only the HTTP
      // contract gets HTTP calls); the folder is locked by now, so the path is the shim's own socket.
      const mux = join(dir, 'mux.sock');
      if (isRealSocket(mux)) c.mux = new MuxClient(mux, MAX_RESPONSE_BYTES + 2 * opts.logCapBytes + MAX_ANSWER_HEAD_BYTES);
      const t3 = performance.now();
      const state = await runtime.inspect(id);
      c.cgroup = state.pid ? cgroupOf(state.pid) : undefined;
      return { container: c, createMs: Math.round(t1 - t0), startMs: Math.round(t2 - t1), readyMs: Math.round(t3 - t2) };
    } catch (err) {
      await c.destroy();
      throw err;
    }
  }

  /**
   * Makes this stem run `spec`: copies the function's checked bundle into its folder (locked by now: the
   * function's uid can read it at /run/cpub/app but not change it) and has the shim load it with the
   * function's env. Returns the time taken; on failure the stem is destroyed and a StartError thrown. A `small`
   * bundle is copied at once (≈ 1 ms); any other asynchronously, the agent's calls going on meanwhile (up to 10,000
   * files and 250 MB: copied at once, that held every call on the node for seconds).
   */
  async claim(spec: FunctionSpec, bundle: { appDir: string; entry: string; small?: boolean }, deadlineMs: number): Promise<number> {
    const t0 = performance.now();
    this.stem = false;
    this.spec = spec;
    try {
      if (bundle.small) cpSync(bundle.appDir, join(this.dir, 'app'), { recursive: true });
      else await cp(bundle.appDir, join(this.dir, 'app'), { recursive: true });
      const r = await this.post('/__cpub/init', JSON.stringify({ entry: `/run/cpub/app/${bundle.entry}`, env: spec.env, name: spec.name, version: spec.version }), deadlineMs);
      if (r.status !== 204) throw new StartError('crashed', `the function failed to load: ${r.body || `status ${r.status}`}`, this.startupLog);
      // Off the call's path: the container's name says whose it is now (its stem label cannot change).
      void this.runtime.rename(this.id, containerName(spec)).catch(() => {});
      return Math.round(performance.now() - t0);
    } catch (err) {
      await this.destroy();
      if (err instanceof StartError) throw err;
      throw new StartError('crashed', `the function failed to load: ${(err as Error).message}`, this.startupLog);
    }
  }

  /** One request to the shim, settled by the deadline whatever happens (the shim dying mid-answer included). */
  private post(path: string, body: string, deadlineMs: number): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      const req = request(
        { socketPath: this.socketPath, path, method: 'POST', agent: this.agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text = (text + d).slice(0, 2000)));
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, body: text });
          });
          res.on('error', fail);
          res.on('aborted', () => fail(new Error('the shim closed the connection mid-answer')));
        },
      );
      const timer = setTimeout(() => req.destroy(new StartError('timeout', 'the function did not load before the deadline', this.startupLog)), Math.max(1, deadlineMs - Date.now()));
      req.on('error', fail);
      req.end(body);
    });
  }

  /**
   * Waits for the shim's socket, then locks the folder: until the socket exists the function's uid may write
   * there (to create it); from then on nobody but the agent can add, swap or remove entries, so the path the
   * agent connects to can never be turned into a symlink to something else (e.g. the Podman API socket).
   */
  private async waitReady(deadlineMs: number): Promise<void> {
    let locked = false;
    for (let i = 0; ; i++) {
      if (!locked && isRealSocket(this.socketPath)) {
        chmodSync(this.dir, this.group === undefined ? 0o755 : 0o750);
        locked = true;
        if (!isRealSocket(this.socketPath) || readdirSync(this.dir).some((f) => f !== 'fn.sock' && f !== 'log.sock' && f !== 'mux.sock')) {
          throw new StartError('crashed', 'the function tampered with its socket folder', this.startupLog);
        }
      }
      if (locked && (await this.ping())) return;
      if (Date.now() > deadlineMs) throw new StartError('timeout', 'the function did not become ready before the deadline', this.startupLog);
      if (i % 25 === 24 && !(await this.runtime.inspect(this.id)).running) {
        throw new StartError('crashed', 'the function exited while starting', this.startupLog);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request({ socketPath: this.socketPath, path: '/__cpub/ready', method: 'GET', agent: this.agent, timeout: 500 }, (res) => {
        res.resume();
        resolve(res.statusCode === 204);
      });
      // A shim that accepts but never answers (a blocked event loop) must not hold the cold start forever.
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
  }

  /**
   * Starts the container. A process that exits at once (a module that fails to load) can make the runtime's start
   * itself fail (runc reading /proc/<pid>/cgroup of a process already gone: HTTP 500): that is the function
   * exiting while starting, and the lines it wrote say why. The shim ran when its log connection opened and
   * closed (shimGone): given a moment for that, such a failure is told as the function's; otherwise it is the
   * engine's.
   */
  private async startOrExplain(): Promise<void> {
    try {
      await this.runtime.start(this.id);
    } catch (err) {
      // The shim flushes its lines before it exits (at most 1 s); a loaded host may take longer to tell us.
      for (const end = Date.now() + 2000; !this.dead && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
      if (!this.dead && !(await this.exitedWithCode())) throw err;
      throw new StartError('crashed', 'the function exited while starting', this.startupLog);
    }
  }

  /** Whether the container ran and exited with an exit code of its own (not the engine failing to run it). */
  private async exitedWithCode(): Promise<boolean> {
    const state = await this.runtime.inspect(this.id).catch(() => undefined);
    return state !== undefined && !state.running && state.exitCode !== 0 && state.exitCode < 126;
  }

  /** The shim's log connection closed: its process is gone, even if no call was running. */
  private shimGone(): void {
    this.dead = true;
    this.onGone?.();
    void this.reportExit();
  }

  /** Told when the container's process is found gone (set by the pool that holds it). */
  onGone: (() => void) | undefined;

  private exitReported = false;
  /** The exit report under way, which destroy() lets finish (briefly) before it removes the container. */
  private reporting: Promise<void> | undefined;

  /** Reports the container's exit once, waiting (up to 10 s: a busy host is slow to notice) for Podman to see it stopped. */
  private reportExit(oomHint = false): Promise<void> {
    if (this.exitReported) return Promise.resolve();
    this.exitReported = true;
    return (this.reporting = this.pollExit(oomHint));
  }

  private async pollExit(oomHint: boolean): Promise<void> {
    for (let i = 0; i < 50; i++) {
      const s = await this.runtime.inspect(this.id).catch(() => undefined);
      if (!s) return;
      if (!s.running) {
        if (this.stem) return; // no function's business
        this.opts.onExit?.(this.spec, this.id, { exitCode: s.exitCode, oomKilled: oomHint || s.oomKilled || s.exitCode === 137 });
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * One line of the container's output, for live tails: a call's lines go to onCallLine, others (a bundle that
   * fails to load) to the startup log. The call's record gets its lines from the response's Cpub-Logs (header or trailer).
   */
  private route(raw: string): void {
    let j: { i?: string; t?: number; s?: string; l?: string; m?: string };
    try {
      j = JSON.parse(raw);
    } catch {
      j = { i: '', s: 'stdout', l: 'info', m: raw };
    }
    if (j.m === undefined) return;
    const line: CallLogLine = { atMs: j.t ?? Date.now(), stream: j.s ?? 'stdout', level: j.l ?? 'info', message: j.m };
    // Only an invocation of this container (in flight, or just finished: this socket can trail the response)
    // can have lines: the function writes this socket, and must not put lines under an id it made up.
    const seen = j.i ? this.seen.get(j.i) : undefined;
    if (j.i && (seen || this.finished.has(j.i))) {
      if (seen && seen.length < 200) seen.push(line);
      return void this.opts.onCallLine?.(this.spec, j.i, line);
    }
    if (this.startupLog.length < 200) this.startupLog.push(line);
  }

  /** Runs one call. Never throws: every failure is an outcome. */
  async call(req: CallRequest): Promise<Omit<CallResult, 'timings'> & { runMs: number }> {
    this.seen.set(req.invocationId, []);
    const cpu0 = this.cgroup?.cpuNs() ?? 0;
    if (this.busy === 1) this.cgroup?.resetPeak();
    const t0 = performance.now();
    const finish = (outcome: Outcome, status: number, headers: [string, string][], body: Buffer, error = '', log: { lines: CallLogLine[]; truncated: boolean } = { lines: [], truncated: false }) => {
      const runMs = Math.round(performance.now() - t0);
      const seen = this.seen.get(req.invocationId) ?? [];
      this.seen.delete(req.invocationId);
      this.finished.add(req.invocationId);
      if (this.finished.size > 256) this.finished.delete(this.finished.values().next().value!);
      if (outcome !== 'ok' && outcome !== 'error' && log.lines.length === 0) log = { lines: seen, truncated: seen.length >= 200 };
      const resources = { cpuMs: Math.round(((this.cgroup?.cpuNs() ?? 0) - cpu0) / 1e6), peakMemoryBytes: this.cgroup?.peakBytes() ?? 0 };
      return { outcome, status, headers, body, logs: log.lines, logsTruncated: log.truncated, resources, error, runMs };
    };
    const timeoutMs = req.deadlineMs - Date.now();
    if (timeoutMs <= 0) return finish('timeout', 504, [], Buffer.alloc(0), 'the deadline passed before the call started');
    try {
      const res = await this.send(req, timeoutMs);
      const failed = res.functionError || res.error !== undefined;
      const done = finish(failed ? 'error' : 'ok', res.status, res.headers, res.body, res.error ?? (res.functionError ? 'the function threw an error' : ''), res.log);
      return res.streamedBytes === undefined ? done : { ...done, streamedBytes: res.streamedBytes };
    } catch (err) {
      if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError') {
        // A call past its deadline may still be running: no new calls go here, and the container is replaced
        // once its other calls have finished.
        this.dead = true;
        const why = (err as Error).message;
        return finish('timeout', 504, [], Buffer.alloc(0), why && why !== 'deadline passed' && (err as Error).name === 'TimeoutError' ? why : `the call ran past its deadline (${timeoutMs} ms)`);
      }
      const oomKills = this.cgroup?.oomKills(); // read first: the cgroup goes away with the container
      const state = await this.runtime.inspect(this.id).catch(() => undefined);
      this.dead = true;
      void this.reportExit((oomKills ?? 0) > 0);
      // Podman 4.3 with runc on cgroup v1 does not always set OOMKilled; the cgroup's oom_kill count does, and
      // failing both, a SIGKILL (137) we did not send can only have come from the kernel's OOM killer.
      if (state?.oomKilled || (oomKills ?? 0) > 0 || state?.exitCode === 137) return finish('oom', 502, [], Buffer.alloc(0), `killed for exceeding its ${this.spec.memoryMb} MB memory limit`);
      if (state && !state.running) return finish('crashed', 502, [], Buffer.alloc(0), `the function's process exited (code ${state.exitCode})`);
      return finish('crashed', 502, [], Buffer.alloc(0), `the call failed: ${(err as Error).message}`);
    }
  }

  private send(req: CallRequest, timeoutMs: number): Promise<ShimAnswer> {
    const path = (req.path.startsWith('/') ? req.path : `/${req.path}`) + (req.query ? `?${req.query.replace(/^\?/, '')}` : '');
    return this.mux ? this.sendMux(req, path, timeoutMs) : this.sendHttp(req, path, timeoutMs);
  }

  private async sendMux(req: CallRequest, path: string, timeoutMs: number): Promise<ShimAnswer> {
    const h: [string, string][] = [];
    for (const [k, v] of req.headers) {
      const key = k.toLowerCase();
      if (!key.startsWith('cpub-') && !HOP_BY_HOP.has(key)) h.push([key, v]);
    }
    const inflow = new Relay();
    const mux = this.mux!;
    const source = req.bodyStream;
    let sentId = 0;
    // A request body that streams in follows its call's frame: `{"d": 1}` chunks as they come, then `{"end": 1}`
    // (with `err` when the caller's body failed); the shim's credit for them goes back to the caller — once this
    // socket has taken what was written (a shim that claims credit it has not used gains nothing here).
    const outflow = source && {
      sent: (id: number) => {
        sentId = id;
        source.read(
          (chunk) => mux.send(id, { d: 1 }, chunk),
          (error) => {
            mux.send(id, error ? { end: 1, err: error } : { end: 1 });
            mux.forget(id);
          },
        );
      },
      credit: (bytes: number) => mux.whenDrained(() => source.grant(bytes)),
    };
    try {
      return await this.answerMux(req, mux, inflow, await mux.call({ m: req.method || 'GET', u: path, h, i: req.invocationId, d: req.deadlineMs, ...(source ? { sb: 1 } : {}) }, req.body, timeoutMs, inflow, outflow));
    } finally {
      if (sentId) mux.forget(sentId);
    }
  }

  /** The shim's answer to a call over frames: whole, or streamed (relayed to its end). */
  private async answerMux(req: CallRequest, mux: MuxClient, inflow: Relay, r: { head: unknown; body: Buffer; id: number }): Promise<ShimAnswer> {
    const head = answerHead(r.head, (name) => !name.startsWith('cpub-') && !HOP_BY_HOP.has(name));
    if (head.big !== undefined) throw new Error(`the response is larger than ${MAX_RESPONSE_BYTES / 2 ** 20} MiB`);
    if (!head.streamed) return { status: head.status, headers: head.headers, functionError: head.functionError, body: r.body, log: parseCallLog(head.log) };
    // Streamed: its head goes on now, its body as it comes; the call ends with the stream.
    const s = await relay(inflow, {
      mux,
      id: r.id,
      status: head.status,
      headers: head.headers,
      deadlineMs: req.deadlineMs,
      idleMs: this.opts.streamIdleMs ?? 30_000,
      sink: req.stream,
      maxBytes: req.maxStreamBytes || DEFAULT_STREAM_MAX_BYTES,
      wholeMax: MAX_RESPONSE_BYTES,
    });
    // Read whole (no taker to stream to), an answer past the buffered limit fails as a whole one over it does.
    if (s.cut && !req.stream) throw new Error(s.cut);
    const error = s.cut ?? (s.end.e === 1 ? `the function’s streamed answer failed: ${s.end.err ?? 'error'}` : undefined);
    const answer: ShimAnswer = { status: head.status, headers: head.headers, functionError: false, body: s.body, log: parseCallLog(s.end.l), ...(error ? { error } : {}) };
    return req.stream ? { ...answer, streamedBytes: s.bytes } : answer;
  }

  private sendHttp(req: CallRequest, path: string, timeoutMs: number): Promise<ShimAnswer> {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of req.headers) {
      const key = k.toLowerCase();
      if (key.startsWith('cpub-') || HOP_BY_HOP.has(key)) continue;
      const prev = headers[key];
      headers[key] = prev === undefined ? v : ([] as string[]).concat(prev, v);
    }
    headers['cpub-invocation-id'] = req.invocationId;
    headers['cpub-deadline'] = String(req.deadlineMs);
    // The shim answers once the function has (headers and body together): both timeouts are the deadline.
    // undici's dispatch with a handler of our own: the answer is small and taken whole, so no stream and no
    // promise per chunk (what `request` would make for every call).
    return new Promise((resolve, reject) => {
      let status = 0;
      let raw: Buffer[] = [];
      const chunks: Buffer[] = [];
      this.pool.dispatch(
        { path, method: (req.method || 'GET') as Dispatcher.HttpMethod, headers, body: req.bodyStream ? Readable.from(bodyChunks(req.body, req.bodyStream)) : req.body.length ? req.body : null, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
        {
          onConnect: () => {},
          onError: (err: Error & { code?: string }) => {
            // The deadline passed: said the way the caller knows (a TimeoutError).
            if (err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_BODY_TIMEOUT') reject(Object.assign(new Error('deadline passed'), { name: 'TimeoutError' }));
            // The pool's maxResponseSize refuses a body past MAX_RESPONSE_BYTES while it arrives.
            else if (err.code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') reject(new Error(`the response is larger than ${MAX_RESPONSE_BYTES / 2 ** 20} MiB`));
            else reject(err);
          },
          onHeaders: (statusCode: number, rawHeaders: Buffer[]) => {
            status = statusCode;
            raw = rawHeaders;
            return true;
          },
          onData: (chunk: Buffer) => {
            chunks.push(chunk);
            return true;
          },
          onComplete: (trailers: string[] | null) => {
            const parsed = undiciUtil.parseHeaders(raw);
            // The function's own headers: not the shim's (cpub-*), not this hop's (connection, framing).
            const out: [string, string][] = [];
            let functionError = false;
            for (const [k, v] of Object.entries(parsed)) {
              if (k === 'cpub-function-error') functionError = true;
              else if (!k.startsWith('cpub-') && !HOP_BY_HOP.has(k)) for (const one of Array.isArray(v) ? v : [v]) out.push([k, one]);
            }
            // The call's log: a header when small, a trailer otherwise (see the shim).
            const log = parsed['cpub-logs'] ?? (trailers?.length ? undiciUtil.parseHeaders(trailers)['cpub-logs'] : undefined);
            resolve({ status, headers: out, functionError, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), log: parseCallLog(Array.isArray(log) ? log[0] : log) });
          },
        },
      );
    });
  }

  /** CPU time so far and memory in use now, from the cgroup; undefined where it cannot be read. */
  sample(): { cpuMs: number; memoryBytes: number } | undefined {
    if (!this.cgroup || this.dead) return undefined;
    return { cpuMs: Math.round(this.cgroup.cpuNs() / 1e6), memoryBytes: this.cgroup.memoryBytes() };
  }

  async destroy(): Promise<void> {
    this.dead = true;
    // A container that died by itself is reported before it is removed (removed, Podman can no longer say how
    // it ended); an exit we cause is not news (and its 137 must not read as an OOM kill).
    if (this.reporting) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.reporting, new Promise((r) => (timer = setTimeout(r, 3000)))]);
      clearTimeout(timer);
    }
    this.exitReported = true;
    this.logServer?.close();
    this.mux?.close();
    this.agent.destroy();
    void this.undici?.destroy().catch(() => {});
    this.cgroup?.close();
    await this.runtime.remove(this.id).catch(() => {});
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // left for the next start's cleanup; never a reason to crash the agent
    }
  }
}

/**
 * A streaming request body as the chunks an HTTP request sends: its first bytes, then each chunk as it comes —
 * credit given back once the request has taken it (the socket's backpressure paces the caller). A failed body
 * throws: the request is aborted.
 */
async function* bodyChunks(first: Buffer, source: BodySource): AsyncGenerator<Buffer> {
  if (first.length) yield first;
  const queue: Buffer[] = [];
  let end: { error?: string } | undefined;
  let wake: (() => void) | undefined;
  source.read(
    (chunk) => {
      queue.push(chunk);
      wake?.();
    },
    (error) => {
      end = error ? { error } : {};
      wake?.();
    },
  );
  for (;;) {
    const chunk = queue.shift();
    if (chunk) {
      yield chunk;
      source.grant(chunk.length);
      continue;
    }
    if (end) {
      if (end.error) throw new Error(end.error);
      return;
    }
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
}

const containerName = (spec: FunctionSpec) => `cpub-${spec.functionId.slice(0, 12)}-v${spec.version}-${randomBytes(4).toString('hex')}`;

function isRealSocket(path: string): boolean {
  try {
    return lstatSync(path).isSocket(); // lstat: a symlink is not a socket
  } catch {
    return false;
  }
}

/**
 * Listens on a unix socket the container's uid may connect to, for the shim's one connection (made as it
 * boots), split into lines; its close means the shim is gone. Any later connection — the function's own
 * code trying to pass lines off as the shim's — is closed at once.
 */
function listenForLogs(path: string, group: number | undefined, onLine: (line: string) => void, onClose: () => void): Promise<Server> {
  let taken = false;
  const server = createServer((sock) => {
    if (taken) return void sock.destroy();
    taken = true;
    sock.on('close', onClose);
    let pending = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      pending += d;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, Math.min(nl, MAX_LOG_LINE)));
        pending = pending.slice(nl + 1);
      }
      if (pending.length > MAX_LOG_LINE) pending = ''; // a line without end cannot grow this buffer
    });
    sock.on('error', () => {});
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      // Its folder may be gone already (the pools stopped while this container was starting): a failed start, never a crash.
      try {
        if (group === undefined) chmodSync(path, 0o777);
        else {
          chownSync(path, process.getuid!(), group);
          chmodSync(path, 0o660);
        }
      } catch (err) {
        server.close();
        return reject(err as Error);
      }
      resolve(server);
    });
  });
}

/** The host id that `id` inside maps to (itself with no namespace); undefined when the map leaves it out. */
function hostId(map: IdRange[], id: number): number | undefined {
  if (!map.length) return id;
  const r = map.find((m) => id >= m.container && id < m.container + m.size);
  return r && r.host + (id - r.container);
}

/**
 * Gives a container's socket folder to the agent and the container's group (mode 0770; 0750 once the shim's
 * sockets are there): no other host user can enter it. Returns that group, or undefined where the agent cannot
 * give files away (rootless): the folder is then 0777 inside the agent's own 0700 `run` folder.
 */
async function fenceFolder(runtime: ContainerRuntime, id: string, dir: string, isolation: Isolation): Promise<number | undefined> {
  if (process.getuid?.() !== 0) {
    chmodSync(dir, 0o777);
    return undefined;
  }
  const map = isolation.ownUids ? await runtime.idMap(id) : { uid: [], gid: [] };
  // Equal sizes should keep Podman from splitting a range; a split one would put part of the image under
  // another container's ids, so it is refused.
  if (isolation.ownUids && (map.uid.length !== 1 || map.gid.length !== 1)) {
    throw new StartError('crashed', `the container did not get one id range of its own (uid map ${JSON.stringify(map.uid)})`, []);
  }
  const gid = hostId(map.gid, FUNCTION_UID);
  if (gid === undefined) throw new StartError('crashed', `the container's id map leaves out uid ${FUNCTION_UID}`, []);
  chownSync(dir, process.getuid(), gid);
  chmodSync(dir, 0o770);
  return gid;
}

/** The shim's trailer for a call that logged nothing. */
const EMPTY_LOG = Buffer.from(JSON.stringify({ lines: [], truncated: false })).toString('base64');

function parseCallLog(v: string | undefined): { lines: CallLogLine[]; truncated: boolean } {
  if (!v || v === EMPTY_LOG) return { lines: [], truncated: false };
  try {
    const j = JSON.parse(Buffer.from(v, 'base64').toString('utf8')) as { lines: { t: number; s: string; l: string; m: string }[]; truncated: boolean };
    return { lines: j.lines.map((l) => ({ atMs: l.t, stream: l.s, level: l.l, message: l.m })), truncated: Boolean(j.truncated) };
  } catch {
    return { lines: [{ atMs: Date.now(), stream: 'agent', level: 'error', message: 'the call’s log could not be read' }], truncated: true };
  }
}

export class StartError extends Error {
  constructor(
    readonly outcome: 'timeout' | 'crashed',
    message: string,
    readonly log: CallLogLine[],
  ) {
    super(message);
  }
}
