// The runtime shim: runs inside every function container. Loads the function bundle and serves it over HTTP
// on the unix socket named by CPUB_SOCKET. Node built-ins only: bundled with frames.ts into one file, it is
// copied into the runtime image as /opt/cpub/shim.mjs.
//
// The contract with the agent (documented so other runtimes can implement it):
// - one HTTP request in, one response out, on the unix socket; the request carries `Cpub-Invocation-Id` and
//   `Cpub-Deadline` (epoch ms); the response is the function's own status, headers and body — or, when the
//   function throws, a 500 with `Cpub-Function-Error: 1` and the stack in the call's log;
// - the call's log comes back in-band, as `Cpub-Logs`: base64 of JSON {"lines": [{"t": epoch ms, "s": stream,
//   "l": level, "m": message}], "truncated": bool}, capped per invocation (CPUB_LOG_CAP bytes, default 256 KiB) —
//   a response header when it is at most 16 KiB (most calls; the response then has a Content-Length), else an
//   HTTP trailer after a chunked body — so the agent never waits on the container's output stream to finish a call;
// - the same lines also go, for live tails, as JSON lines {"i": invocation id, "t", "s", "l", "m"} to the unix
//   socket CPUB_LOG_SOCKET that the agent listens on (output outside any invocation has "i": ""); when the
//   agent is slow to read, lines are dropped rather than buffered without bound;
// - with `CPUB_MUX_SOCKET` set, the same calls also come as frames on that socket (frames.ts), many in flight on
//   one connection: head {m, u, h, i, d} in, {s, h, l, e?, big?} out (l: the log as in Cpub-Logs; e: 1 when the
//   function threw; big: the answer was over CPUB_MAX_RESPONSE_BYTES and not sent). The agent uses it when it
//   exists; it is made before CPUB_SOCKET;
// - `GET /__cpub/ready` answers 204 once the bundle has loaded;
// - a stem (`CPUB_STEM=1`: started before any function is known) loads nothing until `POST /__cpub/init` with
//   JSON {entry, env, name, version}: the env joins process.env, the entry is imported, 204 (or 500 with the
//   error, and the process exits); a second init is a 409, and calls before it a 503.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createConnection, createServer as createNetServer, type Socket } from 'node:net';
import { encodeFrame, FrameReader, FrameWriter } from './frames.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { chmodSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';

interface Invocation {
  id: string;
  written: number;
  truncated: boolean;
  lines: { t: number; s: string; l: string; m: string }[];
}

type Handler = (req: Request, ctx: unknown) => unknown;

const SOCKET = process.env.CPUB_SOCKET ?? '/run/cpub/fn.sock';
const BUNDLE = process.env.CPUB_BUNDLE ?? '/app/index.mjs';
const LOG_CAP = Number(process.env.CPUB_LOG_CAP ?? 256 * 1024);
/** The multiplexed call socket (frames.ts), when the agent asks for one. */
const MUX_SOCKET = process.env.CPUB_MUX_SOCKET;
/** The mode of the sockets made here: 0660 when the agent is root (its folder is root's and this container's group); rootless, the agent is another uid and needs 0777 (its own 0700 folder keeps other users out). */
const SOCKET_MODE = parseInt(process.env.CPUB_SOCKET_MODE ?? '777', 8) & 0o777;
/** The largest answer the agent takes over the multiplexed socket; a larger one is refused, not sent. */
const MAX_ANSWER_BYTES = Number(process.env.CPUB_MAX_RESPONSE_BYTES ?? 16 * 2 ** 20);
/**
 * A streamed answer's window: the bytes of its body sent ahead of the agent's credit (`{"w": n}` frames give more).
 * The agent starts each stream with the same number.
 */
const STREAM_WINDOW = Number(process.env.CPUB_STREAM_WINDOW ?? 2 ** 20);
/** A streamed answer's body goes in frames of at most this many bytes. */
const CHUNK_MAX = 64 * 1024;
/** A call's request frame at most: the platform's 6 MB request body, its headers, and room to spare. */
const MAX_REQUEST_FRAME = 64 * 2 ** 20;
/** A stem: started before any function is known; `POST /__cpub/init` later names the bundle and its env. */
const STEM = process.env.CPUB_STEM === '1';
let FUNCTION = { name: process.env.CPUB_FUNCTION_NAME ?? '', version: Number(process.env.CPUB_FUNCTION_VERSION ?? 0) };

