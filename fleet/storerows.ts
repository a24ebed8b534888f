// The plans, accounts, payments, codes and device rows as both fleet stores read them (SQLite and PostgreSQL share
// one schema), and the objects made from them.
import type { ProtocolName } from "../firmware/provision/record";
import { codeRecord, type CodeRow } from "./ledger";
import { owedDays, windowTop } from "./operator";
import type { Account, Code, Device, PaymentStatus, Plan } from "./store";

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

export interface AccountRow {
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
  serial: string;
  protocol: string;
}

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

/** An account row with its plan (which the stores cache: a plan never changes once added). */
export function accountFromRow(row: AccountRow, plan: Plan): Account {
  return {
    accountId: row.account_id,
    deviceId: row.device_id,
    serial: row.serial,
    phone: row.phone,
    plan,
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
