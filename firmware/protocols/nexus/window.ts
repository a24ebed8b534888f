// Nexus Keycode replay state (both keypads): the message-ID receipt window, lifetime test counts, restricted flag.
//
// Window (Nexus Keycode spec, "message ID window"): `highest` is the highest message ID the window has reached (23 on
// a fresh device, as in the reference's Pd index) and `used` marks which of the 24 IDs highest-23..highest were applied
// (bit k: ID highest-k). A received 6-bit ID is expanded to the one full ID in [highest-23, highest+40] with those
// low bits. IDs are full 32-bit unsigned values kept in a JS number: the reference casts them to uint16_t in every
// window helper, so past 65535 a code is checked against the wrong slot and applies again and again (flaw 1).
//
// The state is plain data; the ledger commits `toWords` with each code's effect in one journal record, so a count or
// a used-mark can never be lost to a power cut between "credit applied" and "counter written" (the reference writes
// the credit and its keycode NV block separately).

/** IDs below `highest` that the mask remembers (the reference's NEXUS_KEYCODE_PRO_RECEIVE_WINDOW_BEFORE_PD). */
export const WINDOW_BELOW = 23;
/** IDs above `highest` that a code may carry (NEXUS_KEYCODE_PRO_RECEIVE_WINDOW_AFTER_PD). */
export const WINDOW_ABOVE = 40;
const ALL_USED = 0xffffff; // 24 bits: highest and the 23 IDs below it
const MAX_ID = 0xffffffff;
const WORDS_TAG = 0x4e580001; // "NX", layout 1
// Layout 2 (added with the short-test count): the same five words, flag bits 18-27 hold `shortTests` and the two
// small-keypad wipe flags. Written only when one of them is set, so a state layout 1 could hold keeps its layout-1
// words (and an older record its bytes); layout-1 words read as a count of 0 and unspent wipes.
const WORDS_TAG_2 = 0x4e580002;
// Layout 3 (added with the spent small wipe-credit code): flag bit 28 holds `smallWipeCredit`, written only when set,
// so older states keep their layout-1 or layout-2 words; those read as an unspent wipe-credit code.
const WORDS_TAG_3 = 0x4e580003;
const FLAGS_1 = 0x3ffff; // the flag bits layout 1 defines
const FLAGS_2 = 0xfffffff; // ... layout 2
const FLAGS_3 = 0x1fffffff; // ... and layout 3

export interface NexusState {
  /** Highest message ID the window has reached, 23..2^32-1. */
  readonly highest: number;
  /** Bit k set: message ID highest-k was applied (k = 0..23). */
  readonly used: number;
  /** Lifetime count of short (<= 10 minute) QC test codes applied; never reset, not even by a wipe. */
  readonly qcShort: number;
  /** Lifetime count of long (> 10 minute) QC test codes applied; never reset, not even by a wipe. */
  readonly qcLong: number;
  /**
   * Lifetime count of universal short-test codes applied (full keypad: allow-test; small keypad: short test). They
   * are one public code for every device, so without a count one could be typed whenever the attempt limiter allows
   * (every 720 s: about 4.2 h of free power a day). Never reset, not even by a wipe. Added in words layout 2.
   */
  readonly shortTests: number;
  /**
   * Whether the small keypad's wipe-IDs / wipe-credit-and-IDs code was applied. Each is one constant code per device
   * (it carries no message ID), so it applies once per lifetime; a second resync needs the operator's recovery.
   */
  readonly smallWipeIds: boolean;
  readonly smallWipeCreditAndIds: boolean;
  /**
   * Whether the small keypad's wipe-credit code was applied: one constant code per device too, so it is spent like
   * the wipes above (typed again it would zero the credit again and again, and before the limiter stopped counting
   * applied codes as relief, each entry reset the lockout: issue 11, finding 2). Added in words layout 3.
   */
  readonly smallWipeCredit: boolean;
  /** The product's "restricted" flag, cleared by the clear-restricted-flag codes. */
  readonly restricted: boolean;
  /** Full ID of the last full-keypad wipe-IDs code applied, -1 if none; later wipes must be above it (see wipe). */
  readonly lastWipe: number;
}

/** A factory-fresh device: window at 23 with nothing used, no test codes spent. */
export function freshState(restricted: boolean): NexusState {
  return {
    highest: WINDOW_BELOW,
    used: 0,
    qcShort: 0,
    qcLong: 0,
    shortTests: 0,
    smallWipeIds: false,
    smallWipeCreditAndIds: false,
    smallWipeCredit: false,
    restricted,
    lastWipe: -1,
  };
}

/**
 * Whether `state` is a replay state this code can hold (what `stateFromWords` could return): `verify` checks it first,
 * so a caller's null, `{}` or corrupted state is an `invalid` verdict, never an exception or a misjudged code.
 */
export function isNexusState(state: unknown): state is NexusState {
  if (typeof state !== "object" || state === null) return false;
  const s = state as Record<keyof NexusState, unknown>;
  return (
    _u32(s.highest) &&
    s.highest >= WINDOW_BELOW &&
    _u32(s.used) &&
    s.used <= ALL_USED &&
    _u8(s.qcShort) &&
    _u8(s.qcLong) &&
    _u8(s.shortTests) &&
    typeof s.smallWipeIds === "boolean" &&
    typeof s.smallWipeCreditAndIds === "boolean" &&
    typeof s.smallWipeCredit === "boolean" &&
    typeof s.restricted === "boolean" &&
    (s.lastWipe === -1 || _u32(s.lastWipe))
  );
}