const als = new AsyncLocalStorage<Invocation>();
const LOG_SOCKET = process.env.CPUB_LOG_SOCKET;
const MAX_PENDING_LOG_BYTES = 1 << 20;
let logSocket: Socket | undefined;
const early: string[] = [];
if (LOG_SOCKET) {
  const s = createConnection(LOG_SOCKET);
  s.on('connect', () => {
    logSocket = s;
    for (const l of early.splice(0)) s.write(l);
  });
  s.on('error', () => (logSocket = undefined));
}
/** Sends one line to the agent's live log socket; drops it when the agent is not keeping up. */
function rawWrite(line: string): void {
  if (!logSocket) {
    if (early.length < 100) early.push(line);
    return;
  }
  if (logSocket.writableLength < MAX_PENDING_LOG_BYTES) logSocket.write(line);
}
const outside: Invocation = { id: '', written: 0, truncated: false, lines: [] };

function emit(stream: string, level: string, message: string): void {
  const inv = als.getStore() ?? outside;
  if (inv.truncated) return;
  const entry = { t: Date.now(), s: stream, l: level, m: message };
  const line = JSON.stringify({ i: inv.id, ...entry }) + '\n';
  if (inv !== outside) {
    if (inv.written + line.length > LOG_CAP) {
      inv.truncated = true;
      rawWrite(JSON.stringify({ i: inv.id, t: Date.now(), truncated: true }) + '\n');
      return;
    }
    inv.lines.push(entry);
  }
  inv.written += line.length;
  rawWrite(line);
}

const EMPTY_LOG = Buffer.from(JSON.stringify({ lines: [], truncated: false })).toString('base64');

function encodedLog(inv: Invocation): string {
  if (inv.lines.length === 0 && !inv.truncated) return EMPTY_LOG;
  return Buffer.from(JSON.stringify({ lines: inv.lines, truncated: inv.truncated })).toString('base64');
}

/** ctx.log: the invocation comes from the async context, so one object serves every call. */
const ctxLog = Object.freeze(Object.fromEntries(['info', 'debug', 'warn', 'error'].map((l) => [l, (...a: unknown[]) => emit('ctx', l, format(...a))])));

// Everything the function prints goes through emit: console.* and direct writes to stdout/stderr.
for (const [method, level] of [['log', 'info'], ['info', 'info'], ['debug', 'debug'], ['warn', 'warn'], ['error', 'error']] as const) {
  console[method] = (...args: unknown[]) => emit(level === 'warn' || level === 'error' ? 'stderr' : 'stdout', level, format(...args));
}
for (const [name, stream] of [['stdout', process.stdout], ['stderr', process.stderr]] as const) {
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    emit(name, name === 'stderr' ? 'error' : 'info', typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof stream.write;
}

function functionEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('CPUB_')) env[k] = v;
  return Object.freeze(env) as Record<string, string>;
}

async function loadHandler(bundle: string): Promise<Handler> {
  const mod = (await import(pathToFileURL(bundle).href)) as { default?: unknown };
  const d = mod.default as { fetch?: Handler } | Handler | undefined;
  if (typeof d === 'function') return d as Handler;
  if (d && typeof d.fetch === 'function') return d.fetch.bind(d);
  throw new Error(`${bundle} must default-export a function or an object with fetch(request, ctx)`);
}

/** Node loads its fetch classes (undici) on first use: load them before the first call, not during it. */
async function warmUp(): Promise<void> {
  const request = new Request('http://function.local/', { method: 'POST', headers: new Headers([['a', 'b']]), body: new Uint8Array(1) });
  await request.arrayBuffer();
  await Response.json({ a: 1 }).arrayBuffer();
  new Response('x').headers.forEach(() => {});
}

/** A stem's init: `{entry, env, name, version}`; the env joins process.env before the bundle loads. */
async function init(body: Buffer): Promise<Handler> {
  const j = JSON.parse(body.toString('utf8')) as { entry: string; env?: Record<string, string>; name?: string; version?: number };
  for (const [k, v] of Object.entries(j.env ?? {})) if (!k.startsWith('CPUB_')) process.env[k] = String(v);
  FUNCTION = { name: String(j.name ?? ''), version: Number(j.version ?? 0) };
  return loadHandler(j.entry);
}

