// `solkey hub --demo`: a throwaway fleet database (three provisioned Nexus devices with accounts on a daily plan), the
// log SMS driver, the curl lines that post a payment, so a payment becoming an SMS is one command away, and an issue
// key to watch it in the operator console.
import fs from "fs";
import os from "os";
import path from "path";
import { openApiKeys } from "../../fleet/apikeys";
import { openFleet } from "../../fleet/database";
import { provisionBatch, type ProvisionedDevice } from "../../fleet/devices";
import { makeProfile } from "../../fleet/profile";
import { SqliteStore } from "../../fleet/sqlitestore";

const TOKEN = "demo-token-0123456789";
const SHORT_CODE = "600638";
const LANGUAGES = ["en", "sw", "fr"] as const;

export interface Demo {
  readonly db: string;
  readonly env: Record<string, string>;
  /** An issue key for the operator console (/console/), made in the throwaway fleet. */
  readonly consoleKey: string;
  /** The devices' serials, in order. */
  readonly serials: readonly string[];
  /** The devices as the factory made them (provisioning image and journal: what a simulated controller boots). */
  readonly devices: readonly ProvisionedDevice[];
  /** A C2B confirmation body as Daraja posts it to this demo's short code. */
  confirmation(transId: string, amount: string, reference: string, firstName?: string): Record<string, string>;
  /** The curl lines for the hub listening on `port`. */
  curls(port: number): string;
  remove(): void;
}

export async function prepareDemo(): Promise<Demo> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-hub-demo-"));
  const file = path.join(dir, "fleet.db");
  const db = openFleet(file, { create: true });
  const { devices } = provisionBatch(db, file, {
    profile: makeProfile({ protocol: "nexus-full" }),
    count: LANGUAGES.length,
    master: null,
  });
  db.close();
  const store = SqliteStore.open(file);
  await store.addPlan({
    ...{ name: "daily", currency: "KES", perDay: 5000, minPayment: 5000, deposit: 0, total: 500_000 },
    approveUnlock: false,
  });
  for (const [i, d] of devices.entries())
    await store.addAccount({ device: d.serial, phone: `25470000000${i}`, plan: "daily", language: LANGUAGES[i] });
  await store.close();
  const keys = await openApiKeys(file);
  const consoleKey = (await keys.create("issue", "hub --demo console")).key;
  await keys.close();
  const confirmation = (transId: string, amount: string, reference: string, firstName = "") => ({
    ...{ TransactionType: "Pay Bill", TransID: transId, TransTime: "20261205103045", TransAmount: amount },
    ...{ BusinessShortCode: SHORT_CODE, BillRefNumber: reference, MSISDN: "254799999999", FirstName: firstName },
  });
  const curl = (port: number, serial: string, i: number) =>
    `curl -s http://127.0.0.1:${port}/c2b/${TOKEN}/confirmation -H 'content-type: application/json' -d '` +
    JSON.stringify(confirmation(`DEMO${i}00001`, "150.00", serial)) +
    "'";
  return {
    db: file,
    consoleKey,
    serials: devices.map((d) => d.serial),
    devices,
    confirmation,
    env: { SOLKEY_MPESA_TOKEN: TOKEN, SOLKEY_MPESA_SHORTCODES: SHORT_CODE, SOLKEY_SMS_DRIVER: "log" },
    curls: (port) =>
      devices
        .map((d, i) => `# KES 150 (3 days) for ${d.serial}, SMS in ${LANGUAGES[i]}:\n${curl(port, d.serial, i)}\n`)
        .join(""),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
