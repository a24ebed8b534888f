// The fleet store as the operator commands use it: opened for one command, closed after, its input errors as usage
// errors (exit 2) naming the flag.
import os from "os";
import { paymentAudit } from "../fleet/apikeys";
import { UsageError } from "../fleet/errors";
import { minorUnits } from "../fleet/payments";
import type { SecretKeySource } from "../fleet/sealing";
import { isPostgresUrl } from "../fleet/database";
import type { StoreOptions } from "../fleet/enginestore";
import { PgStore } from "../fleet/pgstore";
import { SqliteStore } from "../fleet/sqlitestore";
import type { AuditNote, FleetStore, PaymentOutcome } from "../fleet/store";
import { queueCodeSms } from "../hub/sms/queue";

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

export async function withStore<T>(
  o: FleetFlags,
  work: (store: FleetStore) => Promise<T>,
  options: HubStoreOptions = {},
): Promise<T> {
  const store = await openStore(o, options);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/**
 * The store for a command that issues payments' codes (assign, approve, release): each code's SMS queued in the
 * code's own transaction, as the hub queues it; a running hub's outbox worker sends it.
 */
export function withIssuingStore<T>(o: FleetFlags, work: (store: FleetStore) => Promise<T>): Promise<T> {
  return withStore(o, work, { onCode: queueCodeSms(Date.now, () => {}) });
}

/** The audit entry of a command's action on a payment: by the command line, as this OS user, with the note. */
export function commandAudit(action: string, note: string | undefined): AuditNote<PaymentOutcome> {
  return paymentAudit(null, action, note ?? null, { via: "command line", user: _osUser() });
}

function _osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? `uid ${process.getuid?.() ?? "unknown"}`; // no passwd entry (a container's uid)
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