const NO_BODY = Buffer.alloc(0);

function readBody(req: IncomingMessage): Promise<Buffer> {
  if (req.headers['content-length'] === '0') return Promise.resolve(NO_BODY);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The log in a header when it is this small (most calls); past it, a trailer (the body is sent first). */
const HEADER_LOG_MAX = 16 * 1024;

/** A function's answer as the shim sends it: status, headers (not framing, not cpub-*), body in full. */
interface Answer {
  status: number;
  headers: Record<string, string[] | string>;
  body: Buffer;
  /** A body the function streams (a ReadableStream it made): sent as it is produced, over frames. */
  stream?: ReadableStream<Uint8Array>;
}

async function answerOf(response: Response, extra: Record<string, string> = {}, streams = false): Promise<Answer> {
  const headers: Record<string, string[] | string> = { ...extra };
  response.headers.forEach((v, k) => {
    // Framing is this hop's, and cpub-* names are the shim's: a function cannot set them.
    if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'trailer' && !k.startsWith('cpub-')) ((headers[k] ??= []) as string[]).push(v);
  });
  const stream = streams ? streamOf(response) : undefined;
  return stream ? { status: response.status, headers, body: NO_BODY, stream } : { status: response.status, headers, body: await bodyOf(response) };
}

/** The body to stream: one the function made from a stream (not a string or bytes, which are sent whole). */
function streamOf(response: Response): ReadableStream<Uint8Array> | undefined {
  if (response.body === null || response.bodyUsed) return undefined;
  if (STATE) {
    const source = (response as unknown as Record<symbol, { body?: { source?: unknown } | null } | undefined>)[STATE]?.body?.source;
    if (typeof source === 'string' || source instanceof Uint8Array) return undefined;
  }
  return response.body;
}

/** No body goes with these, whatever the function put in its Response. */
const bodiless = (status: number, method: string) => status === 204 || status === 304 || status < 200 || method === 'HEAD';

function sendHttp(res: ServerResponse, a: Answer, log: string, method: string): void {
  if (log.length > HEADER_LOG_MAX) {
    res.writeHead(a.status, { ...a.headers, trailer: 'Cpub-Logs' });
    res.addTrailers({ 'Cpub-Logs': log });
    return void res.end(a.body);
  }
  const headers: Record<string, string[] | string> = { ...a.headers, 'cpub-logs': log };
  if (!bodiless(a.status, method)) headers['content-length'] = String(a.body.length);
  res.writeHead(a.status, headers);
  res.end(a.body);
}

/**
 * Node's fetch classes keep the body a Response was made from (a string or bytes) in an internal state object;
 * reading it there skips a web stream and its promises per call. The symbol is found once, by a probe: where
 * Node's internals differ, it is not found and every body is read the standard way.
 */
const STATE = (() => {
  const probe = new Response('probe');
  for (const sym of Object.getOwnPropertySymbols(probe)) {
    const v = (probe as unknown as Record<symbol, { body?: { source?: unknown } } | undefined>)[sym];
    if (v?.body?.source === 'probe') return sym;
  }
  return undefined;
})();

async function bodyOf(response: Response): Promise<Buffer> {
  if (STATE && !response.bodyUsed) {
    const source = (response as unknown as Record<symbol, { body?: { source?: unknown } | null } | undefined>)[STATE]?.body?.source;
    if (typeof source === 'string') return Buffer.from(source);
    if (source instanceof Uint8Array) return Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  }
  if (response.body === null) return NO_BODY;
  return Buffer.from(await response.arrayBuffer());
}

