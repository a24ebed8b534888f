// Nexus Keycode full keypad (keys 0-9, `*` starts, `#` ends): message layout, MAC, obscuring, and the server-side
// encoder that tools share with the device (nexus-keycode-python protocols/full.py; nexus-embedded nexus_keycode_pro.c).
//
// Activation message, 14 digits:   [type 1][id 2][body 5][MAC 6]
//   id   = full message ID mod 64 (two decimal digits, 00-63)
//   MAC  = SipHash-2-4(device key, u32le(full ID) ‖ u8(type) ‖ u32le(body value)) low 32 bits, mod 10^6
//   the first 8 digits are obscured: digit i += byte i of SipHash-2-4(zero key, 0x00 ‖ u32le(MAC)), mod 10
//   body: add/set credit and demo = the amount (hours; minutes for demo); wipe state = [0000][target 1]
// Factory message, not obscured, all-zero key, ID 0:  [type 1][body][MAC 6]
//   allow test and display ID have no body (7 digits); QC test body = [000][minutes 2] (12 digits)
// Device-ID confirmation [7][device ID 8-10] (no MAC); passthrough [8][digits...] (3+ digits, never 14).
import { expectBytes, expectInt } from "../../assert";
import { sipKey, type SipKey } from "../../crypto/siphash";
import { NexusHasher, ZERO_KEY } from "./hash";

/** Message type digits (reference enum nexus_keycode_pro_full_message_type_codes). */
export const FULL_TYPE = Object.freeze({
  ADD_CREDIT: 0,
  SET_CREDIT: 1,
  WIPE_STATE: 2,
  DEMO: 3,
  ALLOW_TEST: 4,
  QC_TEST: 5,
  DISPLAY_ID: 6,
  DEVICE_ID_CONFIRMATION: 7,
  PASSTHROUGH: 8,
} as const);

/** Set-credit hours that mean "unlock" (NEXUS_KEYCODE_PRO_FULL_UNLOCK_INCREMENT). */
export const UNLOCK_HOURS = 99999;

/** Wipe-state targets, indexed by the target digit (nexus_keycode_pro_full_wipe_state_target_codes). */
export const WIPE_TARGETS = Object.freeze(["credit", "credit_and_ids", "ids", "restricted_flag"] as const);
export type FullWipe = (typeof WIPE_TARGETS)[number];

/** Digits in an activation message, of which the first 8 are obscured and the last 6 are the MAC. */
export const ACTIVATION_LENGTH = 14;
export const OBSCURED_DIGITS = 8;
export const MAC_DIGITS = 6;

/** The 6-digit MAC value (0..999999) of a message; factory messages pass id 0 and the zero key. */
export function fullMac(h: NexusHasher, key: SipKey, messageId: number, type: number, body: number): number {
  h.u32(0, messageId);
  h.message[4] = type;
  h.u32(5, body);
  const out = h.hash(key, 9);
  return (out[0] >>> 0) % 1000000;
}

/** Obscures (sign 1) or recovers (sign -1) the first 8 of 14 digits in place; the pad is seeded by the MAC value. */
export function obscureFull(h: NexusHasher, digits: Uint8Array, mac: number, sign: 1 | -1): void {
  h.u32(1, mac);
  h.pad(4);
  for (let i = 0; i < OBSCURED_DIGITS; i++) {
    // (d - byte) mod 10 computed as (d + 10 - byte mod 10) mod 10, which never goes negative.
    const p = h.byte(i) % 10;
    digits[i] = (digits[i] + (sign === 1 ? p : 10 - p)) % 10;
  }
}

/** A full-keypad message the server can issue. Amounts are named as in the spec; `key` is the device's 16 bytes. */
export type FullMessage =
  | { readonly type: "add_credit"; readonly key: Uint8Array; readonly id: number; readonly hours: number }
  | { readonly type: "set_credit"; readonly key: Uint8Array; readonly id: number; readonly hours: number }
  | { readonly type: "unlock"; readonly key: Uint8Array; readonly id: number }
  | { readonly type: "wipe_state"; readonly key: Uint8Array; readonly id: number; readonly wipe: FullWipe }
  | { readonly type: "demo"; readonly key: Uint8Array; readonly id: number; readonly minutes: number }
  | { readonly type: "qc_test"; readonly minutes: number }
  | { readonly type: "allow_test" }
  | { readonly type: "display_id" }
  | { readonly type: "device_id_confirmation"; readonly deviceId: number }
  | { readonly type: "passthrough"; readonly digits: string };

