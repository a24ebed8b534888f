// OpenPAYGO Token replay state (OpenPAYGO-Token spec, "token validation"; the window of the current reference
// decoders): the last count plus a mask of the add-time counts just below it that were already used. Plain data, so
// the ledger commits it to the journal with each token's effect.
//
// Rules, with why they differ from the references where they do:
// - a token newer than the last count is valid up to last + 64 (last + 100 for counter sync);
// - an add-time token in the 15 counts below the last is valid once, in any order: bit i of `usedMask` is count
//   last - 1 - i, shifted exactly with the count (the reference C decoder shifts the bits' values, not the bits, and
//   so forgets which counts were used);
// - set time, disable PAYG and counter sync mark everything older as used; a counter sync must be newer than the
//   last count (the references also take one up to 64 below it, which lowers the count or burns unused add tokens);
// - count 0 is never valid: its token is the starting code with the value digits, no key needed. A last count of 0
//   is a valid state all the same: a device fresh from a server that starts at count 0 (the Python reference's
//   default), whose first tokens take counts 1 (set time) and 2 (add time).

import type { TokenType } from "./token";

/** The device's OpenPAYGO replay state. */
export interface OpenPaygoState {
  /**
   * The highest count applied: a factory-fresh solkey device 1; 0 for a device fresh from a server that starts at
   * count 0 (no token has count 0, so none applied there).
   */
  readonly lastCount: number;
  /** Bit i: count lastCount - 1 - i was used (bits 0-14; older counts are all used). */
  readonly usedMask: number;
}

/** Newest count accepted above the last one (reference MAX_TOKEN_JUMP). */
export const MAX_TOKEN_JUMP = 64;
/** The same for counter sync tokens (reference MAX_TOKEN_JUMP_COUNTER_SYNC). */
export const MAX_TOKEN_JUMP_COUNTER_SYNC = 100;
/** Counts below the last one whose add-time tokens may still apply, once each (reference: count > last - 16). */
export const OLDER_COUNTS = 15;
const ALL_OLDER = (1 << OLDER_COUNTS) - 1;
/** Counts stay far below 2^31 so that every count computation is int32. */
export const MAX_COUNT = 0x7fffffff - MAX_TOKEN_JUMP_COUNTER_SYNC - 1;
/** The lowest last count a state may hold: 0, a device fresh from a server that starts there (see above). */
export const MIN_LAST_COUNT = 0;
/** Journal format of the state words: word 1 carries it in its top 16 bits. */
const FORMAT = 1;

export const INITIAL_STATE: OpenPaygoState = Object.freeze({ lastCount: 1, usedMask: 0 });

/** Lowest count a token may have and still be judged on this state (newer tokens: `lastCount` + the jump). */
export function lowestCount(state: OpenPaygoState): number {
  const lowest = state.lastCount - OLDER_COUNTS;
  return lowest < 1 ? 1 : lowest;
}

/** Whether a genuine token of `type` at `count` may apply now (false: it is used, or too old). */
export function canApply(state: OpenPaygoState, count: number, type: TokenType): boolean {
  if (count < 1) return false;
  if (count > state.lastCount) return true;
  if (type !== "add_time") return false;
  const offset = state.lastCount - 1 - count;
  return offset >= 0 && offset < OLDER_COUNTS && (state.usedMask & (1 << offset)) === 0;
}

/** The state after applying a token of `type` at `count` (one for which `canApply` holds). */
export function afterApplying(state: OpenPaygoState, count: number, type: TokenType): OpenPaygoState {
  const last = state.lastCount;
  if (type !== "add_time") return { lastCount: count, usedMask: ALL_OLDER };
  if (count < last) return { lastCount: last, usedMask: state.usedMask | (1 << (last - 1 - count)) };
  // A newer add: the old mask moves down by the gap, and the old last count becomes used at bit gap - 1.
  const gap = count - last;
  const usedMask = gap > OLDER_COUNTS ? 0 : ((state.usedMask << gap) | (1 << (gap - 1))) & ALL_OLDER;
  return { lastCount: count, usedMask };
}

/** The state as two u32 words: [lastCount, FORMAT << 16 | usedMask]. */
export function stateToWords(state: OpenPaygoState): number[] {
  return [state.lastCount >>> 0, ((FORMAT << 16) | state.usedMask) >>> 0];
}

/** Back from words; undefined for anything `stateToWords` cannot have written. */
export function stateFromWords(words: readonly number[]): OpenPaygoState | undefined {
  if (!Array.isArray(words) || words.length !== 2) return undefined;
  const [lastCount, tagged] = words;
  if (!Number.isInteger(lastCount) || lastCount < MIN_LAST_COUNT || lastCount > MAX_COUNT) return undefined;
  if (!Number.isInteger(tagged) || tagged < 0 || tagged > 0xffffffff) return undefined;
  if (tagged >>> 16 !== FORMAT || (tagged & 0xffff & ~ALL_OLDER) !== 0) return undefined;
  return { lastCount, usedMask: tagged & ALL_OLDER };
}
