// The payment hub on PostgreSQL (issue 18): Daraja confirmations over loopback HTTP spread over 1, 2 and 4
// `solkey hub` processes on one PostgreSQL fleet, beside one hub on SQLite. PostgreSQL runs durable (fsync on,
// synchronous_commit on), like SQLite's synchronous=FULL: each 200 comes after the payment and its code commit.
import fs from "fs";
import http from "http";
import os from "os";
import path from "path";
import { copyFleet } from "../../fleet/pgcopy";
import { keyFileBeside } from "../../fleet/sealing";
import { buildCli, post, startHub, type HubProcess } from "../hubprocess";
import { migratedDatabase, startPostgres, type PgServer } from "../pgserver";
import { benchFleet, confirmation, SHORT_CODE } from "./hub";
import { printTable, type Cell } from "./table";

export const name = "pg";

const DEVICES = 500;
const PAYMENTS = 4000;
const CLIENTS = 64;
const TOKEN = "bench-token-0123456789";
const ENV = { SOLKEY_MPESA_TOKEN: TOKEN, SOLKEY_MPESA_SHORTCODES: SHORT_CODE, SOLKEY_LOG_LEVEL: "warn" };

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-bench-pg-"));
  const server = startPostgres({ durable: true });
  try {
    buildCli();
    const rows: Cell[][] = [];
    const sqlite = path.join(dir, "sqlite.db");
    const serials = await benchFleet(sqlite, "nexus-full", DEVICES);
    rows.push(["SQLite", 1, ...(await _load([await startHub(sqlite, ENV)], serials))]);
    for (const hubs of [1, 2, 4]) {
      const { url, key } = await _pgFleet(server, dir, hubs);
      const started = await Promise.all(
        Array.from({ length: hubs }, () => startHub(url, { ...ENV, SOLKEY_SECRET_KEY: key })),
      );
      rows.push(["PostgreSQL", hubs, ...(await _load(started, serials))]);
    }
    printTable(
      "Payment hub on PostgreSQL: confirmations to code committed, over loopback HTTP, by hub processes",
      ["engine", "hubs", "payments/s", "p50 ms", "p99 ms"],
      rows,
      [
        `${PAYMENTS.toLocaleString("en-US")} confirmations per row over ${DEVICES} accounts (1 day each), ${CLIENTS} keep-alive`,
        "clients in this process spread over the hubs; PostgreSQL on a Unix socket, fsync on; every process on one",
        "machine (2 cores here: more hubs contend for the same cores as the server and the clients).",
      ],
    );
  } finally {
    server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The SQLite bench fleet copied onto a fresh PostgreSQL database; the key the hubs are given. */
async function _pgFleet(server: PgServer, dir: string, n: number): Promise<{ url: string; key: string }> {
  const file = path.join(dir, `pg-${n}.db`);
  await benchFleet(file, "nexus-full", DEVICES);
  const url = await migratedDatabase(server);
  await copyFleet(file, url, {});
  return { url, key: fs.readFileSync(keyFileBeside(file), "utf8").trim() };
}

/** Posts PAYMENTS confirmations round-robin over `hubs`; payments/s, p50, p99. Stops the hubs. */
async function _load(hubs: HubProcess[], serials: string[]): Promise<Cell[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const url = `/c2b/${TOKEN}/confirmation`;
  try {
    const send = (i: number, tag: string) =>
      post(agent, hubs[i % hubs.length].port, url, confirmation(`${tag}${i}`, serials[i % serials.length]));
    for (let i = 0; i < 100; i++) await send(i, "W"); // warm-up: JIT, pools connected
    const latencies: number[] = [];
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < PAYMENTS) {
          const i = next++;
          const t = performance.now();
          const r = await send(i, "B");
          if (r.status !== 200) throw new Error(`confirmation ${i} answered ${r.status}: ${r.body}`);
          latencies.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
    return [PAYMENTS / seconds, at(0.5), at(0.99)];
  } finally {
    agent.destroy();
    for (const hub of hubs) hub.child.kill("SIGTERM");
    await Promise.all(hubs.map((h) => h.exited));
  }
}
