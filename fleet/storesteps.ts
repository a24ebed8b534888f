// The fleet store's reads and bookkeeping, written once for both engines as Steps (fleet/sql.ts): plans, accounts and
// how a payment's reference names one, outcomes, devices and codes as the operator API lists them, the audit entry.
// fleet/paymentsteps.ts and fleet/operatorsteps.ts write with them; fleet/enginestore.ts runs them on an engine.
import { auditArgs, INSERT_AUDIT } from "./apikeys";
import { parsePhone, phoneDigits, phoneHash, readMsisdn, serialKey } from "./accounts";
import { openedDevice, type DeviceRow, type FleetDevice, type SealedFleet } from "./devices";
import { NotFoundError, UsageError } from "./errors";
import type { IssuedCode } from "./ledger";
import type { Steps } from "./sql";
import type { Account, AccountSpec, AuditNote, Device, Plan, PlanSpec, PaymentOutcome } from "./store";
import { CODE_SELECT, deliveredColumn, deviceBySerialSql, deviceSummarySql, type Sql } from "./storequeries";
import {
  ACCOUNT_COLUMNS,
  ACCOUNT_SELECT,
  ACCOUNT_TABLES,
  accountFromRow,
  codeFromRow,
  deviceFromRows,
  OUTCOME_SELECT,
  outcomeFromRow,
  type AccountRow,
  type CodeListRow,
  type DeviceSummaryRow,
  type OutcomeRow,
} from "./storerows";

/** What the store's procedures need beside the database: its clock, rules and the engine's key. */
export interface StoreContext {
  /** For messages: the file or URL (its password hidden). */
  readonly where: string;
  readonly now: () => Date;
  /** For local numbers typed as account references (07XX...). */
  readonly countryCode: string;
  /** A code delivered this long ago counts as entered (window rule). */
  readonly enteredAfterMs: number;
  /** The key the devices' images are sealed under. */
  readonly fleet: SealedFleet;
  /** Queues a code's SMS in the code's own transaction (hub/sms/queue.ts); the message's id. */
  readonly onCode?: CodeHook;
}

/** Runs in the transaction that issued `code` (its row `codeId`) for `account`, before it commits. */
export type CodeHook = (code: IssuedCode, account: Account, device: FleetDevice, codeId: number) => Steps<number>;

/** A device read under its lock, with the highest ID/count assumed entered by delivery time (window rule). */
export interface LockedDeviceRow extends DeviceRow {
  delivered_seq: number | null;
}

/** An account read under its lock, with its device's row (locked too). */
export type LockedAccountRow = AccountRow & LockedDeviceRow;

/** A shared query's rows. */
export function* rowsOf<T>(sql: Sql): Steps<T[]> {
  return (yield { sql: sql.text, args: sql.args }) as T[];
}

/** The device a row holds, its image opened under the fleet's key. */
export function deviceOf(ctx: StoreContext, row: DeviceRow): FleetDevice {
  return openedDevice(ctx.fleet, row);
}

/** A code delivered at or before this counts as entered (window rule). */
function assumedBefore(ctx: StoreContext): string {
  return new Date(ctx.now().getTime() - ctx.enteredAfterMs).toISOString();
}

/** Up to two accounts `where` names (a match names exactly one). */
function* accountsWhere(where: string, args: readonly unknown[]): Steps<AccountRow[]> {
  return (yield { sql: `${ACCOUNT_SELECT} WHERE ${where} LIMIT 2`, args }) as AccountRow[];
}

/**
 * The account `where` names (a unique key), its row and its device's locked until the transaction ends (account
 * before device, in one statement, on every issuing path), read as they stand after any lock waited for. The
 * delivered column may come from the statement's snapshot, before that wait: a code committed meanwhile was coded
 * just now, and only codes coded days ago count as delivered.
 */
export function* lockedAccount(
  ctx: StoreContext,
  where: string,
  args: readonly unknown[],
): Steps<LockedAccountRow | undefined> {
  const before = assumedBefore(ctx);
  const columns = `${ACCOUNT_COLUMNS}, ${deliveredColumn("a.account_id", "d.device_id")}`;
  const [row] = (yield {
    sql: `SELECT ${columns} FROM ${ACCOUNT_TABLES} WHERE ${where}`,
    args: [before, before, ...args],
    forUpdate: ["a", "d"],
  }) as LockedAccountRow[];
  return row;
}

