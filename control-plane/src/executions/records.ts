// The stored form of an execution record (db/schema.ts ExecutionsTable), converted here and only here. A row is
// (fn, id, status, detail): the function as its number in record_numbers (executions/record-numbers.ts), the
// execution's UUIDv7 as 16 bytes — its first 48 bits are the call's start in ms, so the key (fn, id) orders a
// function's calls by time and there is no started_at column —, the status as a code (filtered on), and everything
// else in `detail`, a protobuf message (ExecutionDetail below) that omits what is zero: ≈ 20 bytes for a warm call.
import protobuf from 'protobufjs';
import type { ExecutionStatus } from '../db/schema.js';
import type { Trigger } from '../../../common/api-types.js';

/** How a call came (api-types.ts Trigger), for schemas. */
export const TRIGGERS = ['api', 'url', 'schedule'] as const satisfies readonly Trigger[];
import { EXECUTION_STATUSES } from '../../../proto/outcomes.js';

/** A status's code in the table: its place in EXECUTION_STATUSES, which only grows at its end. */
export const STATUS_CODES: Readonly<Record<ExecutionStatus, number>> = Object.fromEntries(EXECUTION_STATUSES.map((s, i) => [s, i])) as Record<ExecutionStatus, number>;

export function statusOfCode(code: number): ExecutionStatus {
  return EXECUTION_STATUSES[code] ?? 'error';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => UUID.test(s);

/** A UUID's 16 bytes (the caller has checked it is one). */
export function uuidBytes(id: string): Buffer {
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

export function uuidText(b: Uint8Array): string {
  const h = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The time (epoch ms) a UUIDv7 begins with: a call's start, for an execution id. */
export function timeOfId(id: Uint8Array): number {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).readUIntBE(0, 6);
}

/** The smallest id of a call started at `ms`: `id >= idFloor(t)` is "started at or after t". */
export function idFloor(ms: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUIntBE(Math.max(0, Math.min(ms, 2 ** 48 - 1)), 0, 6);
  return b;
}

/** A call's record as the code sees it. */
export interface ExecutionRecord {
  functionId: string;
  /** The stored key: a UUIDv7 whose time is startedAt. */
  key: Buffer;
  /** The execution's id as callers know it: the key's text, or the id of a record older than time-ordered ids. */
  id: string;
  startedAt: number;
  status: ExecutionStatus;
  version: number;
  nodeId: string | null;
  trigger: Trigger;
  /** The async call this was an attempt of (its id); null for a sync call. */
  callId: string | null;
  httpStatus: number;
  durationMs: number;
  coldStart: boolean;
  cpuMs: number;
  peakMemoryKib: number;
  method: string;
  path: string;
  requestBytes: number;
  error: string | null;
  queuedMs: number;
  runMs: number;
  placementMs: number;
  agentUs: number;
  /** A cold start's phases; null for a warm call. */
  cold: { createMs: number; startMs: number; readyMs: number; prewarmed: boolean } | null;
  /** 0: the call logged nothing; 1: its lines are in execution_logs; 2: the same, cut at the cap. */
  logs: 0 | 1 | 2;
  /** The call's trace id (32 hex digits; see InvocationService), or null. */
  traceId?: string | null;
}

// Field numbers are forever: a field is added with a new number, never renumbered (rows written years ago are read
// with this). 1–15 take one byte of tag: those are what every call has.
const DETAIL = protobuf.Type.fromJSON('ExecutionDetail', {
  fields: {
    version: { type: 'uint32', id: 1 },
    node: { type: 'uint32', id: 2 }, // the node's number in record_numbers; 0: none
    url: { type: 'bool', id: 3 }, // the trigger: true for the function URL, false for the API
    httpStatus: { type: 'uint32', id: 4 },
    durationMs: { type: 'uint32', id: 5 },
    cpuMs: { type: 'uint32', id: 6 },
    peakMemoryKib: { type: 'uint32', id: 7 },
    method: { type: 'uint32', id: 8 }, // 1 + its place in METHODS; 0: methodName
    path: { type: 'string', id: 9 }, // without its leading '/'
    requestBytes: { type: 'uint32', id: 10 },
    queuedMs: { type: 'uint32', id: 11 },
    runMs: { type: 'uint32', id: 12 },
    placementMs: { type: 'uint32', id: 13 },
    agentUs: { type: 'uint32', id: 14 },
    logs: { type: 'uint32', id: 15 },
    coldStart: { type: 'bool', id: 16 },
    createMs: { type: 'uint32', id: 17 },
    startMs: { type: 'uint32', id: 18 },
    readyMs: { type: 'uint32', id: 19 },
    prewarmed: { type: 'bool', id: 20 },
    error: { type: 'string', id: 21 },
    methodName: { type: 'string', id: 22 },
    legacyId: { type: 'bytes', id: 23 }, // the id of a record made before ids were UUIDv7 of the start (migration 0008)
    hasError: { type: 'bool', id: 24 }, // error is set (it may be the empty string)
    schedule: { type: 'bool', id: 25 }, // the trigger: a schedule (url is then false)
    call: { type: 'bytes', id: 26 }, // the async call (16 bytes of its UUID) this was an attempt of
    trace: { type: 'bytes', id: 27 }, // the call's trace id (16 bytes)
  },
});

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

interface Detail {
  version?: number;
  node?: number;
  url?: boolean;
  httpStatus?: number;
  durationMs?: number;
  cpuMs?: number;
  peakMemoryKib?: number;
  method?: number;
  path?: string;
  requestBytes?: number;
  queuedMs?: number;
  runMs?: number;
  placementMs?: number;
  agentUs?: number;
  logs?: number;
  coldStart?: boolean;
  createMs?: number;
  startMs?: number;
  readyMs?: number;
  prewarmed?: boolean;
  error?: string;
  methodName?: string;
  legacyId?: Uint8Array;
  hasError?: boolean;
  schedule?: boolean;
  call?: Uint8Array;
  trace?: Uint8Array;
}

/** A number as the message holds it: left out when 0 (protobufjs writes every field that is set). */
const n = (v: number): number | undefined => (v > 0 ? Math.min(Math.round(v), 0xffffffff) : undefined);

/** The row of a record: `fn` and `node` are the numbers of its function and node (record-numbers.ts). */
export function encodeRecord(r: ExecutionRecord, fn: number, node: number, legacyId?: Buffer): { fn: number; id: Buffer; status: number; detail: Buffer } {
  const m = METHODS.indexOf(r.method) + 1;
  const d: Detail = {
    version: n(r.version),
    node: n(node),
    url: r.trigger === 'url' || undefined,
    httpStatus: n(r.httpStatus),
    durationMs: n(r.durationMs),
    cpuMs: n(r.cpuMs),
    peakMemoryKib: n(r.peakMemoryKib),
    method: m || undefined,
    methodName: m ? undefined : r.method,
    path: r.path === '/' ? undefined : r.path.startsWith('/') ? r.path.slice(1) : r.path,
    requestBytes: n(r.requestBytes),
    queuedMs: n(r.queuedMs),
    runMs: n(r.runMs),
    placementMs: n(r.placementMs),
    agentUs: n(r.agentUs),
    logs: r.logs || undefined,
    coldStart: r.coldStart || undefined,
    createMs: r.cold ? n(r.cold.createMs) : undefined,
    startMs: r.cold ? n(r.cold.startMs) : undefined,
    readyMs: r.cold ? n(r.cold.readyMs) : undefined,
    prewarmed: r.cold?.prewarmed || undefined,
    error: r.error || undefined,
    hasError: r.error !== null || undefined,
    legacyId,
    schedule: r.trigger === 'schedule' || undefined,
    call: r.callId ? uuidBytes(r.callId) : undefined,
    trace: r.traceId ? Buffer.from(r.traceId, 'hex') : undefined,
  };
  return { fn, id: r.key, status: STATUS_CODES[r.status], detail: Buffer.from(DETAIL.encode(d).finish()) };
}

export interface StoredRecord {
  id: Uint8Array;
  status: number;
  detail: Uint8Array;
}

/** Rows as records: their node numbers are looked up once for them all (`nodeIds`). */
export async function decodeRecords(functionIdOf: (row: StoredRecord) => string, rows: StoredRecord[], nodeIds: (nos: number[]) => Promise<Map<number, string>>): Promise<ExecutionRecord[]> {
  const details = rows.map((r) => DETAIL.decode(r.detail) as unknown as Detail);
  const nos = [...new Set(details.map((d) => d.node ?? 0).filter((x) => x > 0))];
  const nodes = nos.length ? await nodeIds(nos) : new Map<number, string>();
  return rows.map((row, i) => {
    const d = details[i]!;
    const key = Buffer.from(row.id);
    const coldStart = d.coldStart ?? false;
    return {
      functionId: functionIdOf(row),
      key,
      id: uuidText(d.legacyId?.length === 16 ? d.legacyId : key),
      startedAt: timeOfId(key),
      status: statusOfCode(row.status),
      version: d.version ?? 0,
      nodeId: d.node ? (nodes.get(d.node) ?? null) : null,
      trigger: d.schedule ? 'schedule' : d.url ? 'url' : 'api',
      callId: d.call?.length === 16 ? uuidText(d.call) : null,
      httpStatus: d.httpStatus ?? 0,
      durationMs: d.durationMs ?? 0,
      coldStart,
      cpuMs: d.cpuMs ?? 0,
      peakMemoryKib: d.peakMemoryKib ?? 0,
      method: d.method ? (METHODS[d.method - 1] ?? 'GET') : (d.methodName ?? ''),
      path: `/${d.path ?? ''}`,
      requestBytes: d.requestBytes ?? 0,
      error: d.hasError ? (d.error ?? '') : null,
      queuedMs: d.queuedMs ?? 0,
      runMs: d.runMs ?? 0,
      placementMs: d.placementMs ?? 0,
      agentUs: d.agentUs ?? 0,
      cold: coldStart ? { createMs: d.createMs ?? 0, startMs: d.startMs ?? 0, readyMs: d.readyMs ?? 0, prewarmed: d.prewarmed ?? false } : null,
      logs: (d.logs ?? 0) as 0 | 1 | 2,
      ...(d.trace?.length === 16 ? { traceId: Buffer.from(d.trace).toString('hex') } : {}),
    };
  });
}