async function main(): Promise<void> {
  let handler = STEM ? undefined : await loadHandler(BUNDLE);
  let env = functionEnv();
  // A stem has time before its first call (nothing waits for it to start): it loads what calls use then.
  if (STEM) await warmUp();
  /** One call, whichever way it came: runs the function in its invocation's context; never throws. */
  /**
   * One call, whichever way it came: runs the function in its invocation's context; never throws. A streamed answer
   * (`streams`: the transport can stream) comes back with its body still to read: `log` is then empty, and the
   * transport sends the body in the call's context and calls `finish` (the log is read from `inv` after it).
   */
  const handle = (fn: Handler, c: { method: string; url: string; headers: Headers; body: Buffer; bodyStream?: ReadableStream<Uint8Array>; id: string; deadline: number; streams?: boolean }): Promise<{ answer: Answer; log: string; inv: Invocation; finish: () => void }> => {
    const inv: Invocation = { id: c.id, written: 0, truncated: false, lines: [] };
    return als.run(inv, async () => {
      // The deadline's AbortSignal is made when first asked for: most functions never look, and an
      // AbortController and its timer are a large part of a call's cost here.
      let controller: AbortController | undefined;
      let timer: NodeJS.Timeout | undefined;
      const signal = () => {
        if (!controller) {
          const ac = (controller = new AbortController());
          timer = setTimeout(() => ac.abort(new Error('deadline exceeded')), Math.max(0, c.deadline - Date.now()));
        }
        return controller.signal;
      };
      let answer: Answer;
      try {
        const request = new Request(`http://function.local${c.url.startsWith('/') ? c.url : `/${c.url}`}`, {
          method: c.method,
          headers: c.headers,
          body: c.method === 'GET' || c.method === 'HEAD' ? undefined : (c.bodyStream ?? new Uint8Array(c.body)),
          ...(c.bodyStream ? { duplex: 'half' } : {}),
        } as RequestInit);
        Object.defineProperty(request, 'signal', { get: signal });
        const ctx = {
          env,
          log: ctxLog,
          invocationId: c.id,
          deadline: c.deadline,
          get signal() {
            return signal();
          },
          /** The call's trace (W3C trace context), when it is traced or its caller sent one: pass `traceparent` on. */
          get trace() {
            return traceOf(c.headers.get('traceparent'));
          },
          function: FUNCTION,
        };
        const result = await fn(request, ctx);
        const response = result instanceof Response ? result : Response.json(result ?? null);
        answer = await answerOf(response, {}, c.streams === true && !bodiless(response.status, c.method));
      } catch (err) {
        const e = err as Error;
        emit('stderr', 'error', e?.stack ?? String(err));
        answer = await answerOf(Response.json({ error: 'function_error', message: e?.message ?? String(err) }, { status: 500 }), { 'cpub-function-error': '1' });
      }
      const finish = () => clearTimeout(timer);
      if (answer.stream) return { answer, log: '', inv, finish };
      finish();
      // Every line the call wrote while its answer was made is in by now.
      return { answer, log: encodedLog(inv), inv, finish };
    });
  };

  const server = createServer(async (req, res) => {
    if (req.url === '/__cpub/ready') return void res.writeHead(204).end();
    if (req.url === '/__cpub/init' && req.method === 'POST' && STEM) {
      if (handler) return void res.writeHead(409).end();
      try {
        handler = await init(await readBody(req));
        env = functionEnv();
        return void res.writeHead(204).end();
      } catch (err) {
        emit('stderr', 'error', `cannot start the function: ${(err as Error)?.stack ?? err}`);
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String((err as Error)?.message ?? err), () => process.exit(70));
        return;
      }
    }
    if (!handler) return void res.writeHead(503).end();
    const fn = handler;
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      return void res.destroy(); // the agent went away mid-request: nobody to answer
    }
    const headers = new Headers();
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!;
      if (!/^cpub-/i.test(k)) headers.append(k, raw[i + 1]!);
    }
    const method = req.method ?? 'GET';
    const id = String(req.headers['cpub-invocation-id'] ?? '');
    const deadline = Number(req.headers['cpub-deadline'] ?? Date.now() + 30_000);
    const { answer, log } = await handle(fn, { method, url: req.url ?? '/', headers, body, id, deadline });
    sendHttp(res, answer, log, method);
  });
  server.keepAliveTimeout = 60_000;

  // The multiplexed socket (see frames.ts), made before the HTTP one: the agent locks the folder once that exists.
  if (MUX_SOCKET) {
    const mux = createNetServer((sock) => {
      const out = new FrameWriter(sock);
      /** This connection's streamed answers being sent, by call id. */
      const streaming = new Map<number, Outflow>();
      /** This connection's request bodies streaming in, by call id. */
      const incoming = new Map<number, BodyIn>();
      const reader = new FrameReader(MAX_REQUEST_FRAME, (id, head, body) => {
        const h = head as { m: string; u: string; h: [string, string][]; i: string; d: number | undefined; sb?: number; w?: number; x?: number; end?: number; err?: string };
        // More of a request body that streams in (`d` on a request head is its deadline, a number; here it is 1 with no method).
        if (h.m === undefined && (h.d !== undefined || h.end !== undefined)) {
          const inflow = incoming.get(id);
          if (!inflow) return; // its call has ended: the rest is not wanted
          if (h.end !== undefined) {
            incoming.delete(id);
            return inflow.end(typeof h.err === 'string' ? h.err : undefined);
          }
          return inflow.push(body);
        }
        // The agent's word on a streamed answer: more credit, or stop (its caller went away, or a limit passed).
        if (h.w !== undefined || h.x !== undefined) {
          const flow = streaming.get(id);
          if (flow && typeof h.w === 'number' && h.w > 0) flow.grant(h.w);
          if (flow && h.x !== undefined) flow.cancel();
          return;
        }
        void (async () => {
          if (!handler) return out.write(encodeFrame(id, { s: 503, h: [], l: EMPTY_LOG }));
          const headers = new Headers();
          try {
            for (const [k, v] of h.h) if (!/^cpub-/i.test(k)) headers.append(k, v);
          } catch (err) {
            // That call only: the connection carries other calls.
            return out.write(encodeFrame(id, { s: 400, h: [['content-type', 'text/plain']], l: EMPTY_LOG }, Buffer.from(`invalid request header: ${(err as Error).message}`)));
          }
          // A large body streams in after this frame (which holds its first bytes): the function reads it as it comes,
          // and each chunk it takes is credit for the agent to send one more.
          let bodyStream: ReadableStream<Uint8Array> | undefined;
          if (h.sb !== undefined) {
            const inflow = new BodyIn();
            incoming.set(id, inflow);
            bodyStream = inflow.stream(body, (bytes) => out.write(encodeFrame(id, { w: bytes })));
          }
          const { answer, log, inv, finish } = await handle(handler, { method: h.m, url: h.u, headers, body, bodyStream, id: h.i, deadline: h.d!, streams: true });
          const pairs: [string, string][] = [];
          for (const [k, v] of Object.entries(answer.headers)) for (const one of Array.isArray(v) ? v : [v]) pairs.push([k, one]);
          if (answer.stream) {
            out.write(encodeFrame(id, { s: answer.status, h: pairs, st: 1 }));
            const flow = new Outflow();
            streaming.set(id, flow);
            // In the call's context: what the function logs while its body is made is the call's.
            const ended = await als.run(inv, () => sendStream(answer.stream!, flow, (chunk) => out.write(encodeFrame(id, { d: 1 }, chunk))));
            streaming.delete(id);
            incoming.delete(id); // the call is over: the rest of its body, if any comes, is not wanted
            finish();
            return out.write(encodeFrame(id, { end: 1, l: encodedLog(inv), ...(ended ? { e: 1, err: ended } : {}) }));
          }
          incoming.delete(id);
          const error = answer.headers['cpub-function-error'] !== undefined;
          const sent = bodiless(answer.status, h.m) ? NO_BODY : answer.body;
          // An answer past the agent's limit is refused here, so the connection's other calls go on.
          if (sent.length > MAX_ANSWER_BYTES) out.write(encodeFrame(id, { s: 502, h: [], l: log, big: sent.length }));
          else out.write(encodeFrame(id, { s: answer.status, h: pairs, l: log, ...(error ? { e: 1 } : {}) }, sent));
        })().catch(() => sock.destroy());
      });
      sock.on('data', (d: Buffer) => {
        try {
          reader.push(d);
        } catch {
          sock.destroy(); // not our protocol
        }
      });
      sock.on('error', () => {});
      // The agent went away: nobody reads these answers any more.
      sock.on('close', () => {
        for (const flow of streaming.values()) flow.cancel();
      });
    });
    rmSync(MUX_SOCKET, { force: true });
    await new Promise<void>((resolve) => mux.listen(MUX_SOCKET, resolve));
    chmodSync(MUX_SOCKET, SOCKET_MODE);
  }
  rmSync(SOCKET, { force: true });
  server.listen(SOCKET, () => chmodSync(SOCKET, SOCKET_MODE));
}

