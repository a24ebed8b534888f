// The fleet store as the operator commands use it: opened for one command, closed after, its input errors as usage
// errors (exit 2) naming the flag.
import { UsageError } from "../fleet/errors";
import { minorUnits } from "../fleet/payments";
import type { SecretKeySource } from "../fleet/sealing";
import { isPostgresUrl } from "../fleet/database";
import type { StoreOptions } from "../fleet/enginestore";
import { PgStore } from "../fleet/pgstore";
import { SqliteStore } from "../fleet/sqlitestore";
import type { FleetStore } from "../fleet/store";

/** The fleet a command names: its database, and the key file its device secrets are sealed under. */
export interface FleetFlags {
  db: string;
  secretKeyFile?: string;
}

/** What the hub tells either store (the code hook: the SMS row in the issuing transaction). */
export type HubStoreOptions = Pick<StoreOptions, "enteredAfterDays" | "countryCode" | "onCode">;

/** The flag every command that opens a fleet takes beside --db (fleet/sealing.ts). */
export const SECRET_KEY_OPTION = [
  "--secret-key-file <file>",
  "the key (64 hex digits) device secrets are encrypted under in the database; default $SOLKEY_SECRET_KEY, " +
    "else the .secret-key file beside the database",
] as const;

/** How a command opens its fleet: with the key it was given; a key file created is said in one line on stderr. */
export function fleetAccess(o: FleetFlags): SecretKeySource {
  return { secretKeyFile: o.secretKeyFile, notice: (line) => process.stderr.write(`solkey: ${line}\n`) };
}

/** The fleet store `--db` names: a SQLite file, or a PostgreSQL URL (given its secret key). */
export async function openStore(o: FleetFlags, options: HubStoreOptions = {}): Promise<FleetStore> {
  const access = { ...fleetAccess(o), ...options };
  return isPostgresUrl(o.db) ? PgStore.open(o.db, access) : SqliteStore.open(o.db, access);
}

export async function withStore<T>(o: FleetFlags, work: (store: FleetStore) => Promise<T>): Promise<T> {
  const store = await openStore(o);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** An amount flag (major units, "50" or "49.50") in minor units. */
export function moneyFlag(text: string, flag: string): number {
  try {
    return minorUnits(text, flag);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Minor units as major units for people: 5000 -> "50.00". */
export function money(minor: number): string {
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}
