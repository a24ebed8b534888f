// A throwaway PostgreSQL for tests: the machine's server binaries (initdb, pg_ctl), run as the unprivileged
// `postgres` user when the tests run as root (initdb refuses root), on a Unix socket in a temporary folder, removed
// after. No mock: the real server, started once per test file.
import { execFileSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import type { ProvisionedDevice } from "../fleet/devices";
import { copyFleet } from "../fleet/pgcopy";
import { pgPool, withClient } from "../fleet/pgdb";
import { pgMigrate } from "../fleet/pgschema";
import { PgStore, type PgStoreOptions } from "../fleet/pgstore";
import type { ProfileOptions } from "../fleet/profile";
import { keyFileBeside } from "../fleet/sealing";
import type { PlanSpec } from "../fleet/store";
import { DAILY, hubFleet } from "./hub.helpers";

const BIN = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"].find((d) =>
  fs.existsSync(path.join(d, "initdb")),
);

export interface PgServer {
  /** A URL for a fresh, empty database on the server (each call creates one). */
  database(): string;
  restart(): void;
  stop(): void;
}

const asRoot = process.getuid?.() === 0;

function run(cmd: string, args: string[]): string {
  const file = path.join(BIN!, cmd);
  return asRoot
    ? execFileSync("runuser", ["-u", "postgres", "--", file, ...args], { encoding: "utf8", stdio: "pipe" })
    : execFileSync(file, args, { encoding: "utf8", stdio: "pipe" });
}

export function startPostgres(): PgServer {
  if (BIN === undefined)
    throw new Error("no PostgreSQL server binaries under /usr/lib/postgresql (.ci/run installs them)");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-pg-"));
  fs.chmodSync(dir, 0o777);
  const data = path.join(dir, "data");
  const user = asRoot ? "postgres" : os.userInfo().username;
  run("initdb", ["-D", data, "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const options = `-k ${dir} -c listen_addresses='' -c fsync=off -c max_connections=200`;
  const start = () => run("pg_ctl", ["-D", data, "-o", options, "-w", "-l", path.join(dir, "log"), "start"]);
  start();
  let n = 0;
  const url = (db: string) => `postgresql://${user}@localhost/${db}?host=${encodeURIComponent(dir)}`;
  return {
    database() {
      const name = `fleet${++n}`;
      run("createdb", ["-h", dir, "-U", user, name]);
      return url(name);
    },
    restart() {
      run("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
      start();
    },
    stop() {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A migrated, empty fleet database on `server`. */
export async function migratedDatabase(server: PgServer): Promise<string> {
  const url = server.database();
  const pool = pgPool(url, 1);
  try {
    await withClient(pool, url, (c) => pgMigrate(c, url));
  } finally {
    await pool.end();
  }
  return url;
}

/** `query`'s rows on the database at `url` (tests look at what the store wrote). */
export async function pgRows<T>(url: string, query: string, args: unknown[] = []): Promise<T[]> {
  const pool = pgPool(url, 1);
  try {
    return (await pool.query(query, args)).rows as T[];
  } finally {
    await pool.end();
  }
}

export interface PgFleet {
  readonly url: string;
  readonly file: string;
  readonly devices: ProvisionedDevice[];
  readonly store: PgStore;
  /** How to open the store again (its secret key: the SQLite fleet's key file). */
  readonly access: PgStoreOptions;
}

/** hubFleet's fleet (devices, plan, accounts) made on SQLite and copied onto a fresh database on `server`. */
export async function pgFleet(
  server: PgServer,
  profile: ProfileOptions,
  count: number,
  plan: PlanSpec = DAILY,
  options: PgStoreOptions = {},
): Promise<PgFleet> {
  const made = await hubFleet(profile, count, plan);
  await made.store.close();
  const url = await migratedDatabase(server);
  const access = { secretKeyFile: keyFileBeside(made.file), ...options };
  await copyFleet(made.file, url, access);
  return { url, file: made.file, devices: made.devices, store: await PgStore.open(url, access), access };
}
