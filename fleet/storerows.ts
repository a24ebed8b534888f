// The plans, accounts and payments rows as both fleet stores read them (SQLite and PostgreSQL share one schema).
import type { Account, PaymentStatus, Plan } from "./store";

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