/**
 * The keycode for `message` as printed to users: `*` + digits in groups of 3 + `#` (e.g. `*599 791 493 194 43#`).
 * Throws TypeError/RangeError for a wrong key, ID or amount, naming the field.
 */
export function encodeFull(message: FullMessage): string {
  return formatFull(fullDigits(message));
}

/** The digits of a keycode, without `*`, `#` or spaces (what the device's verifier receives). */
export function fullDigits(message: FullMessage): string {
  const h = new NexusHasher();
  switch (message.type) {
    case "add_credit":
      expectInt(message.hours, 0, UNLOCK_HOURS, "hours");
      return _activation(h, message.key, message.id, FULL_TYPE.ADD_CREDIT, message.hours);
    case "set_credit":
      // 99999 hours would read as unlock on the device: ask for it by name.
      expectInt(message.hours, 0, UNLOCK_HOURS - 1, "hours");
      return _activation(h, message.key, message.id, FULL_TYPE.SET_CREDIT, message.hours);
    case "unlock":
      return _activation(h, message.key, message.id, FULL_TYPE.SET_CREDIT, UNLOCK_HOURS);
    case "wipe_state": {
      const target = WIPE_TARGETS.indexOf(message.wipe);
      if (target < 0) throw new RangeError(`"wipe" expected one of ${WIPE_TARGETS.join(", ")}, got ${message.wipe}`);
      return _activation(h, message.key, message.id, FULL_TYPE.WIPE_STATE, target);
    }
    case "demo":
      expectInt(message.minutes, 0, 99999, "minutes");
      return _activation(h, message.key, message.id, FULL_TYPE.DEMO, message.minutes);
    case "qc_test": {
      expectInt(message.minutes, 1, 99, "minutes");
      const body = `000${message.minutes < 10 ? "0" : ""}${message.minutes}`;
      return _factory(h, FULL_TYPE.QC_TEST, body, message.minutes);
    }
    case "allow_test":
      return _factory(h, FULL_TYPE.ALLOW_TEST, "", 0);
    case "display_id":
      return _factory(h, FULL_TYPE.DISPLAY_ID, "", 0);
    case "device_id_confirmation":
      expectInt(message.deviceId, 0, 0xffffffff, "deviceId");
      return `${FULL_TYPE.DEVICE_ID_CONFIRMATION}${String(message.deviceId).padStart(8, "0")}`;
    case "passthrough":
      if (typeof message.digits !== "string" || !/^[0-9]{2,28}$/.test(message.digits) || message.digits.length === 13)
        throw new RangeError(`"digits" expected 2-28 digits, not 13, got ${String(message.digits)}`);
      return `${FULL_TYPE.PASSTHROUGH}${message.digits}`;
    default:
      throw new TypeError(`"type" expected a full-keypad message type, got ${(message as { type: unknown }).type}`);
  }
}

/** `*` + digits in groups of three + `#`, the way the reference prints keycodes. */
export function formatFull(digits: string): string {
  return `*${(digits.match(/.{1,3}/g) ?? []).join(" ")}#`;
}

function _activation(h: NexusHasher, key: Uint8Array, messageId: number, type: number, body: number): string {
  expectBytes(key, 16, "key");
  expectInt(messageId, 0, 0xffffffff, "id");
  const mac = fullMac(h, sipKey(key), messageId, type, body);
  const text = `${type}${String(messageId & 63).padStart(2, "0")}${String(body).padStart(5, "0")}`;
  const digits = new Uint8Array(ACTIVATION_LENGTH);
  for (let i = 0; i < OBSCURED_DIGITS; i++) digits[i] = text.charCodeAt(i) - 48;
  obscureFull(h, digits, mac, 1);
  return `${digits.subarray(0, OBSCURED_DIGITS).join("")}${String(mac).padStart(MAC_DIGITS, "0")}`;
}

function _factory(h: NexusHasher, type: number, body: string, bodyValue: number): string {
  return `${type}${body}${String(fullMac(h, ZERO_KEY, 0, type, bodyValue)).padStart(MAC_DIGITS, "0")}`;
}
