// What each key sees of a code: the full keycode for issue and admin keys (support staff read codes to customers),
// only its last 3 characters for read keys; the same for an SMS, whose text holds the code (docs/API.md).
import type { IssuedCode } from "../../fleet/ledger";
import type { Code, Device, PaymentOutcome } from "../../fleet/store";
import type { SmsView } from "../sms/reader";

/** The last 3 characters of a keycode: enough to confirm "the code ending 417" with a customer, not to use it. */
export function keycodeTail(keycode: string): string {
  return keycode.replace(/[^0-9A-Za-z]/g, "").slice(-3);
}

type Shown<T extends { keycode: string }> = Omit<T, "keycode"> & { keycode: string | null; keycodeTail: string };

function shown<T extends { keycode: string }>(code: T, full: boolean): Shown<T> {
  return { ...code, keycode: full ? code.keycode : null, keycodeTail: keycodeTail(code.keycode) };
}

export function codeView(code: Code, full: boolean): Shown<Code> {
  return shown(code, full);
}

export function paymentView(p: PaymentOutcome, full: boolean) {
  return { ...p, code: p.code === null ? null : shown<IssuedCode>(p.code, full) };
}

export function deviceView(d: Device, full: boolean) {
  return { ...d, lastCode: d.lastCode === null ? null : shown(d.lastCode, full) };
}

export function smsView(m: SmsView, full: boolean) {
  return { ...m, text: full ? m.text : null };
}
