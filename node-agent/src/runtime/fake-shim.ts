// An in-process stand-in for the shim (shim/shim.ts), which FakeRuntime brings up when a container starts: it
// makes the same sockets in the container's mounted folder (`GET /__cpub/ready` and a stem's `POST /__cpub/init`
// over HTTP, calls as frames or over HTTP, lines to the agent's log socket), so warm containers and pools serve
// calls in unit tests. The function is a JavaScript function run in the test's own process: console output, the
// log cap and everything else the real shim does inside a container are not reproduced (tests/shim-mux.test.ts
// runs the real one).
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmodSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { encodeFrame, FrameReader, FrameWriter } from '../shim/frames.js';

export interface FakeContext {
  env: Record<string, string>;
  invocationId: string;
  deadline: number;
  /** The container running the call: a test ends it mid-call with `FakeRuntime.exit`. */
  containerId: string;
  /** A line in the call's log (stream `ctx`, level `info`), also sent live, as the shim's `ctx.log.info`. */
  log(message: string): void;
}

/** A fake function: a Response, or a value sent as JSON; a throw is the function's error (500). */
export type FakeHandler = (request: Request, ctx: FakeContext) => unknown;

export interface FakeShimOptions {
  containerId: string;
  /** The container's environment, as created (the CPUB_* variables say where the sockets go). */
  env: Record<string, string>;
  /** A path inside the container to the host path its mounts put it at; undefined: not on a mount. */
  hostPath: (containerPath: string) => string | undefined;
  handler?: FakeHandler;
  /** The function fails to load: the shim logs this and exits 70 before it makes its sockets. */
  loadError?: string;
  /** The sockets are made but `GET /__cpub/ready` never answers (a blocked event loop). */
  neverReady?: boolean;
  /** The process never opens its log connection (it exits before it could): the agent hears nothing. */
  noLogs?: boolean;
  /** The process ended by itself (a failed load or init): the runtime records the exit code. */
  onExit: (exitCode: number) => void;
}

interface Line {
  t: number;
  s: string;
  l: string;
  m: string;
}

interface Answer {
  status: number;
  headers: [string, string][];
  body: Buffer;
  error: boolean;
  log: string;
}

const MAX_REQUEST_FRAME = 64 * 2 ** 20;

export class FakeShim {
  private readonly env: Record<string, string>;
  private handler: FakeHandler | undefined;
  private logSocket: Socket | undefined;
  private logConnected: Promise<void> | undefined;
  private readonly early: string[] = [];
  private readonly servers: (Server | HttpServer)[] = [];
  private readonly sockets = new Set<Socket>();
  private stopped = false;

  constructor(private readonly o: FakeShimOptions) {
    this.env = functionEnv(o.env);
    this.handler = o.env.CPUB_STEM === '1' ? undefined : o.handler;
  }

  /** Boots as the shim does: log socket first, then the frame socket, then the HTTP one. */
  async start(): Promise<void> {
    const logPath = this.path('CPUB_LOG_SOCKET');
    if (logPath && !this.o.noLogs) {
      const s = createConnection(logPath);
      this.sockets.add(s);
      this.logConnected = new Promise<void>((resolve) => {
        s.on('connect', () => {
          this.logSocket = s;
          for (const l of this.early.splice(0)) s.write(l);
          resolve();
        });
        s.on('error', () => {
          this.logSocket = undefined;
          resolve();
        });
      });
    }
    if (this.o.loadError) return this.fail(this.o.loadError);
    const mode = parseInt(this.o.env.CPUB_SOCKET_MODE ?? '777', 8) & 0o777;
    const mux = this.path('CPUB_MUX_SOCKET');
    if (mux) await this.listen(createServer((sock) => this.serveFrames(sock)), mux, mode);
    const fn = this.path('CPUB_SOCKET');
    if (fn) await this.listen(createHttpServer((req, res) => void this.serveHttp(req, res)), fn, mode);
  }

  /** The process is gone: every connection it had closes. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.servers) s.close();
    for (const s of this.sockets) s.destroy();
    this.logSocket = undefined;
  }

  private path(name: string): string | undefined {
    const p = this.o.env[name];
    return p ? this.o.hostPath(p) : undefined;
  }

  private async listen(server: Server | HttpServer, path: string, mode: number): Promise<void> {
    if (this.stopped) return;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      if (this.stopped) s.destroy();
    });
    this.servers.push(server);
    rmSync(path, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, resolve);
    });
    chmodSync(path, mode);
  }

  /** Logs why the function cannot start and ends the process with 70, as the shim does. */
  private async fail(message: string): Promise<void> {
    // The line reaches the agent before the process ends (the real shim's write is flushed at exit).
    await this.logConnected;
    this.line('', { t: Date.now(), s: 'stderr', l: 'error', m: `cannot start the function: ${message}` });
    setTimeout(() => {
      if (this.stopped) return;
      this.stop();
      this.o.onExit(70);
    }, 5);
  }

  private line(invocationId: string, line: Line): void {
    if (this.stopped) return;
    const text = JSON.stringify({ i: invocationId, ...line }) + '\n';
    if (this.logSocket) this.logSocket.write(text);
    else if (this.early.length < 100) this.early.push(text);
  }

