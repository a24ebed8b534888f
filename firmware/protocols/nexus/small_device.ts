// Nexus Keycode small keypad, device side: verifies the 14 symbol presses after the start key `1` against the replay
// state (message layout in ./small.ts; behaviour of nexus-embedded nexus_keycode_pro.c and _extended.c, minus flaws).
import { expectBytes, expectInt } from "../../assert";
import { sipKey } from "../../crypto/siphash";
import type { Action, Verdict } from "../action";
import type { KeycodeProtocol } from "../protocol";
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
  DUPLICATE,
  QC_LONG_SECONDS,
  SHORT_TEST_LIFETIME_MAX,
  applied,
  invalid,
  malformed,
  qcTest,
  shortTest,
  type TestCaps,
} from "./verdicts";
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

/** The small-keypad protocol bound to one device. */
export function nexusSmall(options: NexusSmallOptions): KeycodeProtocol<NexusState> {
  expectBytes(options.key, 16, "key");
  // The small keypad's only QC code is the one-hour one (a long test): no short QC code to count.
  const caps: TestCaps = {
    shortTests: options.shortTestLifetimeMax ?? SHORT_TEST_LIFETIME_MAX,
    qcShort: 0,
    qcLong: options.qcLongLifetimeMax ?? 5,
  };
  expectInt(caps.qcLong, 0, 255, "qcLongLifetimeMax");
  expectInt(caps.shortTests, 0, 255, "shortTestLifetimeMax");
  const key = sipKey(options.key);
  const extended = options.enableExtendedSmallMessage === true;
  const restricted = options.restricted === true;
  const h = new NexusHasher();

  function verifyCredit(state: NexusState, low6: number, type: number, increment: number, mac: number) {
    const messageId = inferId(state, low6);
    if (messageId < 0) return invalid("message id would pass 2^32-1");
    if (smallMac(h, key, messageId, type, increment) !== mac) return invalid("MAC mismatch");
    if (isUsed(state, messageId)) return DUPLICATE;
    if (type === SMALL_TYPE.ADD_CREDIT) {
      if (increment === INCREMENT.UNLOCK) return applied({ type: "unlock" }, markThrough(state, messageId));
      return applied({ type: "add_credit", seconds: addIncrementDays(increment) * DAY }, markUsed(state, messageId));
    }
    const next = markThrough(state, messageId);
    if (increment === INCREMENT.UNLOCK) return applied({ type: "unlock" }, next);
    if (increment === INCREMENT.LOCK) return applied({ type: "set_credit", seconds: 0 }, next);
    if (increment === INCREMENT.CLEAR_RESTRICTED)
      return applied({ type: "clear_restricted_flag" }, { ...next, restricted: false });
    const days = setIncrementDays(increment);
    // 240-252 are reserved for custom commands; the reference asserts and then sets credit 0 (locks the device).
    if (days < 0) return invalid(`set credit increment ${increment} is reserved`);
    return applied({ type: "set_credit", seconds: days * DAY }, next);
  }

  function verifyMaintenanceOrTest(state: NexusState, low6: number, fn: number, mac: number) {
    // Maintenance and test codes are issued with ID 0 and the MAC covers it; nothing else is a genuine code.
    if (low6 !== 0) return malformed("maintenance and test codes carry ID 0");
    if (fn >= 0x80) {
      if (smallMac(h, key, 0, SMALL_TYPE.MAINTENANCE_OR_TEST, fn) !== mac) return invalid("MAC mismatch");
      switch (fn & 0x7f) {
        // Spent once per lifetime as the wipes below: typed again, one constant code would zero the credit again.
        case MAINTENANCE.WIPE_CREDIT:
          if (state.smallWipeCredit) return DUPLICATE;
          return applied({ type: "set_credit", seconds: 0 }, { ...state, smallWipeCredit: true });
        // Flaw 2: each wipe below is one constant code per device (no ID to mark), and on the reference it resets
        // the window on every entry, so each entry re-opens IDs 0-63 again. Here each applies once per lifetime; a
        // second resync is the operator's journal recovery (`solkey recover`).
        case MAINTENANCE.WIPE_CREDIT_AND_IDS:
          if (state.smallWipeCreditAndIds) return DUPLICATE;
          return applied({ type: "set_credit", seconds: 0 }, { ...resetWindow(state), smallWipeCreditAndIds: true });
        case MAINTENANCE.WIPE_IDS:
          if (state.smallWipeIds) return DUPLICATE;
          return applied({ type: "none" }, { ...resetWindow(state), smallWipeIds: true });
        default:
          return invalid(`maintenance function ${fn & 0x7f} is not 0-2`);
      }
    }
    if (smallMac(h, FF_KEY, 0, SMALL_TYPE.MAINTENANCE_OR_TEST, fn) !== mac) return malformed("MAC mismatch");
    if (fn > TEST.QC) return malformed(`test function ${fn} is not 0-1`);
    // Flaw 6: the counts are part of the state the ledger journals with the credit; wipes do not reset them.
    return fn === TEST.SHORT ? shortTest(state, caps) : qcTest(state, QC_LONG_SECONDS, caps);
  }

  function verifyExtended(state: NexusState, low6: number, increment: number, mac: number) {
    // Flaw 5: the reference always accepts these (nexus_keycode_pro_small_internal_bitstream_passthrough).
    if (!extended) return malformed("extended small messages are disabled");
    if (low6 >> 5 !== 1 || ((low6 >> 2) & 7) !== 0) return malformed("not an extended set-credit message");
    const days = increment === INCREMENT.UNLOCK ? 0 : increment === INCREMENT.LOCK ? 0 : setIncrementDays(increment);
    if (days < 0) return malformed(`set credit increment ${increment} is reserved`);
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
      return applied(action, { ...markThrough(state, id), restricted: false });
    }
    if (duplicate) return DUPLICATE;
    return invalid("no unused window ID matches the MAC");
  }

  return {
    name: "nexus-small",
    initialState: () => freshState(restricted),
    verify(state: NexusState, entry: string): Verdict<NexusState> {
      if (!isNexusState(state)) return invalid("bad state: not a Nexus replay state");
      if (typeof entry !== "string" || entry.length !== SMALL_LENGTH) return malformed("entry is not 14 symbols");
      let header = 0;
      let mac = 0;
      for (let i = 0; i < SMALL_LENGTH; i++) {
        const v = entry.charCodeAt(i) - 50; // keys "2345" are symbol values 0-3
        if (v < 0 || v > 3) return malformed("entry has a key outside 2-5");
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