/** A device without an account, its row locked; with what was delivered to it (operators' codes). */
export function* lockedDevice(ctx: StoreContext, deviceId: number): Steps<LockedDeviceRow> {
  const before = assumedBefore(ctx);
  const [row] = (yield {
    sql: `SELECT d.device_id, d.serial, d.image, d.issued_seq, d.entered_seq, ${deliveredColumn("NULL", "d.device_id")}
      FROM devices d WHERE d.device_id = ?`,
    args: [before, before, deviceId],
    forUpdate: ["d"],
  }) as LockedDeviceRow[];
  return row;
}

/** The account a locked read names by serial; a UsageError naming the fix when there is none. */
export function* lockedBySerial(ctx: StoreContext, serial: string): Steps<LockedAccountRow> {
  const row = yield* lockedAccount(ctx, "a.serial_key = ?", [serialKey(serial)]);
  if (row === undefined) throw new UsageError(`no account for ${serial} in ${ctx.where}; see \`solkey account add\``);
  return row;
}

/**
 * The account a payment's reference (serial or phone) or payer's number names, or undefined (none, or two).
 * `serialTried`: the caller has looked the reference up as a serial already.
 */
export function* matchSteps(
  ctx: StoreContext,
  accountRef: string,
  msisdn: string | null,
  serialTried = false,
): Steps<AccountRow | undefined> {
  if (!serialTried) {
    const [bySerial] = yield* accountsWhere("a.serial_key = ?", [serialKey(accountRef)]);
    if (bySerial !== undefined) return bySerial;
  }
  const refPhone = phoneDigits(accountRef, ctx.countryCode);
  if (refPhone !== undefined) {
    const rows = yield* accountsWhere("a.phone = ?", [refPhone]);
    if (rows.length === 1) return rows[0];
  }
  const payer = readMsisdn(msisdn);
  let rows: AccountRow[] = [];
  if (payer.kind === "clear") rows = yield* accountsWhere("a.phone = ?", [payer.digits]);
  else if (payer.kind === "hash") rows = yield* accountsWhere("a.phone_sha256 = ?", [payer.hex]);
  else if (payer.kind === "masked") {
    const prefix = /^\d+/.exec(msisdn!.trim())![0];
    const all = (yield {
      sql: `${ACCOUNT_SELECT} WHERE a.phone LIKE ? AND length(a.phone) = ?`,
      args: [`${prefix}%`, msisdn!.trim().length],
    }) as AccountRow[];
    rows = all.filter((r) => payer.pattern.test(r.phone));
  }
  // A payer's number names an account only when it names exactly one (a shared phone pays for which device?).
  return rows.length === 1 ? rows[0] : undefined;
}

/** matchSteps, the account then locked (the serial's case, the usual one, in one statement). */
export function* matchLocked(
  ctx: StoreContext,
  accountRef: string,
  msisdn: string | null,
): Steps<LockedAccountRow | undefined> {
  const bySerial = yield* lockedAccount(ctx, "a.serial_key = ?", [serialKey(accountRef)]);
  if (bySerial !== undefined) return bySerial;
  const found = yield* matchSteps(ctx, accountRef, msisdn, true);
  return found === undefined ? undefined : yield* lockedAccount(ctx, "a.account_id = ?", [found.account_id]);
}

/** The account of a serial; NotFoundError naming the fix when there is none. */
export function* accountSteps(ctx: StoreContext, serial: string): Steps<Account> {
  const [row] = yield* accountsWhere("a.serial_key = ?", [serialKey(serial)]);
  if (row === undefined)
    throw new NotFoundError(
      `no account for ${serial} in ${ctx.where}. Add one with \`solkey account add ${serial} ...\``,
    );
  return accountFromRow(row);
}

export function* addPlanSteps(ctx: StoreContext, spec: PlanSpec): Steps<Plan> {
  const [row] = (yield {
    sql: `INSERT INTO plans (name, currency, per_day, min_payment, deposit, total, approve_unlock, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING plan_id`,
    args: [
      spec.name,
      spec.currency,
      spec.perDay,
      spec.minPayment,
      spec.deposit,
      spec.total,
      spec.approveUnlock ? 1 : 0,
      ctx.now().toISOString(),
    ],
  }) as { plan_id: number }[];
  if (row === undefined) throw new UsageError(`plan ${spec.name} is already in ${ctx.where}; choose another name`);
  return { ...spec, planId: row.plan_id };
}

