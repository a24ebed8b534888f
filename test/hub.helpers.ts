// Helpers for the hub suites: a provisioned fleet with plans and accounts, Daraja-shaped callback bodies, and the
// simulated device a code is typed on (the real firmware, as test/e2e.test.ts drives it).
import path from "path";
import { phoneHash } from "../fleet/accounts";
import { openFleet } from "../fleet/database";
import { provisionBatch, type ProvisionedDevice } from "../fleet/devices";
import { makeProfile, type ProfileOptions } from "../fleet/profile";
import { SqliteStore, type SqliteStoreOptions } from "../fleet/sqlitestore";
import type { PlanSpec } from "../fleet/store";
import { parseConfig, type HubConfig } from "../hub/config";
import { SimDevice, type TraceEvent } from "../hosts/node/simdevice";
import { DAILY } from "../tools/bench/hub";
import { scratch } from "./fleet.helpers";

export { DAILY };

export const TOKEN = "t0k3n-0123456789abcdef";
export const SHORT_CODE = "600638";

export interface HubFleet {
  readonly file: string;
  readonly devices: ProvisionedDevice[];
  readonly store: SqliteStore;
}

/** `count` devices of one profile in a fresh fleet, each with an account on `plan` (phone 2547000000NN). */
export async function hubFleet(
  profile: ProfileOptions,
  count: number,
  plan: PlanSpec = DAILY,
  options: SqliteStoreOptions = {},
): Promise<HubFleet> {
  const file = path.join(scratch("hub"), "fleet.db");
  const db = openFleet(file, { create: true });
  const { devices } = provisionBatch(db, file, { profile: makeProfile(profile), count, master: null });
  db.close();
  const store = SqliteStore.open(file, options);
  await store.addPlan(plan);
  for (const [i, d] of devices.entries())
    await store.addAccount({ device: d.serial, phone: phoneOf(i), plan: plan.name, language: "en" });
  return { file, devices, store };
}

export function phoneOf(i: number): string {
  return `2547000000${String(i).padStart(2, "0")}`;
}

export function testConfig(extra: Record<string, string> = {}): HubConfig {
  return parseConfig({
    SOLKEY_MPESA_TOKEN: TOKEN,
    SOLKEY_MPESA_SHORTCODES: SHORT_CODE,
    SOLKEY_LOG_LEVEL: "warn",
    ...extra,
  });
}

/** A C2B callback body as Daraja posts it. */
export function c2b(transId: string, amount: string, billRef: string, extra: Record<string, string> = {}) {
  return {
    TransactionType: "Pay Bill",
    TransID: transId,
    TransTime: "20261205103045",
    TransAmount: amount,
    BusinessShortCode: SHORT_CODE,
    BillRefNumber: billRef,
    InvoiceNumber: "",
    OrgAccountBalance: "49197.00",
    ThirdPartyTransID: "",
    MSISDN: phoneHash("254799999999"), // C2B v2: a digest, here of a number no account has
    FirstName: "John",
    MiddleName: "",
    LastName: "",
    ...extra,
  };
}

/** The simulated controller of a provisioned device, powered on. */
export function simOf(device: ProvisionedDevice): SimDevice {
  const sim = new SimDevice({ provision: device.image, journal: device.journal });
  sim.powerOn();
  return sim;
}

/** Types a keycode as the customer would (OpenPAYGO full keypads between * and #). */
export function enter(sim: SimDevice, device: ProvisionedDevice, keycode: string): void {
  const r = device.record;
  sim.type(r.protocol === "openpaygo" && !r.restricted ? `*${keycode}#` : keycode);
}

/** The device's verdicts on the codes typed so far. */
export function verdicts(trace: readonly TraceEvent[]): string[] {
  return trace.flatMap((e) =>
    e.type === "feedback" && ["applied", "duplicate", "invalid"].includes(e.pattern) ? [e.pattern] : [],
  );
}

/** Seconds of credit the device last reported. */
export function creditOf(sim: SimDevice): number | "unlocked" {
  const e = sim.trace.filter((t) => t.type === "credit").pop();
  return e?.type === "credit" ? e.seconds : 0;
}
