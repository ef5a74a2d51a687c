// Small numbers for the functions and nodes named in execution records: a record holds its function's number (4
// bytes in the key, not a 16-byte UUID) and its node's (a byte or two, not a 36-character id). A number is given
// once and never changes or goes (a deleted function's records are purged by it), so each process keeps what it
// has looked up. Given as the largest number so far + 1: replicas giving one at the same time collide on the unique
// number, and the one that lost tries again.
import { sql } from 'kysely';
import type { Executor } from '../db/schema.js';

export type NumberedKind = 'function' | 'node';

interface Cache {
  numbers: Map<string, number>;
  names: Map<string, string>;
}

const caches = new WeakMap<object, Cache>();

function cacheOf(db: Executor): Cache {
  let c = caches.get(db);
  if (!c) caches.set(db, (c = { numbers: new Map(), names: new Map() }));
  return c;
}

function remember(c: Cache, kind: NumberedKind, name: string, no: number): number {
  c.numbers.set(`${kind}:${name}`, no);
  c.names.set(`${kind}:${no}`, name);
  return no;
}

export const recordNumbers = {
  /** The number, if this process has looked it up already (the hot path's way: no await). */
  cached(db: Executor, kind: NumberedKind, name: string): number | undefined {
    return caches.get(db)?.numbers.get(`${kind}:${name}`);
  },

  /** The number, if one was given (a function never called has none, and no records). */
  async find(db: Executor, kind: NumberedKind, name: string): Promise<number | undefined> {
    const c = cacheOf(db);
    const known = c.numbers.get(`${kind}:${name}`);
    if (known !== undefined) return known;
    const row = await db.selectFrom('record_numbers').select('no').where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
    return row ? remember(c, kind, name, row.no) : undefined;
  },

  /** The number, given now if it has none. */
  async numberOf(db: Executor, kind: NumberedKind, name: string): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const found = await recordNumbers.find(db, kind, name);
      if (found !== undefined) return found;
      if (attempt > 20) throw new Error(`no record number for ${kind} ${name}`);
      await db
        .insertInto('record_numbers')
        .columns(['kind', 'name', 'no'])
        .expression((eb) =>
          eb
            .selectFrom('record_numbers')
            .select([sql.lit(kind).as('kind'), sql.val(name).as('name'), sql<number>`coalesce(max(no), 0) + 1`.as('no')])
            .where('kind', '=', kind),
        )
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  },

  /** The names of numbers (those it knows: every number given has one). */
  async names(db: Executor, kind: NumberedKind, nos: number[]): Promise<Map<number, string>> {
    const c = cacheOf(db);
    const out = new Map<number, string>();
    const missing: number[] = [];
    for (const no of nos) {
      const name = c.names.get(`${kind}:${no}`);
      if (name !== undefined) out.set(no, name);
      else missing.push(no);
    }
    if (missing.length) {
      const rows = await db.selectFrom('record_numbers').select(['no', 'name']).where('kind', '=', kind).where('no', 'in', missing).execute();
      for (const r of rows) out.set(r.no, r.name), remember(c, kind, r.name, r.no);
    }
    return out;
  },
};