export function* addAccountSteps(ctx: StoreContext, spec: AccountSpec): Steps<Account> {
  // The serial as the operator typed it, or as matching reads it (any case, spaces, dashes), or the device's id.
  const found = (yield {
    sql: `SELECT device_id, serial FROM devices
      WHERE upper(replace(replace(serial, '-', ''), ' ', '')) = ? OR serial = ? OR CAST(device_id AS TEXT) = ?`,
    args: [serialKey(spec.device), spec.device, spec.device],
  }) as { device_id: number; serial: string }[];
  if (found.length !== 1)
    throw new UsageError(`device ${spec.device} is not in ${ctx.where}. Run \`solkey provision\` first`);
  const [device] = found;
  const [plan] = (yield { sql: "SELECT plan_id, deposit FROM plans WHERE name = ?", args: [spec.plan] }) as {
    plan_id: number;
    deposit: number;
  }[];
  if (plan === undefined)
    throw new UsageError(`no plan ${spec.plan} in ${ctx.where}. Add it with \`solkey plan add ${spec.plan} ...\``);
  const phone = parsePhone(spec.phone, ctx.countryCode);
  const [added] = (yield {
    sql: `INSERT INTO accounts (device_id, serial_key, phone, phone_sha256, plan_id, language, deposit_due, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING account_id`,
    args: [
      device.device_id,
      serialKey(device.serial),
      phone,
      phoneHash(phone),
      plan.plan_id,
      spec.language,
      plan.deposit,
      ctx.now().toISOString(),
    ],
  }) as { account_id: number }[];
  if (added === undefined) throw new UsageError(`${device.serial} already has an account in ${ctx.where}`);
  const [row] = yield* accountsWhere("a.account_id = ?", [added.account_id]);
  return accountFromRow(row);
}

/** The outcome of the payment `where` names (provider and transaction id, or id), undefined when none. */
export function* outcomeSteps(
  where: "p.provider = ? AND p.trans_id = ?" | "p.payment_id = ?",
  args: readonly unknown[],
  replayed: boolean,
): Steps<PaymentOutcome | undefined> {
  const [row] = (yield { sql: `${OUTCOME_SELECT} WHERE ${where}`, args }) as OutcomeRow[];
  return row === undefined ? undefined : outcomeFromRow(row, replayed);
}

/** A device's id by serial (any case, spaces, dashes); NotFoundError when none. */
export function* deviceIdSteps(ctx: StoreContext, serial: string): Steps<number> {
  const [row] = yield* rowsOf<{ device_id: number }>(deviceBySerialSql(serial));
  if (row === undefined) throw new NotFoundError(`no device ${serial} in ${ctx.where}`);
  return row.device_id;
}

/** One code with its device's serial. */
export function* codeListSteps(codeId: number): Steps<CodeListRow> {
  const [row] = (yield { sql: `${CODE_SELECT} WHERE c.code_id = ?`, args: [codeId] }) as CodeListRow[];
  return row;
}

/** A device with its account, counts, window and last code (docs/API.md `Device`). */
export function* deviceSteps(ctx: StoreContext, deviceId: number): Steps<Device> {
  const [row] = yield* rowsOf<DeviceSummaryRow>(deviceSummarySql(deviceId, assumedBefore(ctx)));
  const account = row.account_id === null ? null : (yield* accountsWhere("a.account_id = ?", [row.account_id]))[0];
  const last = row.last_code_id === null ? null : codeFromRow(yield* codeListSteps(row.last_code_id));
  return deviceFromRows(row, account === null ? null : accountFromRow(account), last, ctx.now());
}

/** Appends `audit`'s entry of `done` in the open transaction; its id. */
export function* auditSteps<T>(ctx: StoreContext, audit: AuditNote<T>, done: T): Steps<number> {
  const args = auditArgs(audit.keyId, ctx.now(), audit.action, audit.reason, audit.effect(done));
  const [row] = (yield { sql: `${INSERT_AUDIT} RETURNING audit_id`, args }) as { audit_id: number }[];
  return Number(row.audit_id);
}

/** `work`, then its audit entry when asked, in the one open transaction. */
export function* audited<T>(ctx: StoreContext, audit: AuditNote<T> | undefined, work: Steps<T>): Steps<T> {
  const done = yield* work;
  if (audit !== undefined) yield* auditSteps(ctx, audit, done);
  return done;
}
