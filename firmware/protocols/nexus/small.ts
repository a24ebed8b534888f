// Nexus Keycode small keypad (start key `1`, then 14 presses of keys 2-5, 2 bits each, no end key): message layout,
// MAC, obscuring, day increments and the server-side encoder (nexus-keycode-python protocols/small.py;
// nexus-embedded nexus_keycode_pro.c and nexus_keycode_pro_extended.c).
//
// 28-bit message, most significant bit first:  [id 6][type 2][body 8][MAC 12]
//   id    = full message ID mod 64 (test and maintenance codes: 0)
//   MAC   = top 12 bits of SipHash-2-4(key, u32le(full ID) ‖ u8(type) ‖ u8(body)); key = device key, or 16 x 0xFF for
//           test codes
//   the first 16 bits are XORed with bytes 0-1 of SipHash-2-4(zero key, 0x00 ‖ u16be(MAC)) (most significant first)
// Types: 0 add credit (body = day increment; 255 unlock), 1 passthrough (extended messages), 2 set credit (body = day
// increment; 253 clear restricted flag, 254 lock, 255 unlock), 3 maintenance (body 0x80 | function, device key) or
// test (body = function, 0xFF key).
// Extended "set credit + clear restricted flag" (type 1): the first 6 bits are [1][type 000][id mod 4 (2 bits)], the
// MAC is the top 12 bits of SipHash-2-4(key, u32le(full ID) ‖ 0x00 ‖ u8(increment) ‖ u8(id mod 4)).
import { expectBytes, expectInt } from "../../assert";
import { sipKey, type SipKey } from "../../crypto/siphash";
import { FF_KEY, NexusHasher } from "./hash";

export const SMALL_TYPE = Object.freeze({
  ADD_CREDIT: 0,
  PASSTHROUGH: 1,
  SET_CREDIT: 2,
  MAINTENANCE_OR_TEST: 3,
} as const);
/** Set-credit increments with a meaning of their own (NEXUS_KEYCODE_PRO_SMALL_SET_*). */
export const INCREMENT = Object.freeze({ CLEAR_RESTRICTED: 253, LOCK: 254, UNLOCK: 255 } as const);
/** Maintenance functions (body & 0x7F when body >= 0x80) and test functions (body < 0x80). */
export const MAINTENANCE = Object.freeze({ WIPE_CREDIT: 0, WIPE_CREDIT_AND_IDS: 1, WIPE_IDS: 2 } as const);
export const TEST = Object.freeze({ SHORT: 0, QC: 1 } as const);
/** Symbol presses after the start key. */
export const SMALL_LENGTH = 14;
/** The keys for symbol values 0-3. */
export const SMALL_KEYS = "2345";

/** Days an add-credit increment gives: 0-179 -> 1-180, 180-254 -> 183-405 in steps of 3 (255 is unlock). */
export function addIncrementDays(increment: number): number {
  return increment < 180 ? increment + 1 : (increment - 179) * 3 + 180;
}

/**
 * Days a set-credit increment gives, -1 for the increments that are not an amount (240-255):
 * 0-89 -> 1-90, 90-134 -> 92-180 step 2, 135-179 -> 184-360 step 4, 180-224 -> 368-720 step 8, 225-239 -> 736-960
 * step 16 (nexus_keycode_pro_small_get_set_credit_increment_days).
 */
export function setIncrementDays(increment: number): number {
  if (increment < 90) return increment + 1;
  if (increment < 135) return (increment - 89) * 2 + 90;
  if (increment < 180) return (increment - 134) * 4 + 180;
  if (increment < 225) return (increment - 179) * 8 + 360;
  if (increment < 240) return (increment - 224) * 16 + 720;
  return -1;
}

/** The increment for at least `days` (the server rounds up to the next representable value), as small.py does. */
export function addIncrement(days: number): number {
  expectInt(days, 1, 405, "days");
  return days <= 180 ? days - 1 : Math.floor((days - 181) / 3) + 180;
}

/** The set-credit increment for at least `days` (1-960), rounded up to the next representable value. */
export function setIncrement(days: number): number {
  expectInt(days, 1, 960, "days");
  if (days <= 90) return days - 1;
  if (days <= 180) return Math.floor((days - 91) / 2) + 90;
  if (days <= 360) return Math.floor((days - 181) / 4) + 135;
  if (days <= 720) return Math.floor((days - 361) / 8) + 180;
  return Math.floor((days - 721) / 16) + 225;
}

