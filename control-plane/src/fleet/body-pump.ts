// The rest of a large request body, sent to the agent as the function takes it: its first bytes went with the call;
// the rest goes in `body_chunk` messages on the agent's InvokeStream within the credit of its PART_CREDIT replies, so
// a 100 MB upload never sits in this process — the caller's socket is paused whenever the function is behind.
import type { IncomingMessage } from 'node:http';
import { STREAM_WINDOW } from '../../../proto/loader.js';

/** A request body that streams in: its first bytes, and the caller's request to read the rest from. */
export interface StreamedBody {
  first: Buffer;
  source: IncomingMessage;
  /** The body at most (the function's requestLimitMb): past it the body fails, and the function's read with it. */
  limit: number;
  /** Bytes read so far (the first included). */
  bytes: number;
}

export interface BodyPump {
  /** The function took `bytes` more: the caller's socket may give that many more. */
  grant(bytes: number): void;
  /** The call is over: stop reading (the rest of the body is not wanted). */
  stop(): void;
}

/**
 * Sends the rest of a streamed body as messages (`send`): chunks within the credit (STREAM_WINDOW, then what the
 * agent grants), then the end — with an error when the caller went away or the body passed its limit.
 */
export function pumpBody(body: StreamedBody, send: (m: { bodyChunk?: Buffer; bodyEnd?: boolean; bodyError?: string }) => void): BodyPump {
  const src = body.source;
  let credit = STREAM_WINDOW;
  let done = false;
  const detach = () => {
    done = true;
    src.off('data', onData);
    src.off('end', onEnd);
    src.off('close', onClose);
    src.off('error', onAborted);
  };
  const finish = (error?: string) => {
    if (done) return;
    detach();
    send(error ? { bodyEnd: true, bodyError: error } : { bodyEnd: true });
  };
  const onData = (chunk: Buffer) => {
    body.bytes += chunk.length;
    if (body.bytes > body.limit) {
      src.pause();
      return finish(`the request body is over ${body.limit} bytes`);
    }
    send({ bodyChunk: chunk });
    credit -= chunk.length;
    if (credit <= 0) src.pause();
  };
  const onEnd = () => finish();
  const onAborted = () => finish('the caller closed the connection before its body ended');
  const onClose = () => !src.complete && onAborted();
  src.on('data', onData);
  src.on('end', onEnd);
  src.on('close', onClose);
  src.on('error', onAborted);
  if (src.readableEnded) finish();
  else src.resume();
  return {
    grant(bytes) {
      if (done) return;
      credit += bytes;
      if (credit > 0) src.resume();
    },
    stop() {
      if (done) return;
      detach();
      src.pause();
    },
  };
}
