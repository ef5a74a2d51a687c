# The Python runtime's shim: runs inside every Python function container (docs/runtime-contract.md is the contract;
# node-agent/src/shim/shim.ts is the reference runtime). The standard library only: it is copied into the runtime
# image as /opt/cpub/shim.py.
#
# The function is a module (CPUB_BUNDLE) with either `handler(request, ctx)` (sync or async) returning a Response, a
# str, bytes, a JSON value, or an async iterator of bytes (streamed) — or `app`, an ASGI 3 application.
import asyncio
import base64
import contextvars
import importlib.util
import json
import os
import signal
import struct
import sys
import time
import traceback

SOCKET = os.environ.get("CPUB_SOCKET", "/run/cpub/fn.sock")
MUX_SOCKET = os.environ.get("CPUB_MUX_SOCKET")
LOG_SOCKET = os.environ.get("CPUB_LOG_SOCKET")
LOG_CAP = int(os.environ.get("CPUB_LOG_CAP", "262144"))
MAX_ANSWER_BYTES = int(os.environ.get("CPUB_MAX_RESPONSE_BYTES", str(16 * 2**20)))
STREAM_WINDOW = int(os.environ.get("CPUB_STREAM_WINDOW", str(2**20)))
SOCKET_MODE = int(os.environ.get("CPUB_SOCKET_MODE", "777"), 8) & 0o777
STEM = os.environ.get("CPUB_STEM") == "1"
BUNDLE = os.environ.get("CPUB_BUNDLE", "/app/handler.py")
CHUNK_MAX = 64 * 1024
MAX_REQUEST_FRAME = 64 * 2**20
HEADER_LOG_MAX = 16 * 1024
FUNCTION = {"name": os.environ.get("CPUB_FUNCTION_NAME", ""), "version": int(os.environ.get("CPUB_FUNCTION_VERSION", "0") or 0)}

# --- logs: everything the function prints belongs to the call it printed during ---------------------------------


class Invocation:
    def __init__(self, id):
        self.id = id
        self.written = 0
        self.truncated = False
        self.lines = []
        self.partial = {}


OUTSIDE = Invocation("")
current = contextvars.ContextVar("cpub_invocation", default=OUTSIDE)
log_writer = None  # the live log socket's writer, once connected
early = []
MAX_PENDING_LOG_BYTES = 1 << 20


def raw_write(line):
    if log_writer is None:
        if len(early) < 100:
            early.append(line)
        return
    if log_writer.transport.get_write_buffer_size() < MAX_PENDING_LOG_BYTES:
        log_writer.write(line.encode())


def emit(stream, level, message):
    inv = current.get()
    if inv.truncated:
        return
    entry = {"t": int(time.time() * 1000), "s": stream, "l": level, "m": message}
    line = json.dumps({"i": inv.id, **entry}) + "\n"
    if inv is not OUTSIDE:
        if inv.written + len(line) > LOG_CAP:
            inv.truncated = True
            raw_write(json.dumps({"i": inv.id, "t": int(time.time() * 1000), "truncated": True}) + "\n")
            return
        inv.lines.append(entry)
    inv.written += len(line)
    raw_write(line)


class StreamCapture:
    """sys.stdout / sys.stderr: whole lines, each the current call's."""

    def __init__(self, name, level):
        self.name = name
        self.level = level

    def write(self, text):
        if not isinstance(text, str):
            text = str(text)
        inv = current.get()
        buf = inv.partial.get(self.name, "") + text
        *whole, rest = buf.split("\n")
        for line in whole:
            emit(self.name, self.level, line)
        inv.partial[self.name] = rest
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


def flush_partial(inv):
    for name, rest in list(inv.partial.items()):
        if rest:
            token = current.set(inv)
            try:
                emit(name, "error" if name == "stderr" else "info", rest)
            finally:
                current.reset(token)
    inv.partial = {}


sys.stdout = StreamCapture("stdout", "info")
sys.stderr = StreamCapture("stderr", "error")

EMPTY_LOG = base64.b64encode(json.dumps({"lines": [], "truncated": False}).encode()).decode()


def encoded_log(inv):
    flush_partial(inv)
    if not inv.lines and not inv.truncated:
        return EMPTY_LOG
    return base64.b64encode(json.dumps({"lines": inv.lines, "truncated": inv.truncated}).encode()).decode()


