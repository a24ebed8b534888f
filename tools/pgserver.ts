// A throwaway PostgreSQL server for tests and the bench: the machine's server binaries (initdb, pg_ctl), run as the
// unprivileged `postgres` user when we run as root (initdb refuses root), on a Unix socket in a temporary folder,
// removed by stop(). No mock: the real server.
import { execFileSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { pgPool, withClient } from "../fleet/pgdb";
import { pgMigrate } from "../fleet/pgschema";

const BIN = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"].find((d) =>
  fs.existsSync(path.join(d, "initdb")),
);

export interface PgServer {
  /** A URL for a fresh, empty database on the server (each call creates one). */
  database(): string;
  /**
   * Stops and starts the server: "fast" (clients disconnected, a checkpoint written) or "immediate" (as a crash:
   * no checkpoint, the server replays its WAL at start).
   */
  restart(mode?: "fast" | "immediate"): void;
  stop(): void;
}

const asRoot = process.getuid?.() === 0;

function run(cmd: string, args: string[]): string {
  const file = path.join(BIN!, cmd);
  return asRoot
    ? execFileSync("runuser", ["-u", "postgres", "--", file, ...args], { encoding: "utf8", stdio: "pipe" })
    : execFileSync(file, args, { encoding: "utf8", stdio: "pipe" });
}

/**
 * Starts a server. `durable`: fsync on, as production runs (the bench); off by default, for tests that restart it
 * cleanly (a fast shutdown writes everything) and must not wait on the disk.
 */
export function startPostgres(o: { durable?: boolean } = {}): PgServer {
  if (BIN === undefined)
    throw new Error("no PostgreSQL server binaries under /usr/lib/postgresql (.ci/run installs them)");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-pg-"));
  fs.chmodSync(dir, 0o777);
  const data = path.join(dir, "data");
  const user = asRoot ? "postgres" : os.userInfo().username;
  run("initdb", ["-D", data, "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const options = `-k ${dir} -c listen_addresses='' -c fsync=${o.durable ? "on" : "off"} -c max_connections=200`;
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
    restart(mode = "fast") {
      run("pg_ctl", ["-D", data, "-m", mode, "-w", "stop"]);
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

/** A fresh database on `server`, migrated to this solkey's schema (as `solkey db migrate` does). */
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
