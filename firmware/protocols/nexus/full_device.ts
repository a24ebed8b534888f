// Nexus Keycode full keypad, device side: verifies the digits between `*` and `#` against the replay state (message
// layout in ./full.ts; behaviour of nexus-embedded nexus_keycode_pro.c, minus its flaws, each noted where it is fixed).
import { expectBytes, expectInt } from "../../assert";
import { sipKey } from "../../crypto/siphash";
import type { Action, Verdict } from "../action";
import type { KeycodeProtocol } from "../protocol";
import { ACTIVATION_LENGTH, FULL_TYPE, MAC_DIGITS, OBSCURED_DIGITS, UNLOCK_HOURS, fullMac, obscureFull } from "./full";
import { NexusHasher, ZERO_KEY } from "./hash";
import {
  freshState,
  inferId,
  isNexusState,
  isUsed,
  markThrough,
  markUsed,
  resetWindow,
  stateFromWords,
  stateToWords,
  WINDOW_BELOW,
  type NexusState,
} from "./window";

/** Seconds of power an allow-test code gives a device that is out of credit (UNIVERSAL_SHORT_TEST_SECONDS). */
export const ALLOW_TEST_SECONDS = 127;
/**
 * Default lifetime cap on allow-test (and the small keypad's short-test) codes. The reference has none, and the code
 * is the same public digits on every device: typed each time the attempt limiter allows (one per 720 s), it gave
 * 120 x 127 s, about 4.2 h of free power a day. Five, as the reference's QC caps, covers testing at the factory and at
 * installation (10.6 minutes in all); a product that needs more raises it.
 */
export const SHORT_TEST_LIFETIME_MAX = 5;
/** QC test codes of at most this many seconds count as short (NEXUS_KEYCODE_PRO_QC_SHORT_TEST_MESSAGE_SECONDS). */
export const QC_SHORT_SECONDS = 600;
/** The one QC length that may stack on top of credit (NEXUS_KEYCODE_PRO_QC_LONG_TEST_MESSAGE_SECONDS). */
export const QC_LONG_SECONDS = 3600;
/** Longest entry the reference frames (NEXUS_KEYCODE_MESSAGE_LENGTH_MAX_DIGITS_FULL). */
const MAX_ENTRY = 30;

export interface NexusFullOptions {
  /** The device's 16-byte secret key. */
  readonly key: Uint8Array;
  /** The user-facing device ID that a device-ID confirmation code must match; without it those codes are invalid. */
  readonly deviceId?: number;
  /** Whether the product ships with its restricted flag set. */
  readonly restricted?: boolean;
  /** Lifetime allow-test codes (default SHORT_TEST_LIFETIME_MAX); past it the code is a duplicate. */
  readonly allowTestLifetimeMax?: number;
  /** Lifetime QC test codes of <= 10 minutes (reference example config: 5). */
  readonly qcShortLifetimeMax?: number;
  /** Lifetime QC test codes of > 10 minutes (reference example config: 5). */
  readonly qcLongLifetimeMax?: number;
}

const _invalid = (reason: string): Verdict<NexusState> => ({ kind: "invalid", reason });
const DUPLICATE: Verdict<NexusState> = Object.freeze({ kind: "duplicate" });

