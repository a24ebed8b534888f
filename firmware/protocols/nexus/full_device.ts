// Nexus Keycode full keypad, device side: verifies the digits between `*` and `#` against the replay state (message
// layout in ./full.ts; behaviour of nexus-embedded nexus_keycode_pro.c, minus its flaws, each noted where it is fixed).
import { expectBytes, expectInt } from "../../assert";
import { sipKey } from "../../crypto/siphash";
import type { Verdict } from "../action";
import type { KeycodeProtocol } from "../protocol";
import { ACTIVATION_LENGTH, FULL_TYPE, MAC_DIGITS, OBSCURED_DIGITS, UNLOCK_HOURS, fullMac, obscureFull } from "./full";
import { NexusHasher, ZERO_KEY } from "./hash";
import {
  DUPLICATE,
  SHORT_TEST_LIFETIME_MAX,
  applied,
  appliedPublic,
  invalid,
  malformed,
  qcTest,
  shortTest,
  type TestCaps,
} from "./verdicts";
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

/** The full-keypad protocol bound to one device. */
export function nexusFull(options: NexusFullOptions): KeycodeProtocol<NexusState> {
  expectBytes(options.key, 16, "key");
  const deviceId = options.deviceId;
  if (deviceId !== undefined) expectInt(deviceId, 0, 0xffffffff, "deviceId");
  const caps: TestCaps = {
    shortTests: options.allowTestLifetimeMax ?? SHORT_TEST_LIFETIME_MAX,
    qcShort: options.qcShortLifetimeMax ?? 5,
    qcLong: options.qcLongLifetimeMax ?? 5,
  };
  expectInt(caps.shortTests, 0, 255, "allowTestLifetimeMax");
  expectInt(caps.qcShort, 0, 255, "qcShortLifetimeMax");
  expectInt(caps.qcLong, 0, 255, "qcLongLifetimeMax");
  const key = sipKey(options.key);
  const restricted = options.restricted === true;
  const h = new NexusHasher();
  const digits = new Uint8Array(MAX_ENTRY);

  function verifyActivation(state: NexusState): Verdict<NexusState> {
    const mac = _number(digits, OBSCURED_DIGITS, MAC_DIGITS);
    obscureFull(h, digits, mac, -1);
    const type = digits[0];
    if (type > FULL_TYPE.DEMO) return malformed(`type ${type} is not an activation type`);
    const low = digits[1] * 10 + digits[2];
    if (low > 63) return malformed(`message id ${low} is not 00-63`);
    const messageId = inferId(state, low);
    if (messageId < 0) return invalid("message id would pass 2^32-1");
    const body = _number(digits, 3, 5);
    if (type === FULL_TYPE.WIPE_STATE) {
      // Flaw 3: the reference discards the 4 reserved digits unread (nexus_keycode_pro_full_parse_activation), and
      // the MAC covers only the target digit, so 10^4 variants of one wipe code all verify. Only zeros are valid.
      if (body >= 10) return malformed("wipe state reserved digits are not 0000");
      if (body > 3) return malformed(`wipe target ${body} is not 0-3`);
    }
    if (fullMac(h, key, messageId, type, body) !== mac) return invalid("MAC mismatch");
    if (isUsed(state, messageId)) return DUPLICATE;
    switch (type) {
      case FULL_TYPE.ADD_CREDIT:
        return applied({ type: "add_credit", seconds: body * 3600 }, markUsed(state, messageId));
      case FULL_TYPE.DEMO:
        // Flaw 2: the reference applies demo codes without marking their ID ("Demo codes *can* be reused"), so one
        // demo code gives minutes again and again. Here it is an add of minutes, applied once. Marking its ID may move
        // the window up, which would make every unused ID that falls below it invalid: a demo code (free minutes,
        // handed out by support) must never void a code the customer paid for and has not entered yet, so it is
        // refused until they are entered (the reference never moves the window for a demo code).
        if (_dropsUnused(state, messageId)) return invalid("demo code would push unused IDs out of the window");
        return applied({ type: "add_credit", seconds: body * 60 }, markUsed(state, messageId));
      case FULL_TYPE.SET_CREDIT:
        return applied(
          body === UNLOCK_HOURS ? { type: "unlock" } : { type: "set_credit", seconds: body * 3600 },
          markThrough(state, messageId),
        );
      default: // WIPE_STATE
        if (body === 0) return applied({ type: "set_credit", seconds: 0 }, markThrough(state, messageId));
        if (body === 3)
          return applied({ type: "clear_restricted_flag" }, { ...markThrough(state, messageId), restricted: false });
        // Flaw 2: the reference resets the window (Pd back to 23, mask cleared) and with it forgets the wipe code's
        // own ID, so the same wipe-IDs code applies again and again, each time re-opening every code in 0..63.
        // The reset stays (the server restarts its IDs after it), but the wipe's full ID is remembered and a wipe
        // applies only above every earlier one: two wipe codes entered in turn would otherwise re-open each other's
        // IDs for ever. (The MAC covers the full ID, so a spent wipe cannot verify at a higher inferred ID.) A second
        // resync with a lower ID needs the operator's journal recovery (`solkey recover`).
        if (messageId <= state.lastWipe) return DUPLICATE;
        return applied(body === 2 ? { type: "none" } : { type: "set_credit", seconds: 0 }, {
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
        if (length !== 1 + MAC_DIGITS) return malformed(`type ${type} expects 7 digits, got ${length}`);
        if (fullMac(h, ZERO_KEY, 0, type, 0) !== _number(digits, 1, MAC_DIGITS)) return malformed("MAC mismatch");
        if (type === FULL_TYPE.DISPLAY_ID) return appliedPublic({ type: "display_id" }, state);
        return shortTest(state, caps);
      case FULL_TYPE.QC_TEST: {
        if (length !== 1 + 5 + MAC_DIGITS) return malformed(`type 5 expects 12 digits, got ${length}`);
        // Flaw 3: the 3 reserved digits are not MAC-covered; the reference discards them, so must be zero here.
        if (_number(digits, 1, 3) !== 0) return malformed("QC test reserved digits are not 000");
        const minutes = _number(digits, 4, 2);
        if (fullMac(h, ZERO_KEY, 0, type, minutes) !== _number(digits, 6, MAC_DIGITS)) return malformed("MAC mismatch");
        if (minutes === 0) return malformed("QC test of 0 minutes");
        return qcTest(state, minutes * 60, caps);
      }
      case FULL_TYPE.DEVICE_ID_CONFIRMATION:
        if (length < 9 || length > 11) return malformed(`type 7 expects 9-11 digits, got ${length}`);
        if (deviceId === undefined || _number(digits, 1, length - 1) !== deviceId)
          return malformed("device ID does not match");
        return appliedPublic({ type: "none" }, state);
      case FULL_TYPE.PASSTHROUGH:
        if (length < 3) return malformed("passthrough needs a subtype and a body");
        return appliedPublic({ type: "passthrough", digits: _text(digits, 1, length - 1) }, state);
      default:
        // Flaw 4: types 0-3 are 14 digits; the reference parses a shorter one as a factory message with body 0,
        // so `0` + MAC(id 0, add credit, 0 hours) of 7 digits is "add 0 hours" and marks message ID 0.
        return malformed(`type ${type} expects 14 digits, got ${length}`);
    }
  }

  return {
    name: "nexus-full",
    initialState: () => freshState(restricted),
    verify(state: NexusState, entry: string): Verdict<NexusState> {
      if (!isNexusState(state)) return invalid("bad state: not a Nexus replay state");
      if (typeof entry !== "string") return malformed("entry is not a string");
      const length = entry.length;
      if (length < 1 || length > MAX_ENTRY) return malformed(`entry of ${length} digits`);
      for (let i = 0; i < length; i++) {
        const d = entry.charCodeAt(i) - 48;
        if (d < 0 || d > 9) return malformed("entry is not all digits");
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
