// Keyset pagination, newest first: a cursor is the (created_at, id) of the last row of a page, opaque to callers.
import { Invalid } from '../errors.js';

export function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(`${createdAt}:${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString();
  const at = text.indexOf(':');
  const createdAt = Number(text.slice(0, at));
  const id = text.slice(at + 1);
  if (at < 1 || !id || !Number.isSafeInteger(createdAt)) throw Invalid('invalid_cursor', 'cursor is not valid', { field: 'cursor' });
  return { createdAt, id };
}

/** One page from `limit + 1` rows: the rows shown, and the cursor of the next page (null on the last). */
export function page<R extends { created_at: number }, V>(rows: R[], limit: number, idOf: (r: R) => string, view: (r: R) => V): { items: V[]; nextCursor: string | null } {
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  return { items: shown.map(view), nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, idOf(last)) : null };
}