class Log:
    """ctx.log: lines of the stream "ctx"."""

    def _at(level):
        return lambda self, *args: emit("ctx", level, " ".join(str(a) for a in args))

    info = _at("info")
    debug = _at("debug")
    warn = _at("warn")
    warning = warn
    error = _at("error")


LOG = Log()

# --- what the function sees ---------------------------------------------------------------------------------------


class Request:
    def __init__(self, method, target, headers, body_first, body_stream):
        path, _, query = target.partition("?")
        self.method = method
        self.path = path or "/"
        self.query = query
        self.url = "http://function.local" + target
        self.header_list = headers
        self.headers = {}
        for k, v in headers:
            self.headers[k.lower()] = v if k.lower() not in self.headers else self.headers[k.lower()] + ", " + v
        self._first = body_first
        self._rest = body_stream  # a BodyIn, or None
        self._used = False

    async def stream(self):
        """The body, chunk by chunk, as it comes (a large body streams in)."""
        if self._used:
            raise RuntimeError("the request body was read already")
        self._used = True
        if self._first:
            yield self._first
        if self._rest is not None:
            async for chunk in self._rest.chunks():
                yield chunk

    async def body(self):
        return b"".join([c async for c in self.stream()])

    async def text(self):
        return (await self.body()).decode("utf-8")

    async def json(self):
        return json.loads(await self.body())


class Response:
    def __init__(self, body=b"", status=200, headers=None):
        self.status = status
        self.headers = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        self.body = body


class Ctx:
    def __init__(self, env, invocation_id, deadline, traceparent):
        self.env = env
        self.log = LOG
        self.invocation_id = invocation_id
        self.deadline = deadline
        self.trace = trace_of(traceparent)
        self.function = dict(FUNCTION)

    def remaining_ms(self):
        return max(0, self.deadline - int(time.time() * 1000))


def trace_of(header):
    import re

    m = re.match(r"^00-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$", (header or "").strip())
    if not m or set(m.group(1)) == {"0"} or set(m.group(2)) == {"0"}:
        return None
    return {"traceparent": m.group(0), "trace_id": m.group(1), "span_id": m.group(2), "sampled": int(m.group(3), 16) & 1 == 1}


# `from cpub import Response`: what a function imports from its runtime.
import types as _types

_cpub = _types.ModuleType("cpub")
_cpub.Request = Request
_cpub.Response = Response
sys.modules["cpub"] = _cpub


def function_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("CPUB_")}


def load(entry):
    folder = os.path.dirname(entry)
    for p in (os.path.join(folder, "vendor"), folder):
        if p not in sys.path:
            sys.path.insert(0, p)
    spec = importlib.util.spec_from_file_location("cpub_function", entry)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"{entry} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules["cpub_function"] = module
    spec.loader.exec_module(module)
    if callable(getattr(module, "handler", None)):
        return ("handler", module.handler)
    if callable(getattr(module, "app", None)):
        return ("asgi", module.app)
    raise RuntimeError(f"{entry} must define handler(request, ctx) or an ASGI app")


# --- one call -----------------------------------------------------------------------------------------------------

FRAMING = {"content-length", "transfer-encoding", "trailer", "connection"}


def answer_headers(pairs):
    out = []
    for k, v in pairs:
        k = (k.decode() if isinstance(k, bytes) else str(k)).lower()
        v = v.decode() if isinstance(v, bytes) else str(v)
        if k not in FRAMING and not k.startswith("cpub-"):
            out.append([k, v])
    return out


class Answer:
    """What the function answered: status, headers, and a whole body or an async iterator of chunks."""

    def __init__(self, status, headers, body=b"", chunks=None, error=False):
        self.status = status
        self.headers = headers
        self.body = body
        self.chunks = chunks
        self.error = error


def as_bytes(x):
    if isinstance(x, (bytes, bytearray, memoryview)):
        return bytes(x)
    if isinstance(x, str):
        return x.encode("utf-8")
    raise TypeError(f"a body chunk must be bytes or str, not {type(x).__name__}")


