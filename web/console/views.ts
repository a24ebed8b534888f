// The console's tables, from the API's answers (types.ts). Pure builders: each returns elements, every value in
// them set as text (dom.ts); the buttons they hold call back into main.ts.
import { button, make, money, table, text, when, type Cell } from "./dom";
import type { AuditEntry, Code, Device, Payment, Sms } from "./types";

/** What a row's buttons do. */
export interface Actions {
  openDevice(serial: string): void;
  assign(payment: Payment): void;
  reverse(payment: Payment): void;
}

/** A code as the key may see it: in full (issue and admin keys) or its last characters (read keys). */
export function keycode(code: { keycode: string | null; keycodeTail: string } | null): string {
  if (code === null) return "-";
  return code.keycode ?? `…${code.keycodeTail}`;
}

function credit(seconds: number | null): string {
  if (seconds === null) return "-";
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  return seconds % 3600 === 0 ? `${seconds / 3600} h` : `${Math.round(seconds / 60)} min`;
}

function deviceLink(serial: string | null, actions: Actions): Cell {
  return serial === null ? null : button(serial, () => actions.openDevice(serial), `device ${serial}`);
}

export function devicesTable(devices: readonly Device[], actions: Actions): HTMLElement {
  return table(
    "Devices",
    ["Serial", "Protocol", "Phone", "Credit until", "Days owed", "Codes issued / entered", "Last code", "Issued"],
    devices.map((d) => [
      deviceLink(d.serial, actions),
      d.protocol,
      d.account?.phone ?? null,
      when(d.credit?.paidUntil ?? null),
      d.credit?.owedDays ?? null,
      `${d.codes.issued} / ${d.codes.knownEntered}`,
      d.lastCode === null ? null : `${d.lastCode.kind} ${keycode(d.lastCode)}`,
      when(d.lastCode?.issuedAt ?? null),
    ]),
    "none found",
  );
}

/** One device: its account and window in a list of facts. */
export function deviceSummary(d: Device): HTMLElement {
  const facts: [string, string][] = [
    ["Protocol", d.protocol],
    ["Phone", text(d.account?.phone ?? null)],
    ["Plan", text(d.account?.plan.name ?? null)],
    ["Credit until", when(d.credit?.paidUntil ?? null)],
    ["Days owed / held", d.credit === null ? "-" : `${d.credit.owedDays} / ${d.credit.heldDays}`],
    ["Codes issued / known entered", `${d.codes.issued} / ${d.codes.knownEntered}`],
    ["Free slots in the window", String(d.window.free)],
  ];
  const list = document.createElement("dl");
  for (const [term, value] of facts) list.append(make("dt", term), make("dd", value));
  return list;
}

export function codesTable(
  caption: string,
  codes: readonly Code[],
  actions: Actions,
  withSerial: boolean,
): HTMLElement {
  return table(
    caption,
    [...(withSerial ? ["Serial"] : []), "Issued", "Kind", "Seq", "Credit", "Keycode", "Payment", "Entered"],
    codes.map((c) => [
      ...(withSerial ? [deviceLink(c.serial, actions)] : []),
      when(c.issuedAt),
      c.kind,
      c.seq,
      credit(c.seconds),
      keycode(c),
      c.paymentRef,
      c.enteredAt === null ? "not known" : when(c.enteredAt),
    ]),
    "none issued",
  );
}

/** A payment's own button: an orphan is assigned, a payment with money is reversed, a reversal has none. */
function paymentAction(p: Payment, actions: Actions): Cell {
  if (p.status === "orphan") return button("Assign…", () => actions.assign(p), `assign payment ${p.transId}`);
  if (p.status === "reversed") return null;
  return button("Reverse…", () => actions.reverse(p), `reverse payment ${p.transId}`);
}

export function paymentsTable(caption: string, payments: readonly Payment[], actions: Actions, orphans: boolean) {
  return table(
    caption,
    ["Received", "Provider", "Transaction", "Amount", "Reference typed", "Status", "Device", "Code", "Action"],
    payments.map((p) => [
      when(p.receivedAt),
      p.provider,
      p.transId,
      money(p.amount, p.currency),
      p.accountRef,
      p.status,
      deviceLink(p.serial, actions),
      keycode(p.code),
      paymentAction(p, actions),
    ]),
    orphans ? "none waiting" : "none found",
  );
}

export function smsTable(caption: string, messages: readonly Sms[], actions: Actions): HTMLElement {
  return table(
    caption,
    ["Updated", "To", "Device", "Purpose", "Delivery", "Attempts", "Last error", "Text"],
    messages.map((m) => [
      when(m.updatedAt),
      m.to,
      deviceLink(m.serial, actions),
      m.purpose,
      m.state,
      m.attempts,
      m.lastError,
      m.text ?? "(hidden from read keys)",
    ]),
    "none",
  );
}

/** An audit entry's effect (JSON text) as "name: value" pairs, nulls left out; text that is not JSON as it is. */
export function effect(json: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return json;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return json;
  return Object.entries(parsed)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(", ");
}

export function auditTable(entries: readonly AuditEntry[]): HTMLElement {
  return table(
    "Audit log, oldest first",
    ["Entry", "When", "Who", "Action", "Reason", "Effect"],
    entries.map((e) => [
      e.auditId,
      when(e.at),
      e.keyId === null ? "command line" : `API key ${e.keyId}`,
      e.action,
      e.reason,
      effect(e.effect),
    ]),
    "no entries",
  );
}
