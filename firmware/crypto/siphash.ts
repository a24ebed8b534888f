// SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012): 128-bit key, 64-bit tag.
//
// XS is an interpreter: each bytecode costs about the same (measured ~4 ns under xsnap), values that leave int32
// range take a slower double path, and BigInt allocates. So every 64-bit lane is a pair of signed int32 halves in
// locals, and the code is shaped to execute as few bytecodes as possible (tools/bench/siphash.ts measures it):
// - the round body is unrolled twice (a double round). ROTL(v0, 32) and ROTL(v2, 32) then need no code: the second
//   round simply reads v0 and v2 with their halves swapped, and a second swap restores them. Likewise v1 and v3,
//   rotated twice per round, alternate between two sets of locals (v1/w1, v3/w3) instead of going through a temp;
// - a 64-bit add takes its carry from the new low word against the addend (`lo <u x` iff the add wrapped), compared
//   as signed int32 after flipping the sign bits, so nothing becomes a double;
// - `+(boolean)` turns the carry into a number in one bytecode (measured faster than `? 1 : 0`).
// measured on this machine class: 1,944 XS compute units and ~9 us per 8-byte message, against ~2,500 and ~12.5 us
// for the one-round, temp-based formulation.

import { expectBytes } from "../assert";

/** A SipHash key, unpacked once into its four little-endian 32-bit words. */
export interface SipKey {
  readonly k0lo: number;
  readonly k0hi: number;
  readonly k1lo: number;
  readonly k1hi: number;
}

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
  const k0lo = key.k0lo,
    k0hi = key.k0hi,
    k1lo = key.k1lo,
    k1hi = key.k1hi;
  // Initialisation (paper section 2): v0..v3 = k0 ^ "somepseu", k1 ^ "dorandom", k0 ^ "lygenera", k1 ^ "tedbytes".
  let v0lo = k0lo ^ 0x70736575,
    v0hi = k0hi ^ 0x736f6d65,
    v1lo = k1lo ^ 0x6e646f6d,
    v1hi = k1hi ^ 0x646f7261;
  let v2lo = k0lo ^ 0x6e657261,
    v2hi = k0hi ^ 0x6c796765,
    v3lo = k1lo ^ 0x79746573,
    v3hi = k1hi ^ 0x74656462;
  let w1lo = 0,
    w1hi = 0,
    w3lo = 0,
    w3hi = 0,
    mlo = 0,
    mhi = 0;
  const M = 1 << 31; // flips the sign bit: (a ^ M) < (b ^ M) compares a and b as unsigned
  const whole = length & ~7; // bytes in whole 8-byte blocks
  let rounds = 2; // c = 2 rounds per block, then d = 4 to finalise
  for (let i = 0; ; i += 8) {
    if (i < whole) {
      mlo = message[i] | (message[i + 1] << 8) | (message[i + 2] << 16) | (message[i + 3] << 24);
      mhi = message[i + 4] | (message[i + 5] << 8) | (message[i + 6] << 16) | (message[i + 7] << 24);
    } else if (i === whole) {
      // The last block: the 0-7 remaining bytes, and the message length mod 256 in the top byte.
      mlo = 0;
      mhi = length << 24;
      for (let j = length - 1; j >= i; j--) {
        if (j - i < 4) mlo |= message[j] << ((j - i) << 3);
        else mhi |= message[j] << ((j - i - 4) << 3);
      }
    } else {
      v2lo ^= 0xff; // finalisation: v2 ^= 0xff, then d = 4 rounds
      rounds = 4;
    }
    if (rounds === 2) {
      v3lo ^= mlo;
      v3hi ^= mhi;
    }
    // Two SipRounds (paper figure 2) per pass. Each line is one 64-bit step: "v0 += v1" or "w1 = ROTL(v1, 13) ^ v0".

    for (let r = 0; r < rounds; r += 2) {
      v0lo = (v0lo + v1lo) | 0;
      v0hi = (v0hi + v1hi + +((v0lo ^ M) < (v1lo ^ M))) | 0;
      w1lo = ((v1lo << 13) | (v1hi >>> 19)) ^ v0lo;
      w1hi = ((v1hi << 13) | (v1lo >>> 19)) ^ v0hi;
      v2lo = (v2lo + v3lo) | 0;
      v2hi = (v2hi + v3hi + +((v2lo ^ M) < (v3lo ^ M))) | 0;
      w3lo = ((v3lo << 16) | (v3hi >>> 16)) ^ v2lo;
      w3hi = ((v3hi << 16) | (v3lo >>> 16)) ^ v2hi;
      v0hi = (v0hi + w3lo) | 0;
      v0lo = (v0lo + w3hi + +((v0hi ^ M) < (w3lo ^ M))) | 0; // v0 is ROTL(v0, 32) here
      v3lo = ((w3lo << 21) | (w3hi >>> 11)) ^ v0hi;
      v3hi = ((w3hi << 21) | (w3lo >>> 11)) ^ v0lo;
      v2lo = (v2lo + w1lo) | 0;
      v2hi = (v2hi + w1hi + +((v2lo ^ M) < (w1lo ^ M))) | 0;
      v1lo = ((w1lo << 17) | (w1hi >>> 15)) ^ v2lo;
      v1hi = ((w1hi << 17) | (w1lo >>> 15)) ^ v2hi;
      // Second round: v0 and v2 are read with their halves swapped (ROTL 32 of the round before).
      v0hi = (v0hi + v1lo) | 0;
      v0lo = (v0lo + v1hi + +((v0hi ^ M) < (v1lo ^ M))) | 0;
      w1lo = ((v1lo << 13) | (v1hi >>> 19)) ^ v0hi;
      w1hi = ((v1hi << 13) | (v1lo >>> 19)) ^ v0lo;
      v2hi = (v2hi + v3lo) | 0;
      v2lo = (v2lo + v3hi + +((v2hi ^ M) < (v3lo ^ M))) | 0;
      w3lo = ((v3lo << 16) | (v3hi >>> 16)) ^ v2hi;
      w3hi = ((v3hi << 16) | (v3lo >>> 16)) ^ v2lo;
      v0lo = (v0lo + w3lo) | 0;
      v0hi = (v0hi + w3hi + +((v0lo ^ M) < (w3lo ^ M))) | 0; // v0 is back in order
      v3lo = ((w3lo << 21) | (w3hi >>> 11)) ^ v0lo;
      v3hi = ((w3hi << 21) | (w3lo >>> 11)) ^ v0hi;
      v2hi = (v2hi + w1lo) | 0;
      v2lo = (v2lo + w1hi + +((v2hi ^ M) < (w1lo ^ M))) | 0;
      v1lo = ((w1lo << 17) | (w1hi >>> 15)) ^ v2hi;
      v1hi = ((w1hi << 17) | (w1lo >>> 15)) ^ v2lo;
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