async def answer_of(result):
    if isinstance(result, Response):
        status, headers, body = result.status, result.headers, result.body
    elif isinstance(result, (bytes, bytearray, str)):
        status, headers, body = 200, [("content-type", "text/plain; charset=utf-8" if isinstance(result, str) else "application/octet-stream")], result
    elif hasattr(result, "__aiter__"):
        status, headers, body = 200, [("content-type", "application/octet-stream")], result
    else:
        status, headers, body = 200, [("content-type", "application/json")], json.dumps(result)
    if hasattr(body, "__aiter__"):
        async def chunks(it=body):
            async for c in it:
                yield as_bytes(c)
        return Answer(status, answer_headers(headers), chunks=chunks())
    if hasattr(body, "__iter__") and not isinstance(body, (bytes, bytearray, str, memoryview)):
        body = b"".join(as_bytes(c) for c in body)
    return Answer(status, answer_headers(headers), body=as_bytes(body if body is not None else b""))


def failed(err):
    emit("stderr", "error", "".join(traceback.format_exception(err)).rstrip())
    body = json.dumps({"error": "function_error", "message": str(err)}).encode()
    return Answer(500, [["content-type", "application/json"]], body=body, error=True)


async def run_asgi(app, request, ctx):
    """An ASGI 3 app: its response start and body messages as an Answer (streamed when it sends more_body)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1", "method": request.method,
        "scheme": "http", "path": request.path, "raw_path": request.path.encode(), "query_string": request.query.encode(),
        "root_path": "", "headers": [(k.lower().encode(), v.encode()) for k, v in request.header_list],
        "server": ("function.local", 80), "client": None, "state": {"cpub": ctx},
    }
    body = request.stream()
    done = False

    async def receive():
        nonlocal done
        if done:
            await asyncio.Event().wait()  # disconnect only when the call is over
        try:
            chunk = await body.__anext__()
            return {"type": "http.request", "body": chunk, "more_body": True}
        except StopAsyncIteration:
            done = True
            return {"type": "http.request", "body": b"", "more_body": False}

    queue = asyncio.Queue()
    started = asyncio.get_running_loop().create_future()

    async def send(message):
        if message["type"] == "http.response.start":
            started.set_result(message)
        elif message["type"] == "http.response.body":
            await queue.put((message.get("body", b""), message.get("more_body", False)))

    task = asyncio.ensure_future(app(scope, receive, send))
    waiter = asyncio.ensure_future(started)
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    if not started.done():
        if task.exception():
            raise task.exception()
        raise RuntimeError("the ASGI app returned without a response")
    start = started.result()
    first, more = await queue.get()
    headers = answer_headers(start.get("headers", []))
    if not more:
        return Answer(start["status"], headers, body=first)

    async def chunks():
        chunk, again = first, True
        while True:
            if chunk:
                yield chunk
            if not again:
                break
            chunk, again = await queue.get()
        await task

    return Answer(start["status"], headers, chunks=chunks())


async def handle(fn, method, target, headers, body_first, body_stream, invocation_id, deadline, streams):
    """One call in its own context: the Answer and the Invocation (its log). Never raises."""
    inv = Invocation(invocation_id)
    current.set(inv)
    headers = [(k, v) for k, v in headers if not k.lower().startswith("cpub-")]
    request = Request(method, target if target.startswith("/") else "/" + target, headers, body_first, body_stream)
    ctx = Ctx(ENV[0], invocation_id, deadline, request.headers.get("traceparent"))
    try:
        kind, f = fn
        if kind == "asgi":
            answer = await run_asgi(f, request, ctx)
        else:
            result = f(request, ctx)
            if asyncio.iscoroutine(result):
                result = await result
            answer = await answer_of(result)
        if answer.chunks is not None and (not streams or answer.status in (204, 304) or answer.status < 200 or method == "HEAD"):
            answer.body = b"".join([c async for c in answer.chunks])
            answer.chunks = None
    except Exception as err:  # the function's failure: a 500 marked as its own
        answer = failed(err)
    return answer, inv


# --- frames (CPUB_MUX_SOCKET) -------------------------------------------------------------------------------------


def frame(id, head, body=b""):
    h = json.dumps(head, separators=(",", ":")).encode()
    return struct.pack("<III", 8 + len(h) + len(body), id, len(h)) + h + body


class Outflow:
    """A streamed answer's credit: what the agent will take now; cancelled when it wants no more."""

    def __init__(self):
        self.credit = STREAM_WINDOW
        self.cancelled = False
        self.event = asyncio.Event()

    def grant(self, n):
        self.credit += n
        self.event.set()

    def cancel(self):
        self.cancelled = True
        self.event.set()

    async def ready(self):
        while self.credit <= 0 and not self.cancelled:
            self.event.clear()
            await self.event.wait()


