// Codes an operator asks for outside payments (the API's ad-hoc codes and desired state): which code each action is
// on each protocol, whether the device's window has room for it, and what it does to the account. Pure: both fleet
// stores read the facts, ask here, and write the answer in one transaction (docs/API.md).
import type { ProtocolName } from "../firmware/provision/record";
import { exactCredit } from "./amounts";
import { nextSeq, spendsSeq, windowAbove, type CodeRequest, type DeviceSecrets } from "./codes";
import { RefusedError, UsageError } from "./errors";
import { DAY_MS, lastSlot } from "./payments";
import type { Account } from "./store";

/** The reasons an operator may issue a code for, outside payments. */
export const AD_HOC_ACTIONS = ["goodwill", "maintenance", "repossession_lock", "unlock", "wipe"] as const;
export type AdHocAction = (typeof AD_HOC_ACTIONS)[number];

export type OperatorRequest = (
  | { readonly action: "goodwill"; readonly days: number }
  | { readonly action: "maintenance"; readonly minutes: number }
  | { readonly action: "repossession_lock" | "unlock" | "wipe" }
  /** Desired state: the account should have `days` of credit from the code's entry. */
  | { readonly action: "desired"; readonly days: number }
) & {
  /** Queue the code's SMS to the account's phone, in the code's transaction. */
  readonly sms: boolean;
};

export type OperatorAction = OperatorRequest["action"];

/** The code an operator's request becomes; `chose` says which credit code desired state took. */
export interface OperatorPlan {
  readonly request: CodeRequest;
  readonly chose: "add" | "set" | null;
}

/** The actions whose code has an SMS text (hub/sms/templates.ts: a code with its days, or the unlock). */
export function sendsSms(action: OperatorAction): boolean {
  return action === "goodwill" || action === "unlock" || action === "desired";
}

/** The code for `r` on this device; `owedDays` is the account's calendar credit (desired state's add branch). */
export function planOperatorCode(r: OperatorRequest, device: DeviceSecrets, owedDays: number): OperatorPlan {
  const none = (what: string) =>
    new RefusedError("not_expressible", `${device.protocol} has no ${what} codes; ${_instead(r.action)}`);
  switch (r.action) {
    case "goodwill":
      return { request: { kind: "add", seconds: _exact(device, "add", r.days) }, chose: null };
    case "maintenance":
      if (device.protocol === "openpaygo") throw none("test");
      return { request: { kind: "test", minutes: r.minutes }, chose: null };
    case "repossession_lock":
      return { request: { kind: "lock" }, chose: null };
    case "unlock":
      return { request: { kind: "unlock" }, chose: null };
    case "wipe":
      if (device.protocol === "openpaygo") throw none("wipe");
      return { request: { kind: "wipe", target: "credit" }, chose: null };
    case "desired":
      return _desired(device, r.days, owedDays);
  }
}

/**
 * Devices count powered time, so only a set code makes the credit exactly `days` whenever it is typed. Where the set
 * code cannot carry `days` exactly (Nexus small above 90 days) the difference from the calendar's credit goes as an
 * add code; a reduction no set code carries is refused with the nearest amounts.
 */
function _desired(device: DeviceSecrets, days: number, owedDays: number): OperatorPlan {
  if (days === 0) return { request: { kind: "lock" }, chose: "set" };
  let setError: UsageError;
  try {
    return { request: { kind: "set", seconds: exactCredit(device, "set", days * 86400) }, chose: "set" };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    setError = e;
  }
  const difference = days - owedDays;
  if (difference > 0)
    try {
      return { request: { kind: "add", seconds: exactCredit(device, "add", difference * 86400) }, chose: "add" };
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
    }
  const why =
    difference > 0
      ? `nor can an add code carry the ${difference} days above the calendar's ${owedDays}`
      : `and ${days} days is not above the calendar's ${owedDays}, so only a set code could say it`;
  throw new RefusedError("not_expressible", `${setError.message}; ${why}`);
}

