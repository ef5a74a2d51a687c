// A call's request body at the function URL: a small one (most calls) is read whole before the call goes; a large
// one streams in — its first bytes go with the call, the rest as the function takes them (fleet/body-pump.ts).
import type { IncomingMessage } from 'node:http';
import { TooLarge } from '../errors.js';
import type { StreamedBody } from '../fleet/body-pump.js';

/** A body up to this size is read whole before the call goes (one message); a larger one streams. */
export const WHOLE_BODY_MAX = 2 ** 20;

export const isStreamed = (b: Buffer | StreamedBody): b is StreamedBody => !Buffer.isBuffer(b);

const NO_BODY = Buffer.alloc(0);

/**
 * Reads a call's body (or, `streams` false, any request's: http/json-body.ts): whole when it is at most
 * WHOLE_BODY_MAX (or when `streams` is false: then up to `limit`, whole); else its first bytes, the rest to stream.
 * A declared length over `limit` is refused (`tooLarge`, a 413) before anything is read.
 */
export async function readCallBody(req: IncomingMessage, limit: number, streams: boolean, tooLarge = () => TooLarge('body_too_large', `the request body is over ${limit} bytes`)): Promise<Buffer | StreamedBody> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge();
  if (!declared && req.headers['transfer-encoding'] === undefined) return NO_BODY;
  const parts: Buffer[] = [];
  let size = 0;
  // Not destroyed on a refusal: the rest is drained so the client gets its 413 (see function-url.ts fail()).
  for await (const part of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > limit) throw tooLarge();
    parts.push(part);
    if (streams && size > WHOLE_BODY_MAX) return { first: Buffer.concat(parts), source: req, limit, bytes: size };
  }
  return Buffer.concat(parts);
}
