// The SMS a customer receives, per language (en, sw, fr): the code grouped for reading, the days bought and the
// balance. Every text is GSM-7 (3GPP TS 23.038): French keeps é, è and à, which are in the basic table (1 septet);
// ê, â, î, ô and ç are not and would turn the whole SMS into UCS-2 (70 characters instead of 160), so no template
// uses them. test/sms-templates.test.ts checks every template at its longest stays GSM-7 within 2 segments.
import { FRAMES, type FrameName } from "../../firmware/io/framing";

export const LANGUAGES = ["en", "sw", "fr"] as const;
export type Language = (typeof LANGUAGES)[number];

/** An amount in integer minor units of an ISO 4217 currency (KES 125.50 is { minor: 12550, currency: "KES" }). */
export interface Money {
  readonly minor: number;
  readonly currency: string;
}

/** A code as the fleet issued it (`keycode`) and the keypad it is typed on (`deviceProtocol(record).frame`). */
export interface TypedCode {
  readonly keycode: string;
  readonly frame: FrameName;
}

export type SmsTemplate =
  /** A payment's code: the days it adds, and what is left to pay (null: the plan has no total). */
  | { readonly kind: "code"; readonly code: TypedCode; readonly days: number; readonly left: Money | null }
  /** The code that unlocks the device for good: the plan is paid off. */
  | { readonly kind: "unlock"; readonly code: TypedCode }
  /** The answer to BALANCE: paid so far, and what is left (null: the plan has no total). */
  | { readonly kind: "balance"; readonly paid: Money; readonly left: Money | null };

/** Largest amount a template shows: 10^12 minor units (10 billion shillings). */
export const MAX_MINOR = 1e12;
/** Most days one code adds in a template (27 years). */
export const MAX_DAYS = 9999;

interface Words {
  code(code: string, days: number, left: string | undefined): string;
  unlock(code: string): string;
  balance(paid: string, left: string | undefined): string;
  money(amount: string, currency: string): string;
  /** Thousands separator and decimal mark. */
  readonly group: string;
  readonly decimal: string;
}

const WORDS: Readonly<Record<Language, Words>> = Object.freeze({
  en: {
    code: (code, days, left) =>
      `Solar code: ${code} = ${days} ${days === 1 ? "day" : "days"}.` +
      (left === undefined ? "" : ` Left to pay: ${left}.`) +
      " Reply BALANCE or RESEND.",
    unlock: (code) => `Paid in full, thank you! Unlock code: ${code}. Your solar system is yours for good.`,
    balance: (paid, left) => `Paid: ${paid}. ` + (left === undefined ? "Thank you!" : `Left to pay: ${left}.`),
    money: (amount, currency) => `${currency} ${amount}`,
    group: ",",
    decimal: ".",
  },
  sw: {
    code: (code, days, left) =>
      `Msimbo wa sola: ${code} = siku ${days}.` +
      (left === undefined ? "" : ` Bado kulipa: ${left}.`) +
      " Jibu SALIO au TENA.",
    unlock: (code) => `Umelipa yote, asante! Msimbo wa kufungua: ${code}. Mfumo wa sola sasa ni wako.`,
    balance: (paid, left) => `Umelipa: ${paid}. ` + (left === undefined ? "Asante!" : `Bado kulipa: ${left}.`),
    money: (amount, currency) => `${currency} ${amount}`,
    group: ",",
    decimal: ".",
  },
  fr: {
    code: (code, days, left) =>
      `Code solaire : ${code} = ${days} ${days === 1 ? "jour" : "jours"}.` +
      (left === undefined ? "" : ` Reste à payer : ${left}.`) +
      " Répondez SOLDE ou RENVOI.",
    unlock: (code) => `Payé en entier, merci ! Code de déblocage : ${code}. Le système solaire est à vous.`,
    balance: (paid, left) => `Payé : ${paid}. ` + (left === undefined ? "Merci !" : `Reste à payer : ${left}.`),
    money: (amount, currency) => `${amount} ${currency}`,
    group: " ",
    decimal: ",",
  },
});

/** The SMS text for `message` in `language`. Throws TypeError/RangeError on a value no template can show. */
export function renderSms(language: Language, message: SmsTemplate): string {
  const words = WORDS[language];
  if (words === undefined) throw new RangeError(`"language" expected one of ${LANGUAGES.join(", ")}, got ${language}`);
  const money = (m: Money | null) => (m === null ? undefined : formatMoney(words, m));
  switch (message.kind) {
    case "code":
      if (!Number.isSafeInteger(message.days) || message.days < 1 || message.days > MAX_DAYS)
        throw new RangeError(`"days" expected a whole number 1-${MAX_DAYS}, got ${message.days}`);
      return words.code(readableCode(message.code), message.days, money(message.left));
    case "unlock":
      return words.unlock(readableCode(message.code));
    case "balance":
      return words.balance(formatMoney(words, message.paid), money(message.left));
  }
}

/**
 * A code as the customer types it, in groups of three keys: `*535 392 201 659 46#` (Nexus full), `*921 545 796#`
 * (OpenPAYGO, whose keycode has no start and end keys of its own), `153 244 553 542 544` (Nexus small, start key 1).
 * `*` and `#` stay attached to the groups. Throws RangeError when the keycode cannot be typed on that keypad.
 */
export function readableCode(code: TypedCode): string {
  const spec = FRAMES[code.frame];
  if (spec === undefined) throw new RangeError(`"frame" expected one of ${Object.keys(FRAMES).join(", ")}`);
  if (typeof code.keycode !== "string") throw new TypeError(`"keycode" expected a string, got ${typeof code.keycode}`);
  let typed = code.keycode.replace(/ /g, "");
  if (spec.start !== undefined && !typed.startsWith(spec.start)) typed = spec.start + typed;
  if (spec.end !== undefined && !typed.endsWith(spec.end)) typed += spec.end;
  const body = typed.slice(spec.start?.length ?? 0, typed.length - (spec.end?.length ?? 0));
  if (body.length < spec.minDigits || body.length > spec.maxDigits || [...body].some((k) => !spec.digits.includes(k)))
    throw new RangeError(`"keycode" is not a ${code.frame} code: "${code.keycode}"`);
  const marks = /^(\*?)(.*?)(#?)$/.exec(typed)!;
  return marks[1] + marks[2].replace(/(.{3})(?=.)/g, "$1 ") + marks[3];
}

/** `KES 12,500` / `12 500 KES`; decimals only when there are any, as many as the currency has (ISO 4217). */
function formatMoney(words: Words, money: Money): string {
  if (!Number.isSafeInteger(money.minor) || money.minor < 0 || money.minor > MAX_MINOR)
    throw new RangeError(`"minor" expected a whole amount 0-${MAX_MINOR}, got ${money.minor}`);
  const digits = _fractionDigits(money.currency);
  const scale = 10 ** digits;
  const whole = Math.floor(money.minor / scale);
  const cents = money.minor % scale;
  const grouped = String(whole).replace(/\B(?=(\d{3})+$)/g, words.group);
  const amount = cents === 0 ? grouped : `${grouped}${words.decimal}${String(cents).padStart(digits, "0")}`;
  return words.money(amount, money.currency);
}

const _digits = new Map<string, number>();

/** Decimals of a currency from ICU (KES 2, UGX 0): the same minor unit the payment providers use. */
function _fractionDigits(currency: string): number {
  let digits = _digits.get(currency);
  if (digits === undefined) {
    if (typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency))
      throw new RangeError(`"currency" expected an ISO 4217 code such as KES, got ${String(currency)}`);
    digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
    _digits.set(currency, digits);
  }
  return digits;
}
