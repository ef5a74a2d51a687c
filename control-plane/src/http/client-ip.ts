// The client's address: the socket peer, or the last X-Forwarded-For hop when a trusted reverse proxy sits in front.
import type { MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';

export function clientIp(trustProxy: boolean): MiddlewareHandler {
  return async (c, next) => {
    let ip: string | null = null;
    if (trustProxy) {
      const xff = c.req.header('x-forwarded-for');
      ip = xff?.split(',').map((s) => s.trim()).filter(Boolean).pop() ?? null;
    }
    if (!ip) {
      try {
        ip = getConnInfo(c).remote.address ?? null;
      } catch {
        ip = null; // app.request() in tests has no socket
      }
    }
    c.set('clientIp', ip);
    await next();
  };
}
