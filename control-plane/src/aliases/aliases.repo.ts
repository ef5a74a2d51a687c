// A function's aliases (migration 0016): named pointers to its versions, each a row keyed by (function, name).
import type { Executor, FunctionAliasRow } from '../db/schema.js';

export const aliasesRepo = {
  list(db: Executor, functionId: string): Promise<FunctionAliasRow[]> {
    return db.selectFrom('function_aliases').selectAll().where('function_id', '=', functionId).orderBy('name').execute();
  },

  get(db: Executor, functionId: string, name: string): Promise<FunctionAliasRow | undefined> {
    return db.selectFrom('function_aliases').selectAll().where('function_id', '=', functionId).where('name', '=', name).executeTakeFirst();
  },

  async count(db: Executor, functionId: string): Promise<number> {
    const r = await db.selectFrom('function_aliases').select((eb) => eb.fn.countAll<number>().as('n')).where('function_id', '=', functionId).executeTakeFirstOrThrow();
    return Number(r.n);
  },

  async insert(db: Executor, row: FunctionAliasRow): Promise<void> {
    await db.insertInto('function_aliases').values(row).execute();
  },

  /** Inserts or replaces the row (live's, made on its first split). */
  async put(db: Executor, row: FunctionAliasRow): Promise<void> {
    await db
      .insertInto('function_aliases')
      .values(row)
      .onConflict((oc) => oc.columns(['function_id', 'name']).doUpdateSet({ version: row.version, weights: row.weights, sticky: row.sticky, min_instances: row.min_instances, updated_at: row.updated_at }))
      .execute();
  },

  /** Aliases with a warm floor, of owners not disabled (the floor keeper's pass). */
  withFloor(db: Executor): Promise<FunctionAliasRow[]> {
    return db
      .selectFrom('function_aliases')
      .innerJoin('functions', 'functions.id', 'function_aliases.function_id')
      .innerJoin('users', 'users.id', 'functions.owner_id')
      .selectAll('function_aliases')
      .where('function_aliases.min_instances', '>', 0)
      .where('users.disabled_at', 'is', null)
      .execute();
  },

  async remove(db: Executor, functionId: string, name: string): Promise<boolean> {
    const r = await db.deleteFrom('function_aliases').where('function_id', '=', functionId).where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  },
};
