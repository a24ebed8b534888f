// One way to run a query on either engine, for code whose SQL is the same text on both (written with SQLite's `?`
// placeholders, numbered for PostgreSQL): API keys, the audit log, metrics. Each call is its own statement (and its
// own transaction); what must be one snapshot is one statement.
import type { Statement } from "better-sqlite3";
import type { Pool, PoolClient } from "pg";
import { fleetError, inTransaction, isPostgresUrl, openFleet, type Db, type OpenOptions } from "./database";
import { checkPgFleet, checkPgSchema, inPgTransaction, pgError, pgPool, redacted, withClient } from "./pgdb";
import { keyOf, type SecretKey } from "./sealing";

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

/** Queries on an open SQLite fleet (statements prepared once each); `close` closes it. */
export function sqliteSql(db: Db): Sql {
  return {
    async rows<T>(sql: string, args: readonly unknown[] = []): Promise<T[]> {
      const st = _statement(db, sql);
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
export interface Query {
  readonly sql: string;
  readonly args: readonly unknown[];
  /**
   * PostgreSQL locks the rows it reads FOR UPDATE until the transaction ends: one writer at a time on them,
   * fleet-wide; of every table read (true), or of the tables these aliases name (a join's lookups stay unlocked).
   * SQLite ignores it: the caller's IMMEDIATE transaction already holds the database's one write lock.
   */
  readonly forUpdate?: true | readonly string[];
}

/**
 * PostgreSQL takes the transaction-scoped advisory lock `advisoryLock` (writers of rows that do not exist yet take
 * turns on it); SQLite has nothing to do (one writer). Its rows: none.
 */
export interface AdvisoryLock {
  readonly advisoryLock: number;
}

/** What a procedure asks of its engine: a statement, or a lock only PostgreSQL needs. */
export type Step = Query | AdvisoryLock;

/**
 * A procedure written once for both engines: it yields each statement and is resumed with its rows (none for a
 * write without RETURNING), or thrown the statement's error (so it can say what a constraint means).
 */
export type Steps<T> = Generator<Step, T, unknown[]>;

/** Statements prepared once per SQLite handle (a ledger issues thousands of codes with a handful of texts). */
const _prepared = new WeakMap<Db, Map<string, Statement<unknown[]>>>();

function _statement(db: Db, sql: string): Statement<unknown[]> {
  let cache = _prepared.get(db);
  if (cache === undefined) _prepared.set(db, (cache = new Map()));
  let st = cache.get(sql);
  if (st === undefined) cache.set(sql, (st = db.prepare<unknown[]>(sql)));
  return st;
}

/** Runs `steps` on an SQLite connection, synchronously (the caller holds the transaction). */
export function runSteps<T>(db: Db, steps: Steps<T>): T {
  let next = steps.next([]);
  while (!next.done) {
    const step = next.value;
    let rows: unknown[] = [];
    try {
      if (!("advisoryLock" in step)) {
        const st = _statement(db, step.sql);
        const args = step.args as unknown[];
        rows = st.reader ? st.all(...args) : (st.run(...args), []);
      }
    } catch (e) {
      next = steps.throw(e);
      continue;
    }
    next = steps.next(rows);
  }
  return next.value;
}

/** Runs `steps` on a PostgreSQL client (the caller holds the transaction), with their locks. */
export async function runPgSteps<T>(c: PoolClient, steps: Steps<T>): Promise<T> {
  let next = steps.next([]);
  while (!next.done) {
    const step = next.value;
    let rows: unknown[];
    try {
      rows =
        "advisoryLock" in step
          ? (await c.query("SELECT pg_advisory_xact_lock($1)", [step.advisoryLock]), [])
          : (await c.query(numbered(step.sql) + _forUpdate(step), step.args as unknown[])).rows;
    } catch (e) {
      next = steps.throw(e);
      continue;
    }
    next = steps.next(rows);
  }
  return next.value;
}

function _forUpdate({ forUpdate }: Query): string {
  if (forUpdate === undefined) return "";
  return forUpdate === true ? " FOR UPDATE" : ` FOR UPDATE OF ${forUpdate.join(", ")}`;
}

/** A fleet database running procedures written as Steps, on either engine. */
export interface StepRunner {
  /** The SQLite file, or the URL without its password (messages name it). */
  readonly where: string;
  /** Runs `steps` in one transaction (SQLite's IMMEDIATE; PostgreSQL's with the steps' locks): all, or nothing. */
  transaction<T>(steps: Steps<T>): Promise<T>;
  /** Runs reading `steps` outside a transaction (each statement its own snapshot; no write lock taken). */
  read<T>(steps: Steps<T>): Promise<T>;
  close(): Promise<void>;
}

/** Steps on an open SQLite fleet; `close` closes it. */
export function sqliteRunner(db: Db, file: string): StepRunner {
  return {
    where: file,
    transaction: async (steps) => inTransaction(db, file, () => runSteps(db, steps)),
    read: async (steps) => {
      try {
        return runSteps(db, steps);
      } catch (e) {
        throw fleetError(e, file);
      }
    },
    close: async () => {
      db.close();
    },
  };
}

/** Steps on a PostgreSQL pool, each transaction on a client of its own; `close` ends the pool. */
export function pgRunner(pool: Pool, where: string): StepRunner {
  return {
    where,
    transaction: (steps) => inPgTransaction(pool, where, (c) => runPgSteps(c, steps)),
    read: (steps) => withClient(pool, where, (c) => runPgSteps(c, steps)),
    close: () => pool.end(),
  };
}

/**
 * The fleet `db` names as a StepRunner, with the key its device images are sealed under: an SQLite file (opened,
 * migrated and unlocked by openFleet; created when `options.create`) or a postgres:// URL (schema and key checked).
 */
export async function openRunner(
  db: string,
  options: OpenOptions = {},
): Promise<{ runner: StepRunner; key: SecretKey }> {
  if (!isPostgresUrl(db)) {
    const fleet = openFleet(db, options);
    return { runner: sqliteRunner(fleet, db), key: keyOf(fleet) };
  }
  const pool = pgPool(db, 2);
  try {
    const key = await checkPgFleet(pool, db, options);
    return { runner: pgRunner(pool, redacted(db)), key };
  } catch (e) {
    await pool.end();
    throw e;
  }
}

/** A unique constraint refused the write, on either engine. */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "23505";
}
