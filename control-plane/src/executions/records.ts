// The compact form of an execution record (db/schema.ts ExecutionsTable): UUIDs as 16 bytes and a status as its
// code, converted here and only here.
import type { ExecutionStatus } from '../db/schema.js';
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
