// `solkey db copy`: a SQLite fleet moved onto PostgreSQL in one transaction, every table row for row (device images
// stay sealed: same key, same device ids, so the same AAD), then verified by reading both sides back and comparing
// each table's row count and SHA-256 over its rows in key order. A failed copy or check leaves the target empty.
import { createHash } from "crypto";
import type { PoolClient } from "pg";
import { openFleet } from "./database";
import { UsageError } from "./errors";
import { checkPgFleet, inPgTransaction, pgPool, redacted } from "./pgdb";
import { givenSecretKey, keyFileBeside, type SecretKeySource } from "./sealing";

/** Every table, parents before children (foreign keys), with its key for the order rows are compared in. */
const TABLES: readonly (readonly [table: string, key: string])[] = [
  ["meta", "name"],
  ["batches", "batch_id"],
  ["devices", "device_id"],
  ["codes", "code_id"],
  ["packages", "name"],
  ["recoveries", "recovery_id"],
  ["plans", "plan_id"],
  ["accounts", "account_id"],
  ["payments", "payment_id"],
  ["sms_outbox", "message_id"],
  ["sms_events", "event_id"],
  ["sms_inbound", "inbound_id"],
  ["api_keys", "key_id"],
  ["audit", "audit_id"],
];

/** Rows per INSERT (PostgreSQL allows 65,535 parameters a statement; the widest table has 18 columns). */
const CHUNK = 500;

export interface CopyReport {
  readonly tables: readonly { table: string; rows: number; sha256: string }[];
}

export async function copyFleet(from: string, to: string, source: SecretKeySource): Promise<CopyReport> {
  const db = openFleet(from, source);
  const pool = pgPool(to, 1);
  const where = redacted(to);
  try {
    // The source's key (given, or its key file beside it) becomes the server's: refused before a row moves if the
    // server already recorded another.
    const keyed = givenSecretKey(source) !== undefined ? source : { ...source, secretKeyFile: keyFileBeside(from) };
    await checkPgFleet(pool, to, keyed);
    return await inPgTransaction(pool, where, async (c) => {
      const devices = await c.query("SELECT count(*) AS n FROM devices");
      if ((devices.rows[0] as { n: number }).n > 0)
        throw new UsageError(`${where} already holds a fleet; copy into an empty, migrated database`);
      const report: { table: string; rows: number; sha256: string }[] = [];
      for (const [table, key] of TABLES) {
        const rows = db.prepare(`SELECT * FROM ${table} ORDER BY ${key}`).all() as Record<string, unknown>[];
        await _insert(c, table, rows);
        await _resetIdentity(c, table, key);
        const copied = await c.query(`SELECT * FROM ${table} ORDER BY ${key}`);
        const want = _digest(rows);
        const got = _digest(copied.rows as Record<string, unknown>[]);
        if (copied.rows.length !== rows.length || got !== want)
          throw new UsageError(
            `${table}: ${rows.length} rows in ${from}, ${copied.rows.length} read back from ${where} with another ` +
              `digest; nothing was copied`,
          );
        report.push({ table, rows: rows.length, sha256: want });
      }
      return { tables: report };
    });
  } finally {
    db.close();
    await pool.end();
  }
}

async function _insert(c: PoolClient, table: string, rows: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const columns = Object.keys(chunk[0]);
    const values = chunk.map((_, r) => `(${columns.map((_c, k) => `$${r * columns.length + k + 1}`).join(", ")})`);
    // packages: the migration already inserted the standard ones.
    await c.query(
      `INSERT INTO ${table} (${columns.join(", ")}) OVERRIDING SYSTEM VALUE VALUES ${values.join(", ")} ` +
        `ON CONFLICT DO NOTHING`,
      chunk.flatMap((row) => columns.map((col) => row[col])),
    );
  }
}

/** An identity column continues above the rows copied (else the next payment would take a copied id). */
async function _resetIdentity(c: PoolClient, table: string, key: string): Promise<void> {
  const seq = await c.query("SELECT pg_get_serial_sequence($1, $2) AS s", [table, key]);
  const name = (seq.rows[0] as { s: string | null }).s;
  if (name !== null)
    await c.query(`SELECT setval($1, coalesce((SELECT max(${key}) FROM ${table}), 0) + 1, false)`, [name]);
}

/** One digest over rows, values in a form both engines give alike (bytes as hex, integers as numbers). */
function _digest(rows: Record<string, unknown>[]): string {
  const h = createHash("sha256");
  for (const row of rows) {
    const keys = Object.keys(row).sort();
    h.update(JSON.stringify(keys.map((k) => _plain(row[k]))));
    h.update("\n");
  }
  return h.digest("hex");
}

function _plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
  if (typeof v === "bigint") return Number(v);
  return v;
}