/** The full-keypad protocol bound to one device. */
export function nexusFull(options: NexusFullOptions): KeycodeProtocol<NexusState> {
  expectBytes(options.key, 16, "key");
  const deviceId = options.deviceId;
  if (deviceId !== undefined) expectInt(deviceId, 0, 0xffffffff, "deviceId");
  const qcShortMax = options.qcShortLifetimeMax ?? 5;
  const qcLongMax = options.qcLongLifetimeMax ?? 5;
  const allowTestMax = options.allowTestLifetimeMax ?? SHORT_TEST_LIFETIME_MAX;
  expectInt(allowTestMax, 0, 255, "allowTestLifetimeMax");
  expectInt(qcShortMax, 0, 255, "qcShortLifetimeMax");
  expectInt(qcLongMax, 0, 255, "qcLongLifetimeMax");
  const key = sipKey(options.key);
  const restricted = options.restricted === true;
  const h = new NexusHasher();
  const digits = new Uint8Array(MAX_ENTRY);

  function verifyActivation(state: NexusState): Verdict<NexusState> {
    const mac = _number(digits, OBSCURED_DIGITS, MAC_DIGITS);
    obscureFull(h, digits, mac, -1);
    const type = digits[0];
    if (type > FULL_TYPE.DEMO) return _invalid(`type ${type} is not an activation type`);
    const low = digits[1] * 10 + digits[2];
    if (low > 63) return _invalid(`message id ${low} is not 00-63`);
    const messageId = inferId(state, low);
    if (messageId < 0) return _invalid("message id would pass 2^32-1");
    const body = _number(digits, 3, 5);
    if (type === FULL_TYPE.WIPE_STATE) {
      // Flaw 3: the reference discards the 4 reserved digits unread (nexus_keycode_pro_full_parse_activation), and
      // the MAC covers only the target digit, so 10^4 variants of one wipe code all verify. Only zeros are valid.
      if (body >= 10) return _invalid("wipe state reserved digits are not 0000");
      if (body > 3) return _invalid(`wipe target ${body} is not 0-3`);
    }
    if (fullMac(h, key, messageId, type, body) !== mac) return _invalid("MAC mismatch");
    if (isUsed(state, messageId)) return DUPLICATE;
    switch (type) {
      case FULL_TYPE.ADD_CREDIT:
        return _applied({ type: "add_credit", seconds: body * 3600 }, markUsed(state, messageId));
      case FULL_TYPE.DEMO:
        // Flaw 2: the reference applies demo codes without marking their ID ("Demo codes *can* be reused"), so one
        // demo code gives minutes again and again. Here it is an add of minutes, applied once. Marking its ID may move
        // the window up, which would make every unused ID that falls below it invalid: a demo code (free minutes,
        // handed out by support) must never void a code the customer paid for and has not entered yet, so it is
        // refused until they are entered (the reference never moves the window for a demo code).
        if (_dropsUnused(state, messageId)) return _invalid("demo code would push unused IDs out of the window");
        return _applied({ type: "add_credit", seconds: body * 60 }, markUsed(state, messageId));
      case FULL_TYPE.SET_CREDIT:
        return _applied(
          body === UNLOCK_HOURS ? { type: "unlock" } : { type: "set_credit", seconds: body * 3600 },
          markThrough(state, messageId),
        );
      default: // WIPE_STATE
        if (body === 0) return _applied({ type: "set_credit", seconds: 0 }, markThrough(state, messageId));
        if (body === 3)
          return _applied({ type: "clear_restricted_flag" }, { ...markThrough(state, messageId), restricted: false });
        // Flaw 2: the reference resets the window (Pd back to 23, mask cleared) and with it forgets the wipe code's
        // own ID, so the same wipe-IDs code applies again and again, each time re-opening every code in 0..63.
        // The reset stays (the server restarts its IDs after it), but the wipe's full ID is remembered and a wipe
        // applies only above every earlier one: two wipe codes entered in turn would otherwise re-open each other's
        // IDs for ever. (The MAC covers the full ID, so a spent wipe cannot verify at a higher inferred ID.) A second
        // resync with a lower ID needs the operator's journal recovery (`solkey recover`).
        if (messageId <= state.lastWipe) return DUPLICATE;
        return _applied(body === 2 ? { type: "none" } : { type: "set_credit", seconds: 0 }, {
          ...resetWindow(state),
          lastWipe: messageId,
        });
    }
  }

  function verifyFactory(state: NexusState, length: number): Verdict<NexusState> {
    const type = digits[0];
    switch (type) {
      case FULL_TYPE.ALLOW_TEST:
      case FULL_TYPE.DISPLAY_ID:
        // Exactly [type][MAC], 7 digits (the reference also insists that every digit is consumed).
        if (length !== 1 + MAC_DIGITS) return _invalid(`type ${type} expects 7 digits, got ${length}`);
        if (fullMac(h, ZERO_KEY, 0, type, 0) !== _number(digits, 1, MAC_DIGITS)) return _invalid("MAC mismatch");
        if (type === FULL_TYPE.DISPLAY_ID) return _applied({ type: "display_id" }, state);
        // The reference counts nothing here: one public code, free power whenever the limiter allows. Counted like
        // the QC codes, in the state journalled with the test power; at the cap a duplicate (no lockout failure).
        if (state.shortTests >= allowTestMax) return DUPLICATE;
        return _applied(
          { type: "test", seconds: ALLOW_TEST_SECONDS, whenLocked: true },
          { ...state, shortTests: state.shortTests + 1 },
        );
      case FULL_TYPE.QC_TEST: {
        if (length !== 1 + 5 + MAC_DIGITS) return _invalid(`type 5 expects 12 digits, got ${length}`);
        // Flaw 3: the 3 reserved digits are not MAC-covered; the reference discards them, so must be zero here.
        if (_number(digits, 1, 3) !== 0) return _invalid("QC test reserved digits are not 000");
        const minutes = _number(digits, 4, 2);
        if (fullMac(h, ZERO_KEY, 0, type, minutes) !== _number(digits, 6, MAC_DIGITS)) return _invalid("MAC mismatch");
        if (minutes === 0) return _invalid("QC test of 0 minutes");
        const seconds = minutes * 60;
        // Flaw 6: the lifetime counts travel in the replay state, committed with the credit in one journal record,
        // and no wipe resets them (the reference's wipe-IDs codes zero qc_test_codes_received).
        const short = seconds <= QC_SHORT_SECONDS;
        if (short ? state.qcShort >= qcShortMax : state.qcLong >= qcLongMax) return DUPLICATE;
        const next = short ? { ...state, qcShort: state.qcShort + 1 } : { ...state, qcLong: state.qcLong + 1 };
        // Only the one-hour code stacks on credit; others need a locked device (nexus_keycode_pro_can_unit_accept_qc_code).
        return _applied({ type: "test", seconds, whenLocked: seconds !== QC_LONG_SECONDS }, next);
      }
      case FULL_TYPE.DEVICE_ID_CONFIRMATION:
        if (length < 9 || length > 11) return _invalid(`type 7 expects 9-11 digits, got ${length}`);
        if (deviceId === undefined || _number(digits, 1, length - 1) !== deviceId)
          return _invalid("device ID does not match");
        return _applied({ type: "none" }, state);
      case FULL_TYPE.PASSTHROUGH:
        if (length < 3) return _invalid("passthrough needs a subtype and a body");
        return _applied({ type: "passthrough", digits: _text(digits, 1, length - 1) }, state);
      default:
        // Flaw 4: types 0-3 are 14 digits; the reference parses a shorter one as a factory message with body 0,
        // so `0` + MAC(id 0, add credit, 0 hours) of 7 digits is "add 0 hours" and marks message ID 0.
        return _invalid(`type ${type} expects 14 digits, got ${length}`);
    }
  }

  return {
    name: "nexus-full",
    initialState: () => freshState(restricted),
    verify(state: NexusState, entry: string): Verdict<NexusState> {
      if (!isNexusState(state)) return _invalid("bad state: not a Nexus replay state");
      if (typeof entry !== "string") return _invalid("entry is not a string");
      const length = entry.length;
      if (length < 1 || length > MAX_ENTRY) return _invalid(`entry of ${length} digits`);
      for (let i = 0; i < length; i++) {
        const d = entry.charCodeAt(i) - 48;
        if (d < 0 || d > 9) return _invalid("entry is not all digits");
        digits[i] = d;
      }
      return length === ACTIVATION_LENGTH ? verifyActivation(state) : verifyFactory(state, length);
    },
    toWords: stateToWords,
    fromWords: stateFromWords,
  };
}

/** Whether moving the window up to `id` would leave an unused ID below it: IDs highest-23 .. id-24 fall out. */
function _dropsUnused(state: NexusState, id: number): boolean {
  for (let dropped = state.highest - WINDOW_BELOW; dropped < id - WINDOW_BELOW; dropped++)
    if (dropped >= 0 && !isUsed(state, dropped)) return true;
  return false;
}

function _applied(action: Action, state: NexusState): Verdict<NexusState> {
  return { kind: "applied", action, state };
}

/** The decimal value of digits[from, from+count); count <= 10 stays exact as a double. */
function _number(digits: Uint8Array, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) n = n * 10 + digits[i];
  return n;
}

function _text(digits: Uint8Array, from: number, count: number): string {
  let s = "";
  for (let i = from; i < from + count; i++) s += digits[i];
  return s;
}