// Stack traces point into the function's own sources (the bundle ships with its source map).
process.setSourceMapsEnabled(true);

// As PID 1 in its container, Node has no default handler for SIGTERM: without this, stopping a container
// waits out Podman's stop timeout.
process.on('SIGTERM', () => process.exit(0));

main().catch((err: Error) => {
  emit('stderr', 'error', `cannot start the function: ${err.stack ?? err}`);
  process.exit(70);
});

/** A request body streaming in: chunks held until the function reads them (the agent keeps within the window). */
class BodyIn {
  private queue: Buffer[] = [];
  private ended: { error?: string } | undefined;
  private wake: (() => void) | undefined;

  push(chunk: Buffer): void {
    this.queue.push(chunk);
    this.wake?.();
  }

  end(error?: string): void {
    this.ended = error ? { error } : {};
    this.wake?.();
  }

  /** The body as the function's Request reads it: `first`, then each chunk when it is asked for (credit given then). */
  stream(first: Buffer, credit: (bytes: number) => void): ReadableStream<Uint8Array> {
    let sentFirst = first.length === 0;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (!sentFirst) {
            sentFirst = true;
            return controller.enqueue(new Uint8Array(first.buffer, first.byteOffset, first.length));
          }
          while (!this.queue.length && !this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = undefined;
          const chunk = this.queue.shift();
          if (chunk) {
            controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
            return credit(chunk.length);
          }
          if (this.ended?.error) controller.error(new Error(this.ended.error));
          else controller.close();
        },
      },
      { highWaterMark: 0 },
    );
  }
}