  private serveFrames(sock: Socket): void {
    const out = new FrameWriter(sock);
    const reader = new FrameReader(MAX_REQUEST_FRAME, (id, head, body) => {
      const h = head as { m: string; u: string; h: [string, string][]; i: string; d: number };
      void this.run({ method: h.m, url: h.u, headers: h.h, body, id: h.i, deadline: h.d }).then((a) => {
        if (!this.stopped) out.write(encodeFrame(id, { s: a.status, h: a.headers, l: a.log, ...(a.error ? { e: 1 } : {}) }, a.body));
      });
    });
    sock.on('data', (d: Buffer) => {
      try {
        reader.push(d);
      } catch {
        sock.destroy();
      }
    });
    sock.on('error', () => {});
  }

  private async serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url === '/__cpub/ready') {
      if (this.o.neverReady) return;
      return void res.writeHead(204).end();
    }
    const body = await readBody(req);
    if (req.url === '/__cpub/init' && req.method === 'POST' && this.o.env.CPUB_STEM === '1') {
      if (this.handler) return void res.writeHead(409).end();
      try {
        this.handler = await this.init(body);
        return void res.writeHead(204).end();
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String((err as Error).message));
        return void this.fail((err as Error).stack ?? String(err));
      }
    }
    const headers: [string, string][] = [];
    // The contract's own two headers are the shim's; any other reaches the function as the agent sent it.
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const k = req.rawHeaders[i]!.toLowerCase();
      if (k !== 'cpub-invocation-id' && k !== 'cpub-deadline') headers.push([k, req.rawHeaders[i + 1]!]);
    }
    const id = String(req.headers['cpub-invocation-id'] ?? '');
    const deadline = Number(req.headers['cpub-deadline'] ?? Date.now() + 30_000);
    const a = await this.run({ method: req.method ?? 'GET', url: req.url ?? '/', headers, body, id, deadline });
    if (this.stopped) return;
    const out: Record<string, string[]> = { 'cpub-logs': [a.log], 'content-length': [String(a.body.length)] };
    if (a.error) out['cpub-function-error'] = ['1'];
    for (const [k, v] of a.headers) (out[k] ??= []).push(v);
    res.writeHead(a.status, out).end(a.body);
  }

  /** A stem's init: `{entry, env, name, version}`; the entry is imported from where the container's mount puts it. */
  private async init(body: Buffer): Promise<FakeHandler> {
    const j = JSON.parse(body.toString('utf8')) as { entry: string; env?: Record<string, string> };
    for (const [k, v] of Object.entries(j.env ?? {})) if (!k.startsWith('CPUB_')) this.env[k] = String(v);
    const file = this.o.hostPath(j.entry);
    if (!file) throw new Error(`${j.entry} is not on a mount`);
    const d = ((await import(pathToFileURL(file).href)) as { default?: unknown }).default as { fetch?: FakeHandler } | FakeHandler | undefined;
    if (typeof d === 'function') return d;
    if (d && typeof d.fetch === 'function') return d.fetch.bind(d);
    throw new Error(`${j.entry} must default-export a function or an object with fetch(request, ctx)`);
  }

  /** One call, whichever socket it came on; never throws. */
  private async run(c: { method: string; url: string; headers: [string, string][]; body: Buffer; id: string; deadline: number }): Promise<Answer> {
    const fn = this.handler;
    if (!fn) return { status: 503, headers: [], body: Buffer.alloc(0), error: false, log: callLog([]) };
    const lines: Line[] = [];
    const log = (s: string, l: string, m: string) => {
      const line = { t: Date.now(), s, l, m };
      lines.push(line);
      this.line(c.id, line);
    };
    let response: Response;
    let error = false;
    try {
      const request = new Request(`http://function.local${c.url}`, {
        method: c.method,
        // Unfiltered (the real shim drops cpub-* names): a test sees what the agent let through.
        headers: c.headers,
        body: c.method === 'GET' || c.method === 'HEAD' ? undefined : new Uint8Array(c.body),
      });
      const ctx: FakeContext = { env: this.env, invocationId: c.id, deadline: c.deadline, containerId: this.o.containerId, log: (m) => log('ctx', 'info', m) };
      const result = await fn(request, ctx);
      response = result instanceof Response ? result : Response.json(result ?? null);
    } catch (err) {
      log('stderr', 'error', (err as Error)?.stack ?? String(err));
      response = Response.json({ error: 'function_error', message: (err as Error)?.message ?? String(err) }, { status: 500 });
      error = true;
    }
    const headers: [string, string][] = [];
    response.headers.forEach((v, k) => {
      if (k !== 'content-length' && !k.startsWith('cpub-')) headers.push([k, v]);
    });
    const bodiless = response.status === 204 || response.status === 304 || c.method === 'HEAD';
    const body = bodiless ? Buffer.alloc(0) : Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers, body, error, log: callLog(lines) };
  }
}

/** What the function sees as its env: the container's, less the shim's own variables. */
function functionEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('CPUB_')));
}

/** The call's log as the shim sends it (`Cpub-Logs`, or `l` in a frame): base64 JSON {lines, truncated}. */
function callLog(lines: Line[]): string {
  return Buffer.from(JSON.stringify({ lines, truncated: false })).toString('base64');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
