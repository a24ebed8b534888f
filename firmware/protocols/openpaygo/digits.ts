// OpenPAYGO Token text (OpenPAYGO-Token spec, "token format" and "restricted digit set"): 9 or 12 decimal digits, or,
// for keypads with keys 1-4 only, the code's 30 or 40 bits written two at a time as digits 1-4 (15 or 20 digits).

/** A token's numeric code and which chain it belongs to. */
export interface ParsedToken {
  readonly code: number;
  readonly extended: boolean;
}

/** Digits a token of this kind has on the keypad. */
export function tokenLength(extended: boolean, restricted: boolean): number {
  if (restricted) return extended ? 20 : 15;
  return extended ? 12 : 9;
}

/** The digits of `code` (below 10^9, or 10^12 when extended) as the user types them. */
export function formatToken(code: number, extended: boolean, restricted: boolean): string {
  const length = tokenLength(extended, restricted);
  if (!restricted) return String(code).padStart(length, "0");
  // Two bits per digit, most significant first, each shown as 1-4 (reference `convert_to_4_digit_token`).
  let text = "";
  let rest = code;
  for (let i = 0; i < length; i++) {
    const pair = rest % 4;
    text = String.fromCharCode(0x31 + pair) + text;
    rest = (rest - pair) / 4;
  }
  return text;
}

/**
 * Reads an entry typed on the keypad: digits only, no `*` or `#`. Returns the code, or the reason it is not a token
 * (wrong length, a character outside the keypad's digits, a restricted entry whose bits are out of range).
 * `extended`: whether the device also takes extended tokens.
 */
export function parseToken(entry: string, extended: boolean, restricted: boolean): ParsedToken | string {
  const length = entry.length;
  const isExtended = extended && length === tokenLength(true, restricted);
  if (!isExtended && length !== tokenLength(false, restricted)) {
    const allowed = extended
      ? `${tokenLength(false, restricted)} or ${tokenLength(true, restricted)}`
      : `${tokenLength(false, restricted)}`;
    return `expected ${allowed} digits, got ${length}`;
  }
  const radix = restricted ? 4 : 10;
  const lowest = restricted ? 0x31 : 0x30;
  let code = 0;
  for (let i = 0; i < length; i++) {
    const digit = entry.charCodeAt(i) - lowest;
    if (!(digit >= 0 && digit < radix)) {
      return `expected ${restricted ? "keys 1-4" : "digits 0-9"}, got "${entry.charAt(i)}" at ${i + 1}`;
    }
    code = code * radix + digit; // exact: at most 40 bits
  }
  const limit = isExtended ? 1000000000000 : 1000000000;
  if (code >= limit) return `restricted entry decodes to ${code}, above any code`;
  return { code, extended: isExtended };
}
