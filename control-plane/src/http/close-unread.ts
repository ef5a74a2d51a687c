// An answer sent before the request's body was read (a refusal by size, a 408) carries `Connection: close`:
// the rest of the body is never read, so the connection cannot carry another request after it. The socket is
// closed the way nginx's lingering close does it: our side is shut (FIN) once the answer is out, and what the
// client still sends is read and dropped for a moment, so the kernel does not reset the connection (a reset
// can destroy the answer before the client reads it) — then it is closed whatever the client does.
import type { MiddlewareHandler } from 'hono';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How long a refused upload's sender is given to notice the answer before its connection is cut. */
const LINGER_MS = 2000;

export function closeUnread(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (!incoming || incoming.complete) return;
    // Such answers are refusals, small: taken whole, so they go out with a Content-Length and the client
    // knows where they end without waiting for the connection to close.
    const res = c.res;
    const body = res.body ? await res.arrayBuffer() : null;
    c.res = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    c.res.headers.set('connection', 'close');
    lingerOnClose(incoming.socket);
    incoming.resume();
  };
}

/** Node ends a `Connection: close` answer with socket.destroySoon(): made a half-close with a bounded linger. */
export function lingerOnClose(socket: Socket): void {
  socket.destroySoon = function (this: Socket) {
    this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  };
}
