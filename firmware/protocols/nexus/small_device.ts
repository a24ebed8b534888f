// Nexus Keycode small keypad, device side: verifies the 14 symbol presses after the start key `1` against the replay
// state (message layout in ./small.ts; behaviour of nexus-embedded nexus_keycode_pro.c and _extended.c, minus flaws).
import { expectBytes, expectInt } from "../../assert";
import { sipKey } from "../../crypto/siphash";
import type { Action, Verdict } from "../action";
import type { KeycodeProtocol } from "../protocol";
import { ALLOW_TEST_SECONDS, QC_LONG_SECONDS, SHORT_TEST_LIFETIME_MAX } from "./full_device";
import { FF_KEY, NexusHasher } from "./hash";
import {
  INCREMENT,
  MAINTENANCE,
  SMALL_LENGTH,
  SMALL_TYPE,
  TEST,
  addIncrementDays,
  extendedMac,
  setIncrementDays,
  smallMac,
  smallPad,
} from "./small";
import {
  WINDOW_ABOVE,
  WINDOW_BELOW,
  freshState,
  inferId,
  isNexusState,
  isUsed,
  markThrough,
  markUsed,
  resetWindow,
  stateFromWords,
  stateToWords,
  type NexusState,
} from "./window";

const DAY = 86400;

export interface NexusSmallOptions {
  /** The device's 16-byte secret key. */
  readonly key: Uint8Array;
  /**
   * Accept the extended "set credit + clear restricted flag" message. Off by default: it carries only 2 ID bits, so
   * the device tries every unused window ID with those bits (up to 16 MACs of 12 bits: about 1 random guess in 256
   * is accepted), and it can carry unlock.
   */
  readonly enableExtendedSmallMessage?: boolean;
  /** Whether the product ships with its restricted flag set. */
  readonly restricted?: boolean;
  /** Lifetime short-test codes (default SHORT_TEST_LIFETIME_MAX); past it the code is a duplicate. */
  readonly shortTestLifetimeMax?: number;
  /** Lifetime one-hour QC test codes (reference example config: 5). */
  readonly qcLongLifetimeMax?: number;
}

const _invalid = (reason: string): Verdict<NexusState> => ({ kind: "invalid", reason });
/** Refused on its shape (the pad is public, so the header is too): no secret decides it, so it is no guess. */
const _malformed = (reason: string): Verdict<NexusState> => ({ kind: "invalid", reason, malformed: true });
/** A code made with the device's key. */
const _applied = (action: Action, state: NexusState): Verdict<NexusState> => ({
  kind: "applied",
  action,
  state,
  secret: true,
});
/** A test code: signed with the published all-0xFF key. */
const _public = (action: Action, state: NexusState): Verdict<NexusState> => ({
  kind: "applied",
  action,
  state,
  secret: false,
});
const DUPLICATE: Verdict<NexusState> = Object.freeze({ kind: "duplicate" });

