// The SipHash work of one verdict in one call: a Nexus MAC check (or pad) and a whole OpenPAYGO chain walk through a
// verdict's window (OpenPAYGO-Token spec, "token generation"). This TypeScript is what runs under Node, in xsnap and
// in the browser; a Moddable build replaces this module with its native twin (hosts/moddable/siphash: the same
// functions in C, the manifest maps the specifier `crypto/sipwalk` there), so the device crosses from XS into C once
// per verdict (twice when a count collides) instead of running ~1,700 XS compute units per hash. Keep the two in
// step: test/siphash-native.test.ts checks the C against this file on random inputs.
//
// The chain step lives here, beside the hash, because the native twin must walk in C. A chain state is the unmasked
// code at a count; standard codes stay below 10^9 < 2^31 (int32 arithmetic), extended codes below 10^12 < 2^53.

import { siphashWords, type SipKey } from "./siphash";

export { siphashWords };

const TWO_POW_32 = 4294967296;

// Scratch for chainNext, made at the first call (Moddable freezes what a preloaded module makes at import time).
let _message: Uint8Array | undefined;
let _tag = new Int32Array(0);

/** The chain state one count after `code` (reference `generate_next_token`). */
export function chainNext(key: SipKey, code: number, extended: boolean): number {
  if (_message === undefined) {
    _message = new Uint8Array(8);
    _tag = new Int32Array(2);
  }
  const m = _message;
  const tag = _tag;
  if (!extended) {
    // The code as a big-endian u32, twice (SipHash's message is 8 bytes); the tag's halves XORed to 32 bits, the
    // top 30 kept and folded below 10^9: 2^30 - 1 - 73741825 = 999,999,998 (reference `_convert_to_29_5_bits`).
    m[0] = m[4] = code >>> 24;
    m[1] = m[5] = code >>> 16;
    m[2] = m[6] = code >>> 8;
    m[3] = m[7] = code;
    siphashWords(key, m, 8, tag);
    const folded = (tag[0] ^ tag[1]) >>> 2;
    return folded > 999999999 ? folded - 73741825 : folded;
  }
  // The code as a big-endian u64; bits 24-63 of the tag folded below 10^12 (reference `_convert_to_40_bits`).
  const high = Math.floor(code / TWO_POW_32);
  const low = code - high * TWO_POW_32;
  m[0] = m[1] = m[2] = 0;
  m[3] = high;
  m[4] = low >>> 24;
  m[5] = low >>> 16;
  m[6] = low >>> 8;
  m[7] = low;
  siphashWords(key, m, 8, tag);
  const folded = (tag[1] >>> 0) * 256 + (tag[0] >>> 24);
  return folded > 999999999999 ? folded - 99511627777 : folded;
}

/** `states` slots a walk fills: states[c & 15] for the last 16 counts walked, states[16] the state at `from`. */
export const WALK_STATES = 17;

/**
 * Walks the chain from `code`, the state at count `at`, up to count `to`, storing each state in `states`, and returns
 * the first count c in [from, to] whose state carries `token` (equal to it once its value digits are replaced by
 * token's), or -1; a negative `token` matches nothing. Hashes computed: (c, or to when -1) - at.
 * Hot path: callers own the arguments (at <= from <= to, states of WALK_STATES).
 */
export function chainWalk(
  key: SipKey,
  extended: boolean,
  code: number,
  at: number,
  from: number,
  to: number,
  token: number,
  states: Float64Array,
): number {
  const modulus = extended ? 1000000 : 1000;
  const high = token < 0 ? -1 : token - (token % modulus);
  for (let count = at; ; count++) {
    states[count & 15] = code;
    if (count >= from) {
      if (count === from) states[16] = code;
      if (code - (code % modulus) === high) return count;
    }
    if (count >= to) return -1;
    code = chainNext(key, code, extended);
  }
}
