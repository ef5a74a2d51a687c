// Authentication of every server↔agent call: a per-node credential in `authorization` metadata, checked by a
// server interceptor before any handler runs; a client interceptor adds it to every call.
import { createHash, timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { toGrpcError } from './errors.js';

const KEY = 'authorization';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** A constant-time check of a presented credential against the expected one. */
export function credentialMatches(expected: string, presented: string | undefined): boolean {
  return presented !== undefined && timingSafeEqual(digest(expected), digest(presented));
}

/**
 * Server interceptor: an unauthenticated call gets UNAUTHENTICATED (kind and code in trailers) and reaches
 * no handler. `accept(token)` decides; it is called once per call.
 */
export function requireCredential(accept: (token: string | undefined) => boolean): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            const v = metadata.get(KEY)[0];
            const token = typeof v === 'string' && v.startsWith('Bearer ') ? v.slice(7) : undefined;
            if (!accept(token)) {
              const err = toGrpcError({ kind: 'unauthenticated', code: 'bad_node_credential', detail: 'missing or invalid node credential' });
              call.sendStatus({ code: err.code!, details: err.details!, metadata: err.metadata! });
              return;
            }
            mdNext(metadata);
          },
        }),
    });
}

/** Client interceptor that sends `token` with every call. */
export function sendCredential(token: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        metadata.set(KEY, `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}