/** What the device will actually credit for a request of `days`: the server's rounding, for receipts and logs. */
export function roundSmallDays(type: "add_credit" | "set_credit", days: number): number {
  return type === "add_credit" ? addIncrementDays(addIncrement(days)) : setIncrementDays(setIncrement(days));
}

/** The 12-bit MAC of a standard message: top 12 bits of the tag over u32le(ID) ‖ type ‖ body. */
export function smallMac(h: NexusHasher, key: SipKey, messageId: number, type: number, body: number): number {
  h.u32(0, messageId);
  h.message[4] = type;
  h.message[5] = body;
  return h.hash(key, 6)[1] >>> 20;
}

/** The 12-bit MAC of an extended set-credit message (nexus_keycode_pro_extended.c, infer_inner_compute_auth). */
export function extendedMac(h: NexusHasher, key: SipKey, messageId: number, increment: number): number {
  h.u32(0, messageId);
  h.message[4] = 0; // extended type: set credit and wipe restricted flag
  h.message[5] = increment;
  h.message[6] = messageId & 3;
  return h.hash(key, 7)[1] >>> 20;
}

/** The 16-bit pad XORed onto the first 16 message bits, seeded by the MAC. */
export function smallPad(h: NexusHasher, mac: number): number {
  h.message[1] = mac >> 8;
  h.message[2] = mac & 0xff;
  h.pad(2);
  return (h.byte(0) << 8) | h.byte(1);
}

/** A small-keypad message the server can issue; `days` are rounded up to the next representable value. */
export type SmallMessage =
  | { readonly type: "add_credit" | "set_credit"; readonly key: Uint8Array; readonly id: number; readonly days: number }
  | { readonly type: "unlock" | "lock" | "clear_restricted_flag"; readonly key: Uint8Array; readonly id: number }
  | { readonly type: "wipe_credit" | "wipe_credit_and_ids" | "wipe_ids"; readonly key: Uint8Array }
  | { readonly type: "short_test" | "qc_test" }
  /** Extended message: set credit (or unlock, days 0 = lock) and clear the restricted flag; off on devices by default. */
  | {
      readonly type: "extended_set_credit";
      readonly key: Uint8Array;
      readonly id: number;
      readonly days: number | "unlock";
    };

/** The keycode as printed to users: `1` + 14 symbols, in groups of 3 (e.g. `135 242 422 455 244`). */
export function encodeSmall(message: SmallMessage): string {
  return formatSmall(smallSymbols(message));
}

/**
 * IDs on either side of a code's own that a device window holding it can also hold: a window spans
 * WINDOW_BELOW + 1 + WINDOW_ABOVE = 64 IDs (./window.ts), so two IDs 63 apart can be in it at once.
 */
const SAME_WINDOW = 63;

/**
 * Why the encoder refuses `message` at its ID, or null when it may be issued. The server then takes the next ID
 * that is not refused (fleet/codes.ts does); skipping an ID costs nothing, the device takes any ID in its window.
 * - A 1-day set-credit code (increment 0) at an ID that is 63 mod 64. nexus-python refuses it
 *   (`SetCreditSmallMessage`, PossibleMessageCollisionError): "older small protocol test codes ... are interpreted as
 *   a SET_CREDIT message with increment ID 0 and message ID 63", so a paid code with that header could not be told
 *   apart from an old test code on a unit that knows both. solkey refuses the same IDs, so that a fleet moving
 *   between solkey and nexus-python servers never holds a code one of them would not issue.
 * - An extended set-credit code whose 12-bit MAC equals the MAC the same message has at another ID with the same
 *   2 low bits, within 63 IDs: a device whose window holds both applies the code at the lower one, then again at
 *   the other when re-entered (once moving the window 51 -> 91). nexus-python checks the IDs 23 below to 40 above
 *   (`compute_auth_with_no_collisions`); a window holding the code's ID may reach 63 either side, so solkey checks
 *   all of them and refuses a superset of what nexus-python refuses.
 */