function _exact(device: DeviceSecrets, kind: "add" | "set", days: number): number {
  try {
    return exactCredit(device, kind, days * 86400);
  } catch (e) {
    if (e instanceof UsageError) throw new RefusedError("not_expressible", e.message);
    throw e;
  }
}

function _instead(action: OperatorAction): string {
  if (action === "wipe") return "use repossession_lock (a set to 0) instead";
  return "use goodwill with days instead";
}

/** What the window rule knows of a device: its highest ID/count issued, and the highest known or assumed entered. */
export interface WindowPosition {
  readonly serial: string;
  readonly protocol: ProtocolName;
  readonly issuedSeq: number;
  readonly assumedEntered: number;
}

/** The highest ID/count the device is sure to take (a set code may take it; an add must leave it free). */
export function windowTop(w: Pick<WindowPosition, "protocol" | "assumedEntered">): number {
  return w.assumedEntered + windowAbove(w.protocol, "set");
}

/**
 * Refuses (409) a code the window has no room for, by the rule payments follow: an add leaves the top slot for a
 * catch-up set code; any other code that spends an ID/count may take the top slot.
 */
export function checkWindow(w: WindowPosition, request: CodeRequest): void {
  if (!spendsSeq(w.protocol, request)) return;
  const top = windowTop(w);
  const next = nextSeq(w.protocol, request.kind, w.issuedSeq);
  const room = request.kind === "add" ? next < lastSlot(w.protocol, top) : next <= top;
  if (room) return;
  const what = w.protocol === "openpaygo" ? "count" : "ID";
  throw new RefusedError(
    "window_full",
    `${w.serial}'s window is full: the next ${request.kind} code would take ${what} ${next}, and the device is sure ` +
      `to take only up to ${top} (${w.assumedEntered} known or assumed entered + ${top - w.assumedEntered})` +
      `${request.kind === "add" ? ", the top slot kept for a catch-up set code" : ""}. Have the customer enter the ` +
      `outstanding codes oldest first and record the newest with \`solkey issue ${w.serial} --entered KEYCODE\`, ` +
      `or wait until they age into "entered" (SOLKEY_ENTERED_AFTER_DAYS)`,
  );
}

/** The account after an operator's code (the fields it changes), or null when it changes nothing. */
export interface AccountEffect {
  readonly paidUntil: string | null;
  readonly heldDays: number;
  readonly unlock: Account["unlock"];
}

/**
 * Keeps the hub's account true to the device: goodwill extends paid-until, desired state sets it, a lock or wipe
 * ends it and drops held days (a held catch-up set code would undo the lock), an unlock ends metering.
 */
export function accountEffect(r: OperatorRequest, account: Account, now: Date): AccountEffect | null {
  const at = now.getTime();
  switch (r.action) {
    case "goodwill": {
      const from = Math.max(at, account.paidUntil === null ? 0 : Date.parse(account.paidUntil));
      return { paidUntil: _iso(from + r.days * DAY_MS), heldDays: account.heldDays, unlock: account.unlock };
    }
    case "maintenance":
      return null;
    case "repossession_lock":
    case "wipe":
      return { paidUntil: _iso(at), heldDays: 0, unlock: "no" };
    case "unlock":
      return { paidUntil: account.paidUntil, heldDays: 0, unlock: "issued" };
    case "desired":
      return { paidUntil: _iso(at + r.days * DAY_MS), heldDays: 0, unlock: "no" };
  }
}

/** Whole days of calendar credit left (paid-until minus now, rounded up, never negative). */
export function owedDays(paidUntil: string | null, now: Date): number {
  return paidUntil === null ? 0 : Math.max(0, Math.ceil((Date.parse(paidUntil) - now.getTime()) / DAY_MS));
}

function _iso(ms: number): string {
  return new Date(ms).toISOString();
}
