// What a payment buys and which code carries it: the plan's arithmetic in integer minor units, and the hub's
// acceptance-window rule for devices that never report what was entered (ARCHITECTURE.md, "The window rule").
// Pure functions: the store reads the account, asks here, and writes the answer in one transaction.
import type { ProtocolName } from "../firmware/provision/record";
import { nextSeq, windowAbove } from "./codes";
import type { PaymentStatus, PlanSpec } from "./store";

export const DAY_MS = 86_400_000;

/** "10", "10.5", "10.50" (major units, as payers and Daraja write them; "1,000.00" in statements) in minor
 * units; a RangeError naming `field` otherwise. */
export function minorUnits(amount: string | number, field: string): number {
  const text = typeof amount === "number" ? String(amount) : amount.trim().replace(/,/g, "");
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(text);
  if (m === null) throw new RangeError(`${field} expected an amount like 100 or 100.50, got "${text.slice(0, 20)}"`);
  const value = Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
  if (value === 0) throw new RangeError(`${field} expected an amount above 0`);
  return value;
}

/** The money side of an account. */
export interface Money {
  readonly paid: number;
  readonly depositDue: number;
  readonly remainder: number;
  readonly unlock: "no" | "pending" | "issued";
}

export interface Bought {
  readonly money: Money;
  /** Whole days of credit this payment buys (0: none). */
  readonly days: number;
  /** The plan is paid off with this payment: unlock (now, or after approval when `money.unlock` is pending). */
  readonly unlock: boolean;
  readonly status: Exclude<PaymentStatus, "held" | "orphan" | "reversed">;
}

/**
 * One payment of `amount` on an account: the deposit first, then whole days at the plan's price, the rest kept
 * toward the next day (never lost; a reversal's debt is a negative remainder, filled first). Below the minimum the
 * money is kept but buys nothing now. At the plan's total the device is unlocked instead.
 */
export function buy(plan: PlanSpec, money: Money, amount: number): Bought {
  const paid = money.paid + amount;
  const deposit = Math.min(amount, money.depositDue);
  const depositDue = money.depositDue - deposit;
  let remainder = money.remainder + (amount - deposit);
  if (money.unlock !== "no")
    return { money: { ...money, paid, remainder }, days: 0, unlock: false, status: "remainder" };
  if (plan.total !== null && paid >= plan.total) {
    const unlock = plan.approveUnlock ? "pending" : "issued";
    const status = plan.approveUnlock ? "unlock_pending" : "coded";
    return { money: { paid, depositDue: 0, remainder: 0, unlock }, days: 0, unlock: true, status };
  }
  const after = (days: number, status: Bought["status"]): Bought => ({
    money: { paid, depositDue, remainder, unlock: "no" },
    days,
    unlock: false,
    status,
  });
  if (depositDue > 0) return after(0, "deposit");
  if (amount < plan.minPayment) return after(0, "below_minimum");
  const days = remainder >= plan.perDay ? Math.floor(remainder / plan.perDay) : 0;
  remainder -= days * plan.perDay;
  return after(days, days > 0 ? "coded" : "remainder");
}

/** The code the window rule picks for credit owed to a device. */
export type CreditCode =
  | { readonly kind: "add"; readonly days: number }
  | { readonly kind: "set"; readonly days: number }
  | { readonly kind: "hold" };

export interface WindowFacts {
  readonly protocol: ProtocolName;
  /** Highest ID/count issued to the device. */
  readonly issuedSeq: number;
  /** Highest ID/count assumed entered: recorded by an operator, or delivered `enteredAfterDays` ago. */
  readonly assumedEntered: number;
  /** Days this payment buys, and days held from earlier payments. */
  readonly days: number;
  readonly heldDays: number;
  /** Calendar days of credit left, this payment included (paid until, minus now, rounded up). */
  readonly owedDays: number;
}

/**
 * The window rule. A device takes a code only within its window above the last code it applied (Nexus 40 IDs,
 * OpenPAYGO 64 counts); the hub never learns what was applied, so it assumes a code delivered `enteredAfterDays`
 * ago was entered. While the next add code fits below the window's top slot, credit goes as add codes. The top slot
 * takes one set-credit code for everything owed: it supersedes every outstanding code (a set marks all older IDs or
 * counts used), so the customer needs only that code. Past it, credit is held on the account (never lost) until
 * the oldest outstanding codes age into "entered"; then one catch-up set code carries it. A hold thus lasts at most
 * `enteredAfterDays`, and only for a customer sent more than a window of codes within that many days.
 */
export function creditCode(f: WindowFacts): CreditCode {
  if (f.days + f.heldDays === 0) return { kind: "hold" };
  const top = f.assumedEntered + windowAbove(f.protocol, "set");
  // Catch-up: at least the held days in full (a hold never costs the customer), at least the calendar's credit.
  const setDays = Math.max(f.owedDays, f.heldDays + f.days);
  if (f.heldDays === 0 && nextSeq(f.protocol, "add", f.issuedSeq) < lastSlot(f.protocol, top))
    return { kind: "add", days: f.days };
  if (nextSeq(f.protocol, "set", f.issuedSeq) <= top) return { kind: "set", days: setDays };
  return { kind: "hold" };
}

/** The first ID/count at the window's top a set code can take (OpenPAYGO set counts may skip one). */
export function lastSlot(protocol: ProtocolName, top: number): number {
  return protocol === "openpaygo" ? top - 1 : top;
}