export function smallRefusal(message: SmallMessage): string | null {
  if (message.type === "set_credit" && setIncrement(message.days) === 0 && (message.id & 63) === 63)
    return `a 1-day set-credit code at ID ${message.id} (63 mod 64) reads as an older small-protocol test code`;
  if (message.type !== "extended_set_credit") return null;
  expectBytes(message.key, 16, "key");
  expectInt(message.id, 0, 0xffffffff, "id");
  const h = new NexusHasher();
  const key = sipKey(message.key);
  const increment = _extendedIncrement(message.days);
  const id = message.id;
  const mac = extendedMac(h, key, id, increment);
  const reach = SAME_WINDOW - (SAME_WINDOW % 4); // 60: the farthest ID with the same 2 low bits
  for (let other = id < reach ? id % 4 : id - reach; other <= id + reach && other <= 0xffffffff; other += 4) {
    if (other !== id && extendedMac(h, key, other, increment) === mac)
      return `extended code at ID ${id} has the same MAC at ID ${other}: a device would accept it at both`;
  }
  return null;
}

/** The 14 symbol keys after the start key (what the device's verifier receives); throws on a refused ID. */
export function smallSymbols(message: SmallMessage): string {
  const refusal = smallRefusal(message);
  if (refusal !== null) throw new RangeError(`${refusal}; issue it at the next ID`);
  const h = new NexusHasher();
  switch (message.type) {
    case "add_credit":
      return _standard(h, message.key, message.id, SMALL_TYPE.ADD_CREDIT, addIncrement(message.days));
    case "unlock":
      return _standard(h, message.key, message.id, SMALL_TYPE.ADD_CREDIT, INCREMENT.UNLOCK);
    case "set_credit":
      return _standard(h, message.key, message.id, SMALL_TYPE.SET_CREDIT, setIncrement(message.days));
    case "lock":
      return _standard(h, message.key, message.id, SMALL_TYPE.SET_CREDIT, INCREMENT.LOCK);
    case "clear_restricted_flag":
      return _standard(h, message.key, message.id, SMALL_TYPE.SET_CREDIT, INCREMENT.CLEAR_RESTRICTED);
    case "wipe_credit":
    case "wipe_credit_and_ids":
    case "wipe_ids": {
      const fn =
        MAINTENANCE[
          message.type === "wipe_credit"
            ? "WIPE_CREDIT"
            : message.type === "wipe_ids"
              ? "WIPE_IDS"
              : "WIPE_CREDIT_AND_IDS"
        ];
      return _standard(h, message.key, 0, SMALL_TYPE.MAINTENANCE_OR_TEST, 0x80 | fn);
    }
    case "short_test":
    case "qc_test":
      return _bits(h, 0, SMALL_TYPE.MAINTENANCE_OR_TEST, message.type === "qc_test" ? TEST.QC : TEST.SHORT, FF_KEY);
    case "extended_set_credit": {
      expectBytes(message.key, 16, "key");
      expectInt(message.id, 0, 0xffffffff, "id");
      const increment = _extendedIncrement(message.days);
      const mac = extendedMac(h, sipKey(message.key), message.id, increment);
      // First 6 bits: application "extended keycode" (1), extended type 0 (000), ID mod 4.
      return smallEntry(h, ((0x20 | (message.id & 3)) << 10) | (SMALL_TYPE.PASSTHROUGH << 8) | increment, mac);
    }
    default:
      throw new TypeError(`"type" expected a small-keypad message type, got ${(message as { type: unknown }).type}`);
  }
}

/** `1` + the symbols, in groups of three, the way the reference prints keycodes. */
export function formatSmall(symbols: string): string {
  return (`1${symbols}`.match(/.{1,3}/g) ?? []).join(" ");
}

function _extendedIncrement(days: number | "unlock"): number {
  return days === "unlock" ? INCREMENT.UNLOCK : days === 0 ? INCREMENT.LOCK : setIncrement(days);
}

function _standard(h: NexusHasher, key: Uint8Array, messageId: number, type: number, body: number): string {
  expectBytes(key, 16, "key");
  expectInt(messageId, 0, 0xffffffff, "id");
  return _bits(h, messageId, type, body, sipKey(key));
}

function _bits(h: NexusHasher, messageId: number, type: number, body: number, key: SipKey): string {
  const mac = smallMac(h, key, messageId, type, body);
  return smallEntry(h, ((messageId & 63) << 10) | (type << 8) | body, mac);
}

/**
 * Obscures the 16 header bits ([id 6][type 2][body 8]) with the MAC's pad and spells the 28 bits as 14 keys, most
 * significant first.
 */
export function smallEntry(h: NexusHasher, header: number, mac: number): string {
  const bits = ((header ^ smallPad(h, mac)) << 12) | mac;
  let s = "";
  for (let shift = 26; shift >= 0; shift -= 2) s += SMALL_KEYS[(bits >> shift) & 3];
  return s;
}
