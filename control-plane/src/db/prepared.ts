// A query of a hot path, built and compiled once per dialect. Kysely builds and compiles a query each time it runs,
// which costs more than SQLite takes to run a claim or a settling (bench `async`, the drain); a prepared query is
// built once with a placeholder for each argument, then run with each call's values (and on SQLite its statement is
// prepared once too: db/connect.ts caches statements by their text).
//
// An argument must be a value the builder passes on as a parameter: not a list (its length changes the SQL), not
// the `null` of `is null`, nor anything the SQL's text is made from (building refuses a query whose text holds one).
// An argument the query does not use is left out.
//
// On SQLite, a LIMIT or OFFSET bound as a parameter makes the planner read the bound value, so each new binding
// expires the statement's plan and it is prepared again as it runs (≈ 10 µs): a hot query writes it into its SQL
// (`sql.lit`), one prepared query per value it takes (async-calls.repo.ts, readDue).
import { CompiledQuery, type Compilable, type QueryResult } from 'kysely';
import type { Executor } from './schema.js';
import { isPostgres, runInSqliteTransaction } from './connect.js';

const HOLE = '\u0000cpub-prepared-argument-';

interface Plan {
  sql: string;
  /** Each parameter of the compiled query: the index of an argument, or a constant of the query itself. */
  params: ({ arg: number } | { value: unknown })[];
}

export type Prepared<A extends unknown[], R> = (db: Executor, ...args: A) => Promise<QueryResult<R>>;

export function prepared<A extends unknown[], R>(build: (db: Executor, ...args: A) => Compilable<R>): Prepared<A, R> {
  const plans: { pg?: Plan; sqlite?: Plan } = {};
  return (db, ...args) => {
    const plan = isPostgres(db) ? (plans.pg ??= compile(build, db, args.length)) : (plans.sqlite ??= compile(build, db, args.length));
    const params = plan.params.map((p) => ('arg' in p ? args[p.arg] : p.value));
    // In a transaction on SQLite (a dispatcher's group), at once; else through Kysely's executor. Either way an
    // error comes as a rejection, never thrown.
    try {
      const now = runInSqliteTransaction<R>(db, plan.sql, params);
      if (now) return Promise.resolve(now);
    } catch (err) {
      return Promise.reject(err);
    }
    return db.executeQuery(CompiledQuery.raw(plan.sql, params) as CompiledQuery<R>);
  };
}

function compile<A extends unknown[], R>(build: (db: Executor, ...args: A) => Compilable<R>, db: Executor, n: number): Plan {
  const holes = Array.from({ length: n }, (_, i) => `${HOLE}${i}`) as unknown as A;
  const q = build(db, ...holes).compile();
  if (q.sql.includes(HOLE)) throw new Error(`prepared query: an argument went into the SQL's text (${q.sql})`);
  const params = q.parameters.map((p) => (typeof p === 'string' && p.startsWith(HOLE) ? { arg: Number(p.slice(HOLE.length)) } : { value: p }));
  return { sql: q.sql, params };
}