class BodyIn:
    """A request body streaming in: chunks held until the function reads them; each read is credit for one more."""

    def __init__(self, credit):
        self.queue = []
        self.ended = None
        self.event = asyncio.Event()
        self.credit = credit

    def push(self, chunk):
        self.queue.append(chunk)
        self.event.set()

    def end(self, error=None):
        self.ended = {"error": error}
        self.event.set()

    async def chunks(self):
        while True:
            while not self.queue and self.ended is None:
                self.event.clear()
                await self.event.wait()
            if self.queue:
                chunk = self.queue.pop(0)
                self.credit(len(chunk))
                yield chunk
                continue
            if self.ended.get("error"):
                raise IOError(self.ended["error"])
            return


async def send_stream(answer, flow, write):
    """Sends a streamed body within the credit; the error that ended it, if the function's stream failed."""
    try:
        async for chunk in answer.chunks:
            at = 0
            while at < len(chunk):
                await flow.ready()
                if flow.cancelled:
                    await answer.chunks.aclose()
                    return None
                n = min(len(chunk) - at, flow.credit, CHUNK_MAX)
                write(chunk[at:at + n])
                flow.credit -= n
                at += n
            if flow.cancelled:
                await answer.chunks.aclose()
                return None
    except Exception as err:
        emit("stderr", "error", "".join(traceback.format_exception(err)).rstrip())
        return str(err)
    return None


async def serve_mux(reader, writer):
    streaming = {}
    incoming = {}
    tasks = set()

    def write(data):
        if not writer.is_closing():
            writer.write(data)

    async def call(id, h, body, body_stream):
        if HANDLER[0] is None:
            incoming.pop(id, None)
            return write(frame(id, {"s": 503, "h": [], "l": EMPTY_LOG}))
        answer, inv = await handle(HANDLER[0], h["m"], h["u"], [tuple(p) for p in h["h"]], body, body_stream, h.get("i", ""), h.get("d", 0), True)
        if answer.chunks is not None:
            write(frame(id, {"s": answer.status, "h": answer.headers, "st": 1}))
            flow = streaming[id] = Outflow()
            token = current.set(inv)
            try:
                err = await send_stream(answer, flow, lambda c: write(frame(id, {"d": 1}, c)))
            finally:
                current.reset(token)
            streaming.pop(id, None)
            incoming.pop(id, None)
            end = {"end": 1, "l": encoded_log(inv)}
            if err is not None:
                end.update({"e": 1, "err": err})
            return write(frame(id, end))
        incoming.pop(id, None)
        log = encoded_log(inv)
        if len(answer.body) > MAX_ANSWER_BYTES:
            return write(frame(id, {"s": 502, "h": [], "l": log, "big": len(answer.body)}))
        head = {"s": answer.status, "h": answer.headers, "l": log}
        if answer.error:
            head["e"] = 1
        write(frame(id, head, answer.body))

    try:
        while True:
            pre = await reader.readexactly(4)
            (length,) = struct.unpack("<I", pre)
            if length < 8 or length > MAX_REQUEST_FRAME:
                break
            rest = await reader.readexactly(length)
            id, head_len = struct.unpack("<II", rest[:8])
            if 8 + head_len > len(rest):
                break
            h = json.loads(rest[8:8 + head_len])
            body = rest[8 + head_len:]
            if "m" not in h:
                if "w" in h or "x" in h:
                    flow = streaming.get(id)
                    if flow and isinstance(h.get("w"), int) and h["w"] > 0:
                        flow.grant(h["w"])
                    if flow and "x" in h:
                        flow.cancel()
                elif "d" in h or "end" in h:
                    inflow = incoming.get(id)
                    if inflow is not None:
                        if "end" in h:
                            incoming.pop(id, None)
                            inflow.end(h.get("err"))
                        else:
                            inflow.push(body)
                continue
            # The body's stream is registered before the call is scheduled: its chunks may already be in the
            # reader's buffer, and the loop reads them before the call's task first runs.
            body_stream = None
            if h.get("sb") is not None:
                body_stream = incoming[id] = BodyIn(lambda n, id=id: write(frame(id, {"w": n})))
            t = asyncio.ensure_future(call(id, h, body, body_stream))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        for flow in streaming.values():
            flow.cancel()
        writer.close()


# --- HTTP (CPUB_SOCKET): readiness, a stem's init, and calls for agents without frames ----------------------------

HANDLER = [None]
ENV = [function_env()]


