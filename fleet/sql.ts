// One way to run a query on either engine, for code whose SQL is the same text on both (written with SQLite's `?`
// placeholders, numbered for PostgreSQL): API keys, the audit log, metrics. Each call is its own statement (and its
// own transaction); what must be one snapshot is one statement.
import type { Statement } from "better-sqlite3";
import type { Pool, PoolClient } from "pg";
import { isPostgresUrl, openFleet, type Db } from "./database";
import { checkPgSchema, pgError, pgPool, redacted, withClient } from "./pgdb";

export interface Sql {
  /** The rows `sql` returns (none for a statement without RETURNING). */
  rows<T>(sql: string, args?: readonly unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** SQLite's `?` placeholders as PostgreSQL's `$1, $2, ...`. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Statements prepared on each connection, by text: a payment runs a dozen, each prepared once. */
const _prepared = new WeakMap<Db, Map<string, Statement<unknown[]>>>();

function _prepare(db: Db, sql: string): Statement<unknown[]> {
  let cache = _prepared.get(db);
  if (cache === undefined) _prepared.set(db, (cache = new Map()));
  let st = cache.get(sql);
  if (st === undefined) cache.set(sql, (st = db.prepare<unknown[]>(sql)));
  return st;
}

/** Queries on an open SQLite fleet (statements prepared once each); `close` closes it. */
export function sqliteSql(db: Db): Sql {
  return {
    async rows<T>(sql: string, args: readonly unknown[] = []): Promise<T[]> {
      const st = _prepare(db, sql);
      if (st.reader) return st.all(...(args as unknown[])) as T[];
      st.run(...(args as unknown[]));
      return [];
    },
    async close() {
      db.close();
    },
  };
}

/** Queries on a PostgreSQL pool; failures as one line naming `where`; `close` ends the pool. */
export function pgSql(pool: Pool, where: string): Sql {
  return {
    async rows<T>(sql: string, args: readonly unknown[] = []): Promise<T[]> {
      try {
        return (await pool.query(numbered(sql), args as unknown[])).rows as T[];
      } catch (e) {
        throw pgError(e, where);
      }
    },
    close: () => pool.end(),
  };
}

/**
 * The fleet `db` names (an SQLite file, or a postgres:// URL whose schema is checked), for queries that need no
 * device secret: no key is asked for.
 */
export async function openSql(db: string, poolSize = 4): Promise<Sql> {
  if (!isPostgresUrl(db)) return sqliteSql(openFleet(db));
  const pool = pgPool(db, poolSize);
  const where = redacted(db);
  try {
    await withClient(pool, where, (c) => checkPgSchema(c, where));
  } catch (e) {
    await pool.end();
    throw e;
  }
  return pgSql(pool, where);
}

/** One statement a shared procedure asks its engine to run (`?` placeholders); the engine sends back its rows. */
export interface Step {
  readonly sql: string;
  readonly args: readonly unknown[];
  /**
   * The tables (by alias) whose rows this read locks until the transaction ends: PostgreSQL appends
   * `FOR UPDATE OF ...` (one process at a time on a device, fleet-wide); SQLite's one writer holds the whole database
   * for the transaction already, so its runner reads as written.
   */
  readonly lock?: readonly string[];
}

/**
 * A procedure written once for both engines: it yields each statement and is resumed with its rows (none for a
 * write without RETURNING), or thrown the statement's error (so it can say what a constraint means).
 */
export type Steps<T> = Generator<Step, T, unknown[]>;

/** Runs `steps` on an SQLite connection, synchronously (the caller holds the transaction). */
export function runSteps<T>(db: Db, steps: Steps<T>): T {
  let next = steps.next([]);
  while (!next.done) {
    let rows: unknown[];
    try {
      const st = _prepare(db, next.value.sql);
      const args = next.value.args as unknown[];
      rows = st.reader ? st.all(...args) : (st.run(...args), []);
    } catch (e) {
      next = steps.throw(e);
      continue;
    }
    next = steps.next(rows);
  }
  return next.value;
}

/** Runs `steps` on a PostgreSQL client (the caller holds the transaction). */
export async function runPgSteps<T>(c: PoolClient, steps: Steps<T>): Promise<T> {
  let next = steps.next([]);
  while (!next.done) {
    let rows: unknown[];
    try {
      const { sql, args, lock } = next.value;
      const text = lock === undefined ? sql : `${sql} FOR UPDATE OF ${lock.join(", ")}`;
      rows = (await c.query(numbered(text), args as unknown[])).rows;
    } catch (e) {
      next = steps.throw(e);
      continue;
    }
    next = steps.next(rows);
  }
  return next.value;
}

/** A unique constraint refused the write, on either engine. */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "23505";
}
