// The fleet store as the operator commands use it: opened for one command, closed after, its input errors as usage
// errors (exit 2) naming the flag.
import { UsageError } from "../fleet/errors";
import { minorUnits } from "../fleet/payments";
import { SqliteStore } from "../fleet/sqlitestore";
import type { FleetStore } from "../fleet/store";

export async function withStore<T>(db: string, work: (store: FleetStore) => Promise<T>): Promise<T> {
  const store = SqliteStore.open(db);
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
