// The payment hub under load (issue 15): Daraja confirmations posted over loopback HTTP by many concurrent
// keep-alive clients to a `solkey hub` process on SQLite; each answer comes after the payment and its code are
// committed (WAL, synchronous=FULL). Prints payments/s to "code committed" and latency percentiles.
// Goal on a 2-core machine: >= 1,000 payments/s with p99 < 50 ms. The clients share the machine with the hub.
import fs from "fs";
import http from "http";
import os from "os";
import path from "path";
import { openFleet } from "../../fleet/database";
import { provisionBatch } from "../../fleet/devices";
import { makeProfile } from "../../fleet/profile";
import { SqliteStore } from "../../fleet/sqlitestore";
import type { PlanSpec } from "../../fleet/store";
import { buildCli, post, startHub } from "../hubprocess";
import { printTable, type Cell } from "./table";

export const name = "hub";

const DEVICES = 500;
const PAYMENTS = 10_000;
const CONCURRENCY = [16, 64, 256] as const;
const TOKEN = "bench-token-0123456789";
export const SHORT_CODE = "600638";

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-bench-hub-"));
  try {
    const rows: Cell[][] = [];
    buildCli();
    for (const protocol of ["nexus-full", "openpaygo"] as const)
      for (const clients of CONCURRENCY) rows.push(await _row(dir, protocol, clients));
    printTable(
      "Payment hub: Daraja confirmations to code committed, over loopback HTTP (SQLite, one hub process)",
      ["protocol", "clients", "payments/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "coded"],
      rows,
      [
        `${PAYMENTS.toLocaleString("en-US")} confirmations per row over ${DEVICES} accounts (1 day each), keep-alive`,
        "clients in this process, the hub in another (`solkey hub`, logs at warn); each 200 comes after the durable",
        "commit of the payment and its code (group commit: one transaction per event-loop turn).",
        "Goal: >= 1,000 payments/s with p99 < 50 ms on 2 cores.",
      ],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function _row(dir: string, protocol: string, clients: number): Promise<Cell[]> {
  const db = path.join(dir, `${protocol}-${clients}.db`);
  const serials = await benchFleet(db, protocol, DEVICES);
  const hub = await startHub(db, {
    SOLKEY_MPESA_TOKEN: TOKEN,
    SOLKEY_MPESA_SHORTCODES: SHORT_CODE,
    SOLKEY_LOG_LEVEL: "warn",
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  try {
    const url = `/c2b/${TOKEN}/confirmation`;
    const send = (i: number) => post(agent, hub.port, url, confirmation(`W${i}`, serials[i % serials.length]));
    for (let i = 0; i < 200; i++) await send(i); // warm-up: JIT, WAL at its steady size
    const latencies: number[] = [];
    let next = 0;
    let refused = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < PAYMENTS) {
          const i = next++;
          const t = performance.now();
          const r = await post(agent, hub.port, url, confirmation(`B${i}`, serials[i % serials.length]));
          latencies.push(performance.now() - t);
          if (r.status !== 200) refused++;
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    if (refused > 0) throw new Error(`${refused} confirmations were not accepted`);
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
    hub.child.kill("SIGTERM");
    await hub.exited;
    const coded = _codedCount(db);
    return [protocol, clients, PAYMENTS / seconds, at(0.5), at(0.95), at(0.99), latencies[latencies.length - 1], coded];
  } finally {
    agent.destroy();
    if (hub.child.exitCode === null) hub.child.kill("SIGKILL");
  }
}

/** KES 50.00 a day, minimum one day, no deposit, no total. */
export const DAILY: PlanSpec = {
  name: "daily",
  currency: "KES",
  perDay: 5000,
  minPayment: 5000,
  deposit: 0,
  total: null,
  approveUnlock: false,
};

/** A fleet of `count` devices, a KES 50/day plan and an account on each; returns the serials. */
export async function benchFleet(file: string, protocol: string, count: number): Promise<string[]> {
  const fleet = openFleet(file, { create: true });
  const { devices } = provisionBatch(fleet, file, { profile: makeProfile({ protocol }), count, master: null });
  fleet.close();
  const store = SqliteStore.open(file);
  await store.addPlan(DAILY);
  await Promise.all(
    devices.map((d, i) =>
      store.addAccount({ device: d.serial, phone: `2547${String(i).padStart(8, "0")}`, plan: "daily", language: "en" }),
    ),
  );
  await store.close();
  return devices.map((d) => d.serial);
}

/** A Daraja confirmation for one day (KES 50) on `serial`. */
export function confirmation(transId: string, serial: string): object {
  return {
    TransactionType: "Pay Bill",
    TransID: transId,
    TransTime: "20261205103045",
    TransAmount: "50.00",
    BusinessShortCode: SHORT_CODE,
    BillRefNumber: serial,
    MSISDN: "2547XXXXX123",
    FirstName: "Bench",
  };
}

function _codedCount(file: string): string {
  const db = openFleet(file);
  try {
    const row = db.prepare("SELECT count(*) AS n FROM payments WHERE status = 'coded' AND code_id IS NOT NULL").get();
    return `${(row as { n: number }).n - 200}`;
  } finally {
    db.close();
  }
}
