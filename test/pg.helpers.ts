// Helpers for the PostgreSQL suites: a migrated database on the throwaway server (tools/pgserver.ts), a hub fleet
// copied onto it, and a look at the rows the store wrote.
import type { ProvisionedDevice } from "../fleet/devices";
import { copyFleet } from "../fleet/pgcopy";
import { pgPool } from "../fleet/pgdb";
import { PgStore, type PgStoreOptions } from "../fleet/pgstore";
import type { ProfileOptions } from "../fleet/profile";
import { keyFileBeside } from "../fleet/sealing";
import type { IncomingPayment, PlanSpec } from "../fleet/store";
import { DAILY, hubFleet } from "./hub.helpers";
import { migratedDatabase, startPostgres, type PgServer } from "../tools/pgserver";

export { migratedDatabase, startPostgres, type PgServer };

/** An M-Pesa callback's payment for `accountRef` (KES 50 by default: one day on DAILY). */
export function paid(transId: string, accountRef: string, amount = 5000): IncomingPayment {
  return {
    provider: "mpesa",
    transId,
    amount,
    currency: "KES",
    shortCode: null,
    accountRef,
    msisdn: null,
    paidAt: null,
    via: "callback",
  };
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
