// Error kinds that survive the gRPC hop: a status code for gRPC's sake, and the stable kind and code in
// trailing metadata, so the other side never branches on message text.
import * as grpc from '@grpc/grpc-js';

export type RemoteErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'rate_limited'
  | 'unavailable'
  | 'deadline_exceeded'
  | 'internal';

/** What crosses the wire: the same shape as the control plane's and the agent's AppError. */
export interface RemoteError {
  kind: RemoteErrorKind;
  code: string;
  detail: string;
  /** The agent epoch the error came from, when an agent sent it (every agent reply carries its epoch). */
  epoch?: string;
}

const STATUS: Record<RemoteErrorKind, grpc.status> = {
  invalid: grpc.status.INVALID_ARGUMENT,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  forbidden: grpc.status.PERMISSION_DENIED,
  not_found: grpc.status.NOT_FOUND,
  conflict: grpc.status.ALREADY_EXISTS,
  too_large: grpc.status.RESOURCE_EXHAUSTED,
  rate_limited: grpc.status.RESOURCE_EXHAUSTED,
  unavailable: grpc.status.UNAVAILABLE,
  deadline_exceeded: grpc.status.DEADLINE_EXCEEDED,
  internal: grpc.status.INTERNAL,
};

const KIND_OF_STATUS: Partial<Record<grpc.status, RemoteErrorKind>> = {
  [grpc.status.INVALID_ARGUMENT]: 'invalid',
  [grpc.status.UNAUTHENTICATED]: 'unauthenticated',
  [grpc.status.PERMISSION_DENIED]: 'forbidden',
  [grpc.status.NOT_FOUND]: 'not_found',
  [grpc.status.ALREADY_EXISTS]: 'conflict',
  [grpc.status.RESOURCE_EXHAUSTED]: 'rate_limited',
  [grpc.status.UNAVAILABLE]: 'unavailable',
  [grpc.status.DEADLINE_EXCEEDED]: 'deadline_exceeded',
  [grpc.status.CANCELLED]: 'unavailable',
};

const KIND_KEY = 'cpub-kind';
const CODE_KEY = 'cpub-code';
const EPOCH_KEY = 'cpub-epoch';

function isKind(v: unknown): v is RemoteErrorKind {
  return typeof v === 'string' && v in STATUS;
}

/** Turns an error with a kind and code into a gRPC status error (for a callback or `call.destroy`). */
export function toGrpcError(err: unknown, epoch?: string): Partial<grpc.StatusObject> & Error {
  const e = err as Partial<RemoteError> | null;
  const kind: RemoteErrorKind = isKind(e?.kind) ? e!.kind! : 'internal';
  const code = typeof e?.code === 'string' ? e.code : 'internal_error';
  const detail = kind === 'internal' && !isKind(e?.kind) ? 'internal error on the agent' : (e?.detail ?? String(err));
  const metadata = new grpc.Metadata();
  metadata.set(KIND_KEY, kind);
  metadata.set(CODE_KEY, code);
  if (epoch) metadata.set(EPOCH_KEY, epoch);
  return Object.assign(new Error(detail), { code: STATUS[kind], details: detail, metadata });
}

/** Reads the kind and code back from a gRPC error; errors from elsewhere get a kind from their status. */
export function fromGrpcError(err: unknown): RemoteError {
  const e = err as Partial<grpc.ServiceError> | null;
  const kind = e?.metadata?.get(KIND_KEY)[0];
  const code = e?.metadata?.get(CODE_KEY)[0];
  const detail = e?.details || e?.message || 'gRPC call failed';
  const epoch = e?.metadata?.get(EPOCH_KEY)[0];
  if (isKind(kind) && typeof code === 'string') return typeof epoch === 'string' ? { kind, code, detail, epoch } : { kind, code, detail };
  const status = typeof e?.code === 'number' ? (e.code as grpc.status) : grpc.status.UNKNOWN;
  const fallback = KIND_OF_STATUS[status] ?? 'internal';
  return { kind: fallback, code: `grpc_${grpc.status[status]?.toLowerCase() ?? 'unknown'}`, detail };
}