/** The small-keypad protocol bound to one device. */
export function nexusSmall(options: NexusSmallOptions): KeycodeProtocol<NexusState> {
  expectBytes(options.key, 16, "key");
  const qcLongMax = options.qcLongLifetimeMax ?? 5;
  expectInt(qcLongMax, 0, 255, "qcLongLifetimeMax");
  const shortTestMax = options.shortTestLifetimeMax ?? SHORT_TEST_LIFETIME_MAX;
  expectInt(shortTestMax, 0, 255, "shortTestLifetimeMax");
  const key = sipKey(options.key);
  const extended = options.enableExtendedSmallMessage === true;
  const restricted = options.restricted === true;
  const h = new NexusHasher();

  function verifyCredit(state: NexusState, low6: number, type: number, increment: number, mac: number) {
    const messageId = inferId(state, low6);
    if (messageId < 0) return _invalid("message id would pass 2^32-1");
    if (smallMac(h, key, messageId, type, increment) !== mac) return _invalid("MAC mismatch");
    if (isUsed(state, messageId)) return DUPLICATE;
    if (type === SMALL_TYPE.ADD_CREDIT) {
      if (increment === INCREMENT.UNLOCK) return _applied({ type: "unlock" }, markThrough(state, messageId));
      return _applied({ type: "add_credit", seconds: addIncrementDays(increment) * DAY }, markUsed(state, messageId));
    }
    const next = markThrough(state, messageId);
    if (increment === INCREMENT.UNLOCK) return _applied({ type: "unlock" }, next);
    if (increment === INCREMENT.LOCK) return _applied({ type: "set_credit", seconds: 0 }, next);
    if (increment === INCREMENT.CLEAR_RESTRICTED)
      return _applied({ type: "clear_restricted_flag" }, { ...next, restricted: false });
    const days = setIncrementDays(increment);
    // 240-252 are reserved for custom commands; the reference asserts and then sets credit 0 (locks the device).
    if (days < 0) return _invalid(`set credit increment ${increment} is reserved`);
    return _applied({ type: "set_credit", seconds: days * DAY }, next);
  }

  function verifyMaintenanceOrTest(state: NexusState, low6: number, fn: number, mac: number) {
    // Maintenance and test codes are issued with ID 0 and the MAC covers it; nothing else is a genuine code.
    if (low6 !== 0) return _malformed("maintenance and test codes carry ID 0");
    if (fn >= 0x80) {
      if (smallMac(h, key, 0, SMALL_TYPE.MAINTENANCE_OR_TEST, fn) !== mac) return _invalid("MAC mismatch");
      switch (fn & 0x7f) {
        // Spent once per lifetime as the wipes below: typed again, one constant code would zero the credit again.
        case MAINTENANCE.WIPE_CREDIT:
          if (state.smallWipeCredit) return DUPLICATE;
          return _applied({ type: "set_credit", seconds: 0 }, { ...state, smallWipeCredit: true });
        // Flaw 2: each wipe below is one constant code per device (no ID to mark), and on the reference it resets
        // the window on every entry, so each entry re-opens IDs 0-63 again. Here each applies once per lifetime; a
        // second resync is the operator's journal recovery (`solkey recover`).
        case MAINTENANCE.WIPE_CREDIT_AND_IDS:
          if (state.smallWipeCreditAndIds) return DUPLICATE;
          return _applied({ type: "set_credit", seconds: 0 }, { ...resetWindow(state), smallWipeCreditAndIds: true });
        case MAINTENANCE.WIPE_IDS:
          if (state.smallWipeIds) return DUPLICATE;
          return _applied({ type: "none" }, { ...resetWindow(state), smallWipeIds: true });
        default:
          return _invalid(`maintenance function ${fn & 0x7f} is not 0-2`);
      }
    }
    if (smallMac(h, FF_KEY, 0, SMALL_TYPE.MAINTENANCE_OR_TEST, fn) !== mac) return _malformed("MAC mismatch");
    if (fn > TEST.QC) return _malformed(`test function ${fn} is not 0-1`);
    // Flaw 6: the counts are part of the state the ledger journals with the credit; wipes do not reset them. The
    // short test is one public code with no count on the reference (free power whenever the limiter allows).
    if (fn === TEST.SHORT) {
      if (state.shortTests >= shortTestMax) return DUPLICATE;
      return _public(
        { type: "test", seconds: ALLOW_TEST_SECONDS, whenLocked: true },
        { ...state, shortTests: state.shortTests + 1 },
      );
    }
    if (state.qcLong >= qcLongMax) return DUPLICATE;
    return _public(
      { type: "test", seconds: QC_LONG_SECONDS, whenLocked: false },
      { ...state, qcLong: state.qcLong + 1 },
    );
  }

  function verifyExtended(state: NexusState, low6: number, increment: number, mac: number) {
    // Flaw 5: the reference always accepts these (nexus_keycode_pro_small_internal_bitstream_passthrough).
    if (!extended) return _malformed("extended small messages are disabled");
    if (low6 >> 5 !== 1 || ((low6 >> 2) & 7) !== 0) return _malformed("not an extended set-credit message");
    const days = increment === INCREMENT.UNLOCK ? 0 : increment === INCREMENT.LOCK ? 0 : setIncrementDays(increment);
    if (days < 0) return _malformed(`set credit increment ${increment} is reserved`);
    // Only 2 ID bits: try each window ID with those bits (extended_small_infer_windowed_message_id, which skips used
    // IDs; here a used one that matches makes the verdict "duplicate" rather than "invalid").
    const lowest = state.highest - WINDOW_BELOW;
    let duplicate = false;
    for (let id = lowest + ((low6 - lowest) & 3); id <= state.highest + WINDOW_ABOVE && id <= 0xffffffff; id += 4) {
      if (extendedMac(h, key, id, increment) !== mac) continue;
      if (isUsed(state, id)) {
        duplicate = true;
        continue;
      }
      const action: Action =
        increment === INCREMENT.UNLOCK ? { type: "unlock" } : { type: "set_credit", seconds: days * DAY };
      return _applied(action, { ...markThrough(state, id), restricted: false });
    }
    if (duplicate) return DUPLICATE;
    return _invalid("no unused window ID matches the MAC");
  }

  return {
    name: "nexus-small",
    initialState: () => freshState(restricted),
    verify(state: NexusState, entry: string): Verdict<NexusState> {
      if (!isNexusState(state)) return _invalid("bad state: not a Nexus replay state");
      if (typeof entry !== "string" || entry.length !== SMALL_LENGTH) return _malformed("entry is not 14 symbols");
      let header = 0;
      let mac = 0;
      for (let i = 0; i < SMALL_LENGTH; i++) {
        const v = entry.charCodeAt(i) - 50; // keys "2345" are symbol values 0-3
        if (v < 0 || v > 3) return _malformed("entry has a key outside 2-5");
        if (i < 8) header = (header << 2) | v;
        else mac = (mac << 2) | v;
      }
      header ^= smallPad(h, mac);
      const low6 = header >> 10;
      const type = (header >> 8) & 3;
      const body = header & 0xff;
      if (type === SMALL_TYPE.MAINTENANCE_OR_TEST) return verifyMaintenanceOrTest(state, low6, body, mac);
      if (type === SMALL_TYPE.PASSTHROUGH) return verifyExtended(state, low6, body, mac);
      return verifyCredit(state, low6, type, body, mac);
    },
    toWords: stateToWords,
    fromWords: stateFromWords,
  };
}
