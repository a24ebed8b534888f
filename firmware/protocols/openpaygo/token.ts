// OpenPAYGO Token types and values (OpenPAYGO-Token spec, "token types" and "value encoding"): what a count's parity
// and a value mean, how the server picks the next count, and how a value becomes seconds of credit.

/** The four token types, spelled as in the published vectors. */
export type TokenType = "add_time" | "set_time" | "disable_payg" | "counter_sync";

/** Highest add/set value of a standard (9-digit) token: 996-999 are special or reserved. */
export const MAX_ACTIVATION_VALUE = 995;
/** Highest add/set value of an extended (12-digit) token, whose value takes the last 6 digits. */
export const MAX_EXTENDED_VALUE = 999999;
/** Odd count, value 998: PAYG off for ever (until a set time). */
export const DISABLE_PAYG_VALUE = 998;
/** Odd count, value 999: only moves the device's count forward (servers use it after a long silence). */
export const COUNTER_SYNC_VALUE = 999;

/**
 * Values 996 and 997 have no meaning in the spec, and 998/999 only at odd counts. The reference decoders turn them
 * into add/set time of 996-999 days; solkey refuses them, in standard and extended tokens alike (an extended add or
 * set of 996-999 units is therefore never issued nor accepted).
 */
export function isReservedValue(value: number): boolean {
  return value >= 996 && value <= 999;
}

/**
 * The type a genuine token at `count` with `value` has: even counts add time, odd counts set time, disable PAYG or
 * sync the counter. `undefined` when the pair is reserved (996/997 anywhere, 998/999 at an even count).
 */
export function tokenTypeOf(count: number, value: number): TokenType | undefined {
  if ((count & 1) === 0) return isReservedValue(value) ? undefined : "add_time";
  if (value === DISABLE_PAYG_VALUE) return "disable_payg";
  if (value === COUNTER_SYNC_VALUE) return "counter_sync";
  return isReservedValue(value) ? undefined : "set_time";
}

/**
 * The count of the next token of `type` after the server's `count` (reference encoder `_get_new_count`): the next
 * even count for add time, the next odd count for the other types, always at least count + 1.
 */
export function nextCount(count: number, type: TokenType): number {
  const wantOdd = type === "add_time" ? 0 : 1;
  return (count & 1) === wantOdd ? count + 2 : count + 1;
}

/** The encoded value a token of `type` carries: the special value, or the add/set amount. */
export function encodedValue(type: TokenType, amount: number): number {
  if (type === "disable_payg") return DISABLE_PAYG_VALUE;
  if (type === "counter_sync") return COUNTER_SYNC_VALUE;
  return amount;
}

/**
 * Seconds of credit for an add/set `value` on a device whose `timeDivider` is the number of value units per day
 * (1-255). Rounded down: a device never grants more than was paid, and loses under one second per token.
 */
export function valueToSeconds(value: number, timeDivider: number): number {
  return Math.floor((value * 86400) / timeDivider);
}
