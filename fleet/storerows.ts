// The plans, accounts, payments, codes and device rows as both fleet stores read them (SQLite and PostgreSQL share
// one schema), and the objects made from them.
import type { ProtocolName } from "../firmware/provision/record";
import type { DeviceRow } from "./devices";
import { codeRecord, type CodeRow, type IssuedCode } from "./ledger";
import { owedDays, windowTop } from "./operator";
import type { Account, Code, Device, PaymentOutcome, PaymentStatus, Plan } from "./store";

export interface PlanRow {
  plan_id: number;
  name: string;
  currency: string;
  per_day: number;
  min_payment: number;
  deposit: number;
  total: number | null;
  approve_unlock: number;
}

/**
 * An account with its device (the sealed image and counts issuing needs) and its plan, in one read: the columns
 * AccountRow names.
 */
export const ACCOUNT_COLUMNS = `a.account_id, a.device_id, a.phone, a.plan_id, a.language, a.paid, a.deposit_due,
  a.remainder, a.days_bought, a.held_days, a.paid_until, a.unlock, d.serial, d.protocol, d.image, d.issued_seq,
  d.entered_seq, p.name AS plan_name, p.currency, p.per_day, p.min_payment, p.deposit, p.total, p.approve_unlock`;
export const ACCOUNT_TABLES = `accounts a JOIN devices d ON d.device_id = a.device_id
  JOIN plans p ON p.plan_id = a.plan_id`;
export const ACCOUNT_SELECT = `SELECT ${ACCOUNT_COLUMNS} FROM ${ACCOUNT_TABLES}`;

export interface AccountRow extends Omit<PlanRow, "name">, DeviceRow {
  plan_name: string;
  account_id: number;
  device_id: number;
  phone: string;
  plan_id: number;
  language: Account["language"];
  paid: number;
  deposit_due: number;
  remainder: number;
  days_bought: number;
  held_days: number;
  paid_until: string | null;
  unlock: Account["unlock"];
  protocol: string;
}

/**
 * A payment with what its outcome names: its account's serial and its code, in one read (a LEFT JOIN: an orphan
 * has neither). The columns OutcomeRow names.
 */
export const OUTCOME_SELECT = `SELECT p.payment_id, p.provider, p.trans_id, p.amount, p.currency, p.account_ref,
  p.account_id, p.status, p.code_id, p.received_at, d.serial, d.device_id, d.protocol, c.kind AS code_kind,
  c.seq AS code_seq, c.keycode, c.units, c.seconds, c.payment_ref
  FROM payments p LEFT JOIN accounts a ON a.account_id = p.account_id LEFT JOIN devices d ON d.device_id = a.device_id
  LEFT JOIN codes c ON c.code_id = p.code_id`;

export interface PaymentRow {
  payment_id: number;
  provider: string;
  trans_id: string;
  amount: number;
  currency: string;
  account_ref: string;
  account_id: number | null;
  status: PaymentStatus;
  code_id: number | null;
  received_at: string;
}

export interface OutcomeRow extends PaymentRow {
  serial: string | null;
  device_id: number | null;
  protocol: string | null;
  code_kind: string | null;
  code_seq: number | null;
  keycode: string | null;
  units: number | null;
  seconds: number | null;
  payment_ref: string | null;
}

/** A payment's outcome from its row and, when it has them, its account's serial and its code. */
export function outcomeOf(
  row: PaymentRow,
  serial: string | null,
  code: Omit<IssuedCode, "replayed" | "warning"> | null,
  replayed: boolean,
): PaymentOutcome {
  return {
    paymentId: row.payment_id,
    provider: row.provider,
    transId: row.trans_id,
    amount: row.amount,
    currency: row.currency,
    accountRef: row.account_ref,
    status: row.status,
    serial,
    // As a code is stored: a replay of it says so; the window warning was the issuer's to read, once.
    code: code === null ? null : { ...code, replayed, warning: null },
    replayed,
    receivedAt: row.received_at,
  };
}

/** OUTCOME_SELECT's row as the outcome. */
export function outcomeFromRow(row: OutcomeRow, replayed: boolean): PaymentOutcome {
  const code =
    row.code_id === null || row.device_id === null
      ? null
      : {
          serial: row.serial!,
          deviceId: row.device_id,
          protocol: row.protocol!,
          kind: row.code_kind!,
          seq: row.code_seq,
          keycode: row.keycode!,
          units: row.units,
          seconds: row.seconds,
          paymentRef: row.payment_ref,
        };
  return outcomeOf(row, row.serial, code, replayed);
}

export function planFromRow(row: PlanRow): Plan {
  return {
    planId: row.plan_id,
    name: row.name,
    currency: row.currency,
    perDay: row.per_day,
    minPayment: row.min_payment,
    deposit: row.deposit,
    total: row.total,
    approveUnlock: row.approve_unlock === 1,
  };
}

/** An account row (ACCOUNT_SELECT) as the store's Account. */
export function accountFromRow(row: AccountRow): Account {
  return {
    accountId: row.account_id,
    deviceId: row.device_id,
    serial: row.serial,
    phone: row.phone,
    plan: planFromRow({ ...row, name: row.plan_name }),
    language: row.language,
    paid: row.paid,
    depositDue: row.deposit_due,
    remainder: row.remainder,
    daysBought: row.days_bought,
    heldDays: row.held_days,
    paidUntil: row.paid_until,
    unlock: row.unlock,
  };
}

/** A code with its device's serial (storequeries.ts CODE_SELECT). */
export type CodeListRow = Omit<CodeRow, "device_id" | "request"> & { code_id: number; serial: string };

export function codeFromRow(row: CodeListRow): Code {
  return { codeId: row.code_id, serial: row.serial, ...codeRecord(row) };
}

/** A device and its counts (storequeries.ts deviceSummarySql). */
export interface DeviceSummaryRow {
  device_id: number;
  serial: string;
  protocol: ProtocolName;
  issued_seq: number;
  entered_seq: number;
  account_id: number | null;
  issued: number;
  known_entered: number;
  /** The highest ID/count of a payment's code delivered long enough ago to count as entered (window rule). */
  delivered_seq: number | null;
  last_code_id: number | null;
}

export function deviceFromRows(row: DeviceSummaryRow, account: Account | null, last: Code | null, now: Date): Device {
  const assumedEnteredSeq = Math.max(row.entered_seq, row.delivered_seq ?? -Infinity);
  const topSeq = windowTop({ protocol: row.protocol, assumedEntered: assumedEnteredSeq });
  return {
    serial: row.serial,
    deviceId: row.device_id,
    protocol: row.protocol,
    account,
    credit:
      account === null
        ? null
        : { paidUntil: account.paidUntil, owedDays: owedDays(account.paidUntil, now), heldDays: account.heldDays },
    codes: {
      issued: row.issued,
      knownEntered: row.known_entered,
      issuedSeq: row.issued_seq,
      enteredSeq: row.entered_seq,
    },
    window: { assumedEnteredSeq, topSeq, free: Math.max(0, topSeq - row.issued_seq) },
    lastCode: last,
  };
}
