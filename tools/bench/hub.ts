// The payment hub under load (issue 15): Daraja confirmations posted over loopback HTTP by keep-alive clients to a
// `solkey hub` process on SQLite; each answer comes after the payment, its code and its SMS row are committed (WAL,
// synchronous=FULL). Two kinds of load: closed loop (N clients, each posting again as soon as answered: the most
// the hub takes) and open loop (a fixed arrival rate, as Daraja's callbacks come, each latency counted from the
// request's scheduled time, so a stalled hub cannot hide its queue). The clients run in this process, the hub in its
// own; both processes' CPU time is printed so a starved hub would show. Goal on 2 cores: >= 1,000 payments/s with
// p99 < 50 ms.
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
const WARM_UP = 300;
const LOADS: readonly Load[] = [
  { kind: "clients", n: 16 },
  { kind: "clients", n: 64 },
  { kind: "clients", n: 256 },
  { kind: "rate", n: 1000 },
  { kind: "rate", n: 2000 },
];
const TOKEN = "bench-token-0123456789";
export const SHORT_CODE = "600638";

/** Closed loop: `n` clients; open loop: `n` payments a second. */
interface Load {
  readonly kind: "clients" | "rate";
  readonly n: number;
}

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-bench-hub-"));
  try {
    const rows: Cell[][] = [];
    buildCli();
    const load = os.loadavg()[0];
    for (const protocol of ["nexus-full", "openpaygo"] as const)
      for (const l of LOADS) rows.push(await _row(dir, protocol, l));
    printTable(
      "Payment hub: Daraja confirmations to code committed, over loopback HTTP (SQLite, one hub process)",
      ["protocol", "load", "payments/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "hub CPU", "client CPU", "coded"],
      rows,
      [
        `${PAYMENTS.toLocaleString("en-US")} confirmations per row over ${DEVICES} accounts (1 day each), after ${WARM_UP}`,
        "to open the connections and warm the JIT. Each 200 comes after the durable commit of the payment, its code and",
        "its SMS row (group commit); the outbox worker sends each SMS (log driver, to a file) in the same hub process.",
        "load: N clients in a closed loop, or N/s arriving on schedule (latency from the scheduled time).",
        "CPU: share of one core used by the hub process and by this (client) process during the row.",
        `Machine: ${os.cpus().length} cores, shared with other jobs (load average ${load.toFixed(1)} at the start).`,
        "Goal: >= 1,000 payments/s with p99 < 50 ms on 2 cores.",
      ],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function _row(dir: string, protocol: string, load: Load): Promise<Cell[]> {
  const db = path.join(dir, `${protocol}-${load.kind}-${load.n}.db`);
  const serials = await benchFleet(db, protocol, DEVICES);
  const profile = process.env.SOLKEY_BENCH_HUB_PROFILE;
  const hub = await startHub(
    db,
    { SOLKEY_MPESA_TOKEN: TOKEN, SOLKEY_MPESA_SHORTCODES: SHORT_CODE, SOLKEY_LOG_LEVEL: "warn" },
    profile === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profile}`],
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: load.kind === "clients" ? load.n : 512 });
  try {
    const url = `/c2b/${TOKEN}/confirmation`;
    const send = async (id: string, i: number) => {
      const r = await post(agent, hub.port, url, confirmation(id, serials[i % serials.length]));
      if (r.status !== 200) throw new Error(`confirmation ${id} answered ${r.status}: ${r.body}`);
    };
    // Warm-up: as many connections as the row uses (closed loop), the JIT, the WAL at its steady size.
    const width = load.kind === "clients" ? load.n : 64;
    for (let i = 0; i < WARM_UP; i += width)
      await Promise.all(Array.from({ length: Math.min(width, WARM_UP - i) }, (_, j) => send(`W${i + j}`, i + j)));
    const hubCpu = _cpuSeconds(hub.child.pid!);
    const ownCpu = process.cpuUsage();
    const start = performance.now();
    const latencies = load.kind === "clients" ? await _closed(load.n, send) : await _open(load.n, send);
    const seconds = (performance.now() - start) / 1000;
    const hubShare = (_cpuSeconds(hub.child.pid!) - hubCpu) / seconds;
    const own = process.cpuUsage(ownCpu);
    const ownShare = (own.user + own.system) / 1e6 / seconds;
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
    hub.child.kill("SIGTERM");
    await hub.exited;
    const what = load.kind === "clients" ? `${load.n} clients` : `${load.n.toLocaleString("en-US")}/s`;
    const percent = (share: number) => `${Math.round(share * 100)} %`;
    return [
      protocol,
      what,
      PAYMENTS / seconds,
      at(0.5),
      at(0.95),
      at(0.99),
      latencies[latencies.length - 1],
      percent(hubShare),
      percent(ownShare),
      _codedCount(db),
    ];
  } finally {
    agent.destroy();
    if (hub.child.exitCode === null) hub.child.kill("SIGKILL");
  }
}

/** `clients` loops, each posting the next payment as soon as its last is answered; the latencies. */
async function _closed(clients: number, send: (id: string, i: number) => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < PAYMENTS) {
        const i = next++;
        const t = performance.now();
        await send(`B${i}`, i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return latencies;
}

/**
 * Payment i is due at start + i / rate, sent when due whatever is still unanswered; its latency runs from when it
 * was due, so time the client spends behind schedule (a stalled hub) counts too.
 */
async function _open(rate: number, send: (id: string, i: number) => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  let next = 0;
  while (next < PAYMENTS) {
    const now = performance.now();
    for (; next < PAYMENTS && start + (next * 1000) / rate <= now; next++) {
      const due = start + (next * 1000) / rate;
      inFlight.push(send(`B${next}`, next).then(() => void latencies.push(performance.now() - due)));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  return latencies;
}

/** CPU seconds (user + system) a process has used, from /proc (Linux; 0 elsewhere). */
function _cpuSeconds(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "latin1").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
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
    return `${(row as { n: number }).n - WARM_UP}`;
  } finally {
    db.close();
  }
}
