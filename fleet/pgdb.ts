// A fleet on PostgreSQL (node-postgres): the connection pool, the schema check at open and the secret key, which a
// server database is always given (fleet/sealing.ts: no key file "beside" a URL).
import { createRequire } from "module";
import type { Pool, PoolClient } from "pg";
import { SCHEMA_VERSION } from "./database";
import { SolkeyError, UsageError } from "./errors";
import { givenSecretKey, keyBeside, SecretKey, type SecretKeySource } from "./sealing";
import { pgVersion } from "./pgschema";

/** The URL without its password, for messages and logs. */
export function redacted(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@/]*@/i, "$1:***@");
}

/** node-postgres, loaded at the first pool: it costs ~40 ms of every start, and most commands run on SQLite. */
let _pg: typeof import("pg") | undefined;

/** A pool on the server at `url` (nothing is asked of it until the first query). */
export function pgPool(url: string, max = 10): Pool {
  const { Pool, types } = (_pg ??= createRequire(__filename)("pg") as typeof import("pg"));
  // BIGINT (oid 20) as a number: every fleet integer (ids, money in minor units, times in ms) is below 2^53.
  const parsers = {
    getTypeParser: ((oid: number, format?: "text" | "binary") =>
      oid === 20 ? (v: string) => Number(v) : types.getTypeParser(oid, format as "text")) as typeof types.getTypeParser,
  };
  const pool = new Pool({ connectionString: url, max, types: parsers });
  // An idle client's connection dropping (the server restarting) is an event, not a crash: the next query reconnects.
  pool.on("error", () => {});
  return pool;
}

/** Runs `work` on one client of the pool, released after (destroyed when `work` failed: its connection may be bad). */
export async function withClient<T>(pool: Pool, where: string, work: (c: PoolClient) => Promise<T>): Promise<T> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (e) {
    throw pgError(e, where);
  }
  // A server that goes away while the client is checked out (a restart, a failover) emits "error" on the client
  // itself, where the pool listens only while it is idle; with no listener that would end the process (every hub at
  // once, seen in test/pg-cluster.test.ts's restart). The work's next query fails instead, and that is answered.
  const ignore = () => {};
  client.on("error", ignore);
  try {
    const value = await work(client);
    client.release();
    return value;
  } catch (e) {
    client.release(true);
    throw pgError(e, where);
  } finally {
    client.off("error", ignore);
  }
}

/** Runs `work` in one transaction (READ COMMITTED; rows it must serialise on are locked FOR UPDATE). */
export async function inPgTransaction<T>(pool: Pool, where: string, work: (c: PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, where, async (c) => {
    await c.query("BEGIN");
    try {
      const value = await work(c);
      await c.query("COMMIT");
      return value;
    } catch (e) {
      await c.query("ROLLBACK").catch(() => {});
      throw e;
    }
  });
}

/**
 * Checks the schema (this solkey's version: older asks for `solkey db migrate`, newer is refused) and the secret
 * key against the fingerprint the fleet recorded (recording it on first use). Returns the key.
 */
export async function checkPgFleet(pool: Pool, url: string, source: SecretKeySource): Promise<SecretKey> {
  const where = redacted(url);
  const key = givenSecretKey(source) ?? keyBeside(where, null, undefined);
  return withClient(pool, where, async (c) => {
    await checkPgSchema(c, where);
    await c.query(
      "INSERT INTO meta VALUES ('secret_key_fingerprint', $1), ('secrets_format', '1') ON CONFLICT (name) DO NOTHING",
      [key.fingerprint],
    );
    const r = await c.query("SELECT value FROM meta WHERE name = 'secret_key_fingerprint'");
    const recorded = (r.rows[0] as { value: string }).value;
    if (recorded !== key.fingerprint)
      throw new UsageError(
        `this secret key (fingerprint ${key.fingerprint}) is not ${where}'s (${recorded}): pass the fleet's key ` +
          `(--secret-key-file FILE or $SOLKEY_SECRET_KEY)`,
      );
    return key;
  });
}

/** Refuses a schema this solkey does not run on: older asks for `solkey db migrate`, newer is refused. */
export async function checkPgSchema(c: PoolClient, where: string): Promise<void> {
  const version = await pgVersion(c);
  if (version > SCHEMA_VERSION)
    throw new SolkeyError(
      `${where} has schema version ${version}, newer than this solkey's ${SCHEMA_VERSION}: upgrade`,
    );
  if (version < SCHEMA_VERSION)
    throw new UsageError(
      `${where} is at schema version ${version}, this solkey needs ${SCHEMA_VERSION}: run \`solkey db migrate --db URL\``,
    );
}

/** PostgreSQL's failures as one line; solkey's own errors pass through. */
export function pgError(e: unknown, where: string): Error {
  if (e instanceof UsageError || e instanceof SolkeyError) return e;
  const code = (e as { code?: string }).code ?? "";
  if (code === "ECONNREFUSED" || code === "ENOENT" || code === "57P01" || code === "57P03")
    return new SolkeyError(`cannot reach PostgreSQL at ${where} (${code}): is the server running?`);
  if (code === "28P01" || code === "28000")
    return new SolkeyError(`PostgreSQL at ${where} refused the login (${code}): check the URL's user and password`);
  if (code === "3D000") return new UsageError(`${where}: ${(e as Error).message}; create the database first`);
  // PostgreSQL's text cannot hold a NUL character (SQLite's can): the input is refused, as bad input, never a 5xx.
  if (code === "22021" || code === "22P05")
    return new UsageError("text with a NUL character (\\u0000) cannot be stored in a PostgreSQL fleet; remove it");
  return new SolkeyError(`${where}: ${(e as Error).message}${code === "" ? "" : ` (${code})`}`);
}
