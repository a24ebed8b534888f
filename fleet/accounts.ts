// How a payment names its account: the device serial as a payer types it (any case, spaces, dashes) or a phone
// number, and the payer's MSISDN as Daraja sends it (clear digits, C2B v2's SHA-256 hex digest, or masked like
// 2547XXXXX123). Pure functions; the store looks the keys up.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { UsageError } from "./errors";

/** Kenya's country code: a local number typed as 07XXXXXXXX becomes 2547XXXXXXXX. */
export const DEFAULT_COUNTRY_CODE = "254";

/** The serial as stored for matching: upper case, spaces and dashes gone ("sk 0000-0001" -> "SK00000001"). */
export function serialKey(text: string): string {
  return text.replace(/[\s\-_]/g, "").toUpperCase();
}

/** E.164 digits without '+' for a phone as typed (+254 712 345 678, 0712345678), or undefined if it is none. */
export function phoneDigits(text: string, countryCode = DEFAULT_COUNTRY_CODE): string | undefined {
  const t = text.replace(/[\s\-()]/g, "");
  if (/^\+?[1-9]\d{7,14}$/.test(t) && (t.startsWith("+") || t.startsWith(countryCode))) return t.replace("+", "");
  if (/^0\d{8,10}$/.test(t)) return countryCode + t.slice(1);
  return undefined;
}

/** A phone for an account: one line naming the expected form when it is not one. */
export function parsePhone(text: string, countryCode = DEFAULT_COUNTRY_CODE): string {
  const digits = phoneDigits(text, countryCode);
  if (digits === undefined)
    throw new UsageError(`--phone expected an international number like +254712345678, got "${text}"`);
  return digits;
}

/** The digest Daraja's C2B v2 sends as MSISDN: SHA-256 over the 12-digit number, lower-case hex. */
export function phoneHash(digits: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(digits)));
}

/** What a payer's MSISDN field can tell: a clear number, a digest, a mask (X or * for hidden digits), or nothing. */
export type Msisdn =
  | { readonly kind: "clear"; readonly digits: string }
  | { readonly kind: "hash"; readonly hex: string }
  | { readonly kind: "masked"; readonly pattern: RegExp }
  | { readonly kind: "none" };

export function readMsisdn(text: string | null): Msisdn {
  const t = (text ?? "").trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return { kind: "hash", hex: t.toLowerCase() };
  if (/^\d{9,15}$/.test(t)) return { kind: "clear", digits: t };
  if (/^\d[\dXx*]{8,14}$/.test(t) && /\d$/.test(t))
    return { kind: "masked", pattern: new RegExp(`^${t.replace(/[Xx*]/g, "\\d")}$`) };
  return { kind: "none" };
}
