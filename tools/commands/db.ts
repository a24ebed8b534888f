// `solkey db`: the fleet database itself: `migrate` brings a PostgreSQL fleet to this solkey's schema (SQLite fleets
// migrate when opened), `copy` moves a SQLite fleet onto PostgreSQL and verifies every table.
import type { Command } from "commander";
import { isPostgresUrl } from "../../fleet/database";
import { UsageError } from "../../fleet/errors";
import { copyFleet } from "../../fleet/pgcopy";
import { pgPool, redacted, withClient } from "../../fleet/pgdb";
import { pgMigrate } from "../../fleet/pgschema";
import { keyFileBeside, SECRET_KEY_ENV } from "../../fleet/sealing";
import { fleetAccess, SECRET_KEY_OPTION } from "../store";

export async function runMigrate(o: { db: string }, out: (t: string) => void): Promise<void> {
  if (!isPostgresUrl(o.db))
    throw new UsageError(`--db expected a postgres:// URL (a SQLite fleet migrates when any command opens it)`);
  const pool = pgPool(o.db, 1);
  try {
    const { from, to } = await withClient(pool, redacted(o.db), (c) => pgMigrate(c, redacted(o.db)));
    out(
      from === to
        ? `${redacted(o.db)}: schema version ${to}, up to date\n`
        : `${redacted(o.db)}: schema ${from} -> ${to}\n`,
    );
  } finally {
    await pool.end();
  }
}

export async function runCopy(
  o: { from: string; to: string; secretKeyFile?: string },
  out: (t: string) => void,
): Promise<void> {
  if (isPostgresUrl(o.from)) throw new UsageError("--from expected the SQLite fleet file to copy");
  if (!isPostgresUrl(o.to)) throw new UsageError("--to expected a postgres:// URL (migrated by `solkey db migrate`)");
  const report = await copyFleet(o.from, o.to, fleetAccess({ db: o.from, secretKeyFile: o.secretKeyFile }));
  for (const t of report.tables) out(`${t.table.padEnd(12)} ${String(t.rows).padStart(8)} rows  sha256 ${t.sha256}\n`);
  out(`copied ${o.from} to ${redacted(o.to)}, every table read back and verified\n`);
  const key =
    o.secretKeyFile ?? (process.env[SECRET_KEY_ENV] === undefined ? keyFileBeside(o.from) : `$${SECRET_KEY_ENV}`);
  out(`device secrets stay sealed under ${key}: give it to every process on ${redacted(o.to)}\n`);
}

export function register(program: Command): void {
  const db = program.command("db").description("the fleet database: PostgreSQL migrations, and copying a fleet there");
  db.command("migrate")
    .description("apply this solkey's schema migrations to a PostgreSQL fleet (every hub refuses a newer schema)")
    .requiredOption("--db <url>", "postgres://user:password@host/database", process.env.SOLKEY_DB)
    .action((o: { db: string }) => runMigrate(o, (t) => process.stdout.write(t)));
  db.command("copy")
    .description(
      "copy a SQLite fleet into an empty, migrated PostgreSQL database and verify it (device secrets stay sealed)",
    )
    .requiredOption("--from <file>", "the SQLite fleet database")
    .requiredOption("--to <url>", "postgres://user:password@host/database")
    .option(...SECRET_KEY_OPTION)
    .action((o: { from: string; to: string; secretKeyFile?: string }) => runCopy(o, (t) => process.stdout.write(t)));
}