/** The full ID whose low 6 bits are `low6`, within [highest-23, highest+40]; -1 if it would pass 2^32-1. */
export function inferId(state: NexusState, low6: number): number {
  const lowest = state.highest - WINDOW_BELOW;
  // `(low6 - lowest) & 63`: ToInt32 keeps the low bits right even when `lowest` exceeds 2^31.
  const id = lowest + ((low6 - lowest) & 63);
  return id > MAX_ID ? -1 : id;
}

/** Whether `id` was applied: above the window never, below it always (it can no longer be told apart). */
export function isUsed(state: NexusState, id: number): boolean {
  if (id > state.highest) return false;
  const k = state.highest - id;
  return k > WINDOW_BELOW || ((state.used >> k) & 1) === 1;
}

/** Moves the window up so that `id` is its highest ID (no-op when it already is or is below). */
function _reach(state: NexusState, id: number): NexusState {
  if (id <= state.highest) return state;
  const shift = id - state.highest;
  const used = shift > WINDOW_BELOW ? 0 : (state.used << shift) & ALL_USED;
  return { ...state, highest: id, used };
}

/** Marks `id` applied, moving the window up if needed (add credit, demo). */
export function markUsed(state: NexusState, id: number): NexusState {
  const s = _reach(state, id);
  if (s.highest - id > WINDOW_BELOW) return s; // below the window: already counts as used
  return { ...s, used: s.used | (1 << (s.highest - id)) };
}

/** Marks `id` and every lower ID applied (set credit, unlock, wipes). */
export function markThrough(state: NexusState, id: number): NexusState {
  const s = _reach(state, id);
  if (s.highest - id > WINDOW_BELOW) return s; // all of it lies below the window: already counts as used
  // Bits k >= highest-id are IDs <= id. (1 << k) - 1 with k <= 23 stays small.
  return { ...s, used: s.used | (ALL_USED & ~((1 << (s.highest - id)) - 1)) };
}

/** Back to the fresh window (the wipe-IDs codes), keeping the lifetime counts and the restricted flag. */
export function resetWindow(state: NexusState): NexusState {
  return { ...state, highest: WINDOW_BELOW, used: 0 };
}

/**
 * The state as five unsigned 32-bit words: tag, highest, used, counts and flags, last wipe ID. Flags: bits 0-7
 * qcShort, 8-15 qcLong, 16 restricted, 17 lastWipe is set; layout 2 on: bits 18-25 shortTests, 26 smallWipeIds,
 * 27 smallWipeCreditAndIds; layout 3 only: bit 28 smallWipeCredit. The tag is the oldest layout that holds the flags.
 */
export function stateToWords(state: NexusState): number[] {
  const hasWipe = state.lastWipe >= 0;
  const flags =
    state.qcShort |
    (state.qcLong << 8) |
    (state.restricted ? 0x10000 : 0) |
    (hasWipe ? 0x20000 : 0) |
    (state.shortTests << 18) |
    (state.smallWipeIds ? 0x4000000 : 0) |
    (state.smallWipeCreditAndIds ? 0x8000000 : 0) |
    (state.smallWipeCredit ? 0x10000000 : 0);
  const tag = flags > FLAGS_2 ? WORDS_TAG_3 : flags > FLAGS_1 ? WORDS_TAG_2 : WORDS_TAG;
  return [tag, state.highest, state.used, flags, hasWipe ? state.lastWipe : 0];
}

/** Back from `stateToWords`; undefined for words this layout cannot have written. */
export function stateFromWords(words: readonly number[]): NexusState | undefined {
  if (!Array.isArray(words) || words.length !== 5) return undefined;
  const [tag, highest, used, flags, wipe] = words;
  // Each layout is written only for flags the one before cannot hold: anything else is not a word list this code wrote.
  const lowest = tag === WORDS_TAG ? 0 : tag === WORDS_TAG_2 ? FLAGS_1 + 1 : tag === WORDS_TAG_3 ? FLAGS_2 + 1 : -1;
  const highestFlags = tag === WORDS_TAG ? FLAGS_1 : tag === WORDS_TAG_2 ? FLAGS_2 : FLAGS_3;
  if (lowest < 0 || !_u32(flags) || flags < lowest || flags > highestFlags) return undefined;
  if (!_u32(highest) || highest < WINDOW_BELOW || !_u32(used) || used > ALL_USED) return undefined;
  if (!_u32(wipe) || ((flags & 0x20000) === 0 && wipe !== 0)) return undefined;
  return {
    highest,
    used,
    qcShort: flags & 0xff,
    qcLong: (flags >> 8) & 0xff,
    shortTests: (flags >> 18) & 0xff,
    smallWipeIds: (flags & 0x4000000) !== 0,
    smallWipeCreditAndIds: (flags & 0x8000000) !== 0,
    smallWipeCredit: (flags & 0x10000000) !== 0,
    restricted: (flags & 0x10000) !== 0,
    lastWipe: (flags & 0x20000) !== 0 ? wipe : -1,
  };
}

function _u32(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_ID;
}

function _u8(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xff;
}
