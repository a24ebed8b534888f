// Statements per payment through the fleet store, on SQLite and on PostgreSQL: each one a round trip to a PostgreSQL
// server, so the count is what a payment's latency there is made of. Counted as the shared Steps yield them
// (fleet/paymentsteps.ts), with the hub's SMS hook; PostgreSQL adds its BEGIN and COMMIT to each.
import fs from "fs";
import os from "os";
import path from "path";
import { EngineStore, type StoreEngine, type StoreOptions } from "../../fleet/enginestore";
import { copyFleet } from "../../fleet/pgcopy";
import { pgEngine } from "../../fleet/pgstore";
import { keyFileBeside } from "../../fleet/sealing";
import type { Steps } from "../../fleet/sql";
import { sqliteEngine } from "../../fleet/sqlitestore";
import type { IncomingPayment } from "../../fleet/store";
import { queueCodeSms } from "../../hub/sms/queue";
import { migratedDatabase, startPostgres } from "../pgserver";
import { benchFleet } from "./hub";
import { printTable, type Cell } from "./table";

export const name = "store";

const DEVICES = 20;
const PAYMENTS = 200;

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-bench-store-"));
  const server = startPostgres();
  try {
    const file = path.join(dir, "fleet.db");
    const serials = await benchFleet(file, "nexus-full", DEVICES);
    const url = await migratedDatabase(server);
    const access = { secretKeyFile: keyFileBeside(file) };
    await copyFleet(file, url, access);
    const rows: Cell[][] = [];
    for (const [engine, open] of [
      ["SQLite", () => sqliteEngine(file, access)],
      ["PostgreSQL", () => pgEngine(url, access)],
    ] as const)
      rows.push([engine, ...(await _count(await open(), serials))]);
    printTable(
      "Fleet store: statements per payment (each a round trip to a PostgreSQL server)",
      ["engine", "paid", "repeated callback", "orphan"],
      rows,
      [
        `means over ${PAYMENTS} payments of one day on ${DEVICES} Nexus devices, the SMS row queued with each code;`,
        "PostgreSQL adds BEGIN and COMMIT to each (SQLite's group commit shares its own among a burst).",
      ],
    );
  } finally {
    server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Statements per paid payment, per repeat of one, per orphan, on `engine`. */
async function _count(engine: StoreEngine, serials: string[]): Promise<Cell[]> {
  const tally = { n: 0 };
  const options: StoreOptions = { onCode: queueCodeSms(Date.now, () => {}) };
  const store = new EngineStore(_counting(engine, tally), options);
  const mean = async (pay: (i: number) => IncomingPayment) => {
    tally.n = 0;
    for (let i = 0; i < PAYMENTS; i++) await store.receive(pay(i));
    return tally.n / PAYMENTS;
  };
  try {
    const paid = await mean((i) => _payment(`P${i}`, serials[i % serials.length]));
    const repeated = await mean((i) => _payment(`P${i}`, serials[i % serials.length]));
    const orphan = await mean((i) => _payment(`O${i}`, "NOBODY"));
    return [paid, repeated, orphan];
  } finally {
    await store.close();
  }
}

/** `engine`, counting every statement its procedures yield. */
function _counting(engine: StoreEngine, tally: { n: number }): StoreEngine {
  const counted = <T>(steps: () => Steps<T>) =>
    function* (): Steps<T> {
      const inner = steps();
      let next = inner.next([]);
      while (!next.done) {
        tally.n++;
        let rows: unknown[];
        try {
          rows = yield next.value;
        } catch (e) {
          next = inner.throw(e);
          continue;
        }
        next = inner.next(rows);
      }
      return next.value;
    };
  return { ...engine, write: (steps) => engine.write(counted(steps)), read: (steps) => engine.read(counted(steps)) };
}

function _payment(transId: string, accountRef: string): IncomingPayment {
  return {
    provider: "mpesa",
    transId,
    amount: 5000,
    currency: "KES",
    shortCode: null,
    accountRef,
    msisdn: null,
    paidAt: null,
    via: "callback",
  };
}
