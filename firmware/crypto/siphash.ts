// SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012): 128-bit key, 64-bit tag.
//
// XS has no 64-bit integers and runs BigInt far slower than int32, so every 64-bit lane is a pair of
// signed int32 halves kept in locals. Two habits keep XS on its integer fast path:
// - values never leave int32 range: `| 0` after every add, and no `>>> 0` (which yields a double);
// - a 64-bit carry is an unsigned compare done on sign-flipped int32s: `(a ^ MIN) < (b ^ MIN)`.
// The round body is written once and driven by a stage counter, so the code stays small for flash.

import { expectBytes } from "../assert";

/** A SipHash key, unpacked once into its four little-endian 32-bit words. */
export interface SipKey {
  readonly k0lo: number;
  readonly k0hi: number;
  readonly k1lo: number;
  readonly k1hi: number;
}

const MIN = -0x80000000;

const _word = (b: Uint8Array, i: number): number => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);

/** Unpacks a 16-byte key. Throws TypeError for a non-Uint8Array, RangeError for another length. */
export function sipKey(key: Uint8Array): SipKey {
  expectBytes(key, 16, "key");
  return Object.freeze({ k0lo: _word(key, 0), k0hi: _word(key, 4), k1lo: _word(key, 8), k1hi: _word(key, 12) });
}

/**
 * SipHash-2-4 of `message[0, length)` under `key`. Writes the tag as two signed int32 words, low word first, into
 * `out` (so `out[0] >>> 0` is bits 0-31 and `out[1] >>> 0` bits 32-63) and returns `out`.
 * Hot path: it does not check its arguments; callers own them (see `siphash24` for the checked form).
 */
export function siphashWords(key: SipKey, message: Uint8Array, length: number, out: Int32Array): Int32Array {
  // Initialisation (paper section 2): v0..v3 = k0^"somepseu", k1^"dorandom", k0^"lygenera", k1^"tedbytes".
  let v0lo = key.k0lo ^ 0x70736575,
    v0hi = key.k0hi ^ 0x736f6d65;
  let v1lo = key.k1lo ^ 0x6e646f6d,
    v1hi = key.k1hi ^ 0x646f7261;
  let v2lo = key.k0lo ^ 0x6e657261,
    v2hi = key.k0hi ^ 0x6c796765;
  let v3lo = key.k1lo ^ 0x79746573,
    v3hi = key.k1hi ^ 0x74656462;
  const blocks = (length >> 3) + 1; // whole 8-byte blocks plus the final, length-tagged one
  let mlo = 0,
    mhi = 0,
    t = 0;
  for (let stage = 0; ; stage++) {
    let rounds = 2;
    if (stage < blocks - 1) {
      const i = stage << 3;
      mlo = _word(message, i);
      mhi = _word(message, i + 4);
    } else if (stage === blocks - 1) {
      // Final block: the remaining bytes, then the message length mod 256 in the top byte.
      const base = stage << 3;
      mlo = 0;
      mhi = (length & 0xff) << 24;
      for (let i = length - 1; i >= base; i--) {
        const s = (i - base) << 3;
        if (s < 32) mlo |= message[i] << s;
        else mhi |= message[i] << (s - 32);
      }
    } else {
      v2lo ^= 0xff; // finalisation: v2 ^= 0xff, then d = 4 rounds
      rounds = 4;
    }
    if (rounds === 2) {
      v3lo ^= mlo;
      v3hi ^= mhi;
    }
    // prettier-ignore
    for (let r = 0; r < rounds; r++) {
      // SipRound (paper figure 2), on 32-bit halves.
      t = (v0lo + v1lo) | 0; v0hi = (v0hi + v1hi + ((t ^ MIN) < (v0lo ^ MIN) ? 1 : 0)) | 0; v0lo = t;
      t = (v1lo << 13) | (v1hi >>> 19); v1hi = (v1hi << 13) | (v1lo >>> 19); v1lo = t ^ v0lo; v1hi ^= v0hi;
      t = v0lo; v0lo = v0hi; v0hi = t;
      t = (v2lo + v3lo) | 0; v2hi = (v2hi + v3hi + ((t ^ MIN) < (v2lo ^ MIN) ? 1 : 0)) | 0; v2lo = t;
      t = (v3lo << 16) | (v3hi >>> 16); v3hi = (v3hi << 16) | (v3lo >>> 16); v3lo = t ^ v2lo; v3hi ^= v2hi;
      t = (v0lo + v3lo) | 0; v0hi = (v0hi + v3hi + ((t ^ MIN) < (v0lo ^ MIN) ? 1 : 0)) | 0; v0lo = t;
      t = (v3lo << 21) | (v3hi >>> 11); v3hi = (v3hi << 21) | (v3lo >>> 11); v3lo = t ^ v0lo; v3hi ^= v0hi;
      t = (v2lo + v1lo) | 0; v2hi = (v2hi + v1hi + ((t ^ MIN) < (v2lo ^ MIN) ? 1 : 0)) | 0; v2lo = t;
      t = (v1hi << 17) | (v1lo >>> 15); v1lo = (v1lo << 17) | (v1hi >>> 15); v1hi = t;
      v1lo ^= v2lo; v1hi ^= v2hi;
      t = v2lo; v2lo = v2hi; v2hi = t;
    }
    if (rounds === 4) break;
    v0lo ^= mlo;
    v0hi ^= mhi;
  }
  out[0] = v0lo ^ v1lo ^ v2lo ^ v3lo;
  out[1] = v0hi ^ v1hi ^ v2hi ^ v3hi;
  return out;
}

/** SipHash-2-4 of `message` under a 16-byte `key`: the 8-byte tag, little-endian as in the paper's vectors. */
export function siphash24(key: Uint8Array | SipKey, message: Uint8Array): Uint8Array {
  const k = key instanceof Uint8Array ? sipKey(key) : key;
  expectBytes(message, -1, "message");
  const w = siphashWords(k, message, message.length, new Int32Array(2));
  return new Uint8Array(w.buffer);
}