async def read_http_body(reader, headers):
    te = headers.get("transfer-encoding", "")
    if "chunked" in te.lower():
        parts = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b""):
                    pass
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
    n = int(headers.get("content-length", "0") or 0)
    return await reader.readexactly(n) if n else b""


def http_answer(status, headers, body=b"", close=False):
    reason = {200: "OK", 204: "No Content", 409: "Conflict", 500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "Status")
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers]
    if status not in (204, 304) and status >= 200:
        lines.append(f"content-length: {len(body)}")
    if close:
        lines.append("connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def serve_http(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            method, target, _ = line.decode("latin-1").split(" ", 2)
            pairs = []
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                pairs.append((k.strip(), v.strip()))
            headers = {k.lower(): v for k, v in pairs}
            body = await read_http_body(reader, headers)
            if target == "/__cpub/ready":
                writer.write(http_answer(204, []))
            elif target == "/__cpub/init" and method == "POST" and STEM:
                if HANDLER[0] is not None:
                    writer.write(http_answer(409, []))
                else:
                    try:
                        HANDLER[0] = init(body)
                        ENV[0] = function_env()
                        writer.write(http_answer(204, []))
                    except Exception as err:
                        emit("stderr", "error", "cannot start the function: " + "".join(traceback.format_exception(err)).rstrip())
                        writer.write(http_answer(500, [("content-type", "text/plain")], str(err).encode(), close=True))
                        await writer.drain()
                        os._exit(70)
            elif HANDLER[0] is None:
                writer.write(http_answer(503, []))
            else:
                deadline = int(headers.get("cpub-deadline", str(int(time.time() * 1000) + 30000)))
                answer, inv = await handle(HANDLER[0], method, target, pairs, body, None, headers.get("cpub-invocation-id", ""), deadline, False)
                out = list(answer.headers)
                if answer.error:
                    out.append(("cpub-function-error", "1"))
                log = encoded_log(inv)
                if len(log) > HEADER_LOG_MAX:
                    head = [f"HTTP/1.1 {answer.status} Status"] + [f"{k}: {v}" for k, v in out] + ["transfer-encoding: chunked", "trailer: Cpub-Logs"]
                    chunk = (f"{len(answer.body):x}\r\n".encode() + answer.body + b"\r\n") if answer.body else b""
                    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + chunk + b"0\r\nCpub-Logs: " + log.encode() + b"\r\n\r\n")
                else:
                    bodiless = answer.status in (204, 304) or answer.status < 200 or method == "HEAD"
                    writer.write(http_answer(answer.status, out + [("cpub-logs", log)], b"" if bodiless else answer.body))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


def init(body):
    j = json.loads(body)
    for k, v in (j.get("env") or {}).items():
        if not k.startswith("CPUB_"):
            os.environ[k] = str(v)
    FUNCTION.update({"name": str(j.get("name", "")), "version": int(j.get("version", 0) or 0)})
    return load(j["entry"])


async def connect_log():
    global log_writer
    if not LOG_SOCKET:
        return
    try:
        _, w = await asyncio.open_unix_connection(LOG_SOCKET)
    except OSError:
        return
    log_writer = w
    for line in early:
        w.write(line.encode())
    early.clear()


async def main():
    await connect_log()
    if not STEM:
        try:
            HANDLER[0] = load(BUNDLE)
        except BaseException as err:
            emit("stderr", "error", "cannot start the function: " + "".join(traceback.format_exception(err)).rstrip())
            if log_writer is not None:
                await log_writer.drain()
            os._exit(70)
    ENV[0] = function_env()
    servers = []
    # The frame socket first: the agent locks the folder once the HTTP one exists.
    if MUX_SOCKET:
        if os.path.exists(MUX_SOCKET):
            os.unlink(MUX_SOCKET)
        servers.append(await asyncio.start_unix_server(serve_mux, path=MUX_SOCKET, limit=MAX_REQUEST_FRAME))
        os.chmod(MUX_SOCKET, SOCKET_MODE)
    if os.path.exists(SOCKET):
        os.unlink(SOCKET)
    servers.append(await asyncio.start_unix_server(serve_http, path=SOCKET, limit=MAX_REQUEST_FRAME))
    os.chmod(SOCKET, SOCKET_MODE)
    await asyncio.Event().wait()


# As PID 1 in its container, the process must end on SIGTERM itself.
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

if __name__ == "__main__":
    asyncio.run(main())