/** A streamed answer's credit: the bytes the agent will take now, and whether it wants no more. */
class Outflow {
  credit = STREAM_WINDOW;
  cancelled = false;
  private wake: (() => void) | undefined;

  grant(bytes: number): void {
    this.credit += bytes;
    this.wake?.();
  }

  /** Set by the sender: stops a read of the function's stream that is waiting on the function. */
  onCancel: (() => void) | undefined;

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.wake?.();
    this.onCancel?.();
  }

  /** Resolves once there is credit, or the stream is cancelled. */
  ready(): Promise<void> | undefined {
    if (this.credit > 0 || this.cancelled) return undefined;
    return new Promise((resolve) => (this.wake = () => ((this.wake = undefined), resolve())));
  }
}

/**
 * Sends a streamed body in frames of at most CHUNK_MAX bytes, within the credit: the stream is read only while the
 * agent takes more (a slow caller slows the function; nothing piles up here). Resolves with the error that ended it,
 * if the function's stream failed (logged as the call's); cancelled, the function's stream is cancelled too.
 */
async function sendStream(stream: ReadableStream<Uint8Array>, flow: Outflow, send: (chunk: Uint8Array) => void): Promise<string | undefined> {
  const reader = stream.getReader();
  // Cancelled: the function's stream is cancelled at once (its cancel() runs), even while a read waits on it.
  // Bound to the call's context: what the function's cancel() logs is the call's.
  flow.onCancel = AsyncLocalStorage.bind(() => void reader.cancel(new Error('the caller went away')).catch(() => {}));
  try {
    for (;;) {
      await flow.ready();
      if (flow.cancelled) return undefined;
      const { done, value } = await reader.read();
      if (done || flow.cancelled) return undefined;
      if (!(value instanceof Uint8Array)) throw new TypeError('a streamed body must be made of Uint8Array chunks');
      for (let at = 0; at < value.length; ) {
        await flow.ready();
        if (flow.cancelled) return undefined;
        const n = Math.min(value.length - at, flow.credit, CHUNK_MAX);
        send(value.subarray(at, at + n));
        flow.credit -= n;
        at += n;
      }
    }
  } catch (err) {
    const e = err as Error;
    emit('stderr', 'error', e?.stack ?? String(err));
    return e?.message ?? String(err);
  } finally {
    if (flow.cancelled) await reader.cancel(new Error('the caller went away')).catch(() => {});
  }
}

/** ctx.trace: a valid `traceparent` (version 00) as its parts; null when the call has none. */
function traceOf(header: string | null): { traceparent: string; traceId: string; spanId: string; sampled: boolean } | null {
  const m = header ? /^00-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/.exec(header.trim()) : null;
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return null;
  return { traceparent: m[0], traceId: m[1]!, spanId: m[2]!, sampled: (parseInt(m[3]!, 16) & 1) === 1 };
}
