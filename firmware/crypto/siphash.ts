// SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012): 128-bit key, 64-bit tag.
//
// XS is an interpreter: time follows the bytecodes run (~4.5 ns each under xsnap), plus ~10 ns whenever a value leaves
// int32 range (XS then takes a double path) and ~65 ns per typed-array element read. tools/bench/siphash.ts measures
// it. So every 64-bit lane is a pair of signed int32 halves in locals, and the code is shaped to run few bytecodes:
// - the round body is unrolled twice (a double round). ROTL(v0, 32) and ROTL(v2, 32) then need no code: the second
//   round simply reads v0 and v2 with their halves swapped, and a second swap restores them. Likewise v1 and v3,
//   rotated twice per round, alternate between two sets of locals (v1/w1, v3/w3) instead of going through a temp;
// - each line is one half of one step, the add nested in the xor: "w1 = ROTL(v1, 13) ^ (v0 += v1)". An XS built for
//   debugging (xsnap is) spends a bytecode on every statement (a line marker), and any XS one on every read of a
//   local, so two statements per step instead of four save 128 bytecodes per hash;
// - the add's carry is `lo <u x` (the new low word against the addend), compared as signed int32 after flipping the
//   sign bits, and it picks one of two integer sums (`a - ~b` is a + b + 1 in one bytecode fewer). `+(boolean)` would
//   make the high half a double (measured 1-4% slower);
// - a whole block is read with two DataView.getInt32 calls instead of eight element reads (measured ~4% faster).
//   The view over the last message is kept, because callers hash from one buffer again and again (Nexus's Hasher,
//   OpenPAYGO's TokenChain); on a new buffer, making the view costs about what the eight reads would.
// Measured with the bench harness, 8-byte message, a fresh xsnap per run, variants interleaved, median of 12 runs:
// 1,717 XS compute units and 13% less time per hash (~8.5 us) than the four-statements-per-step formulation with
// `+(boolean)` carries and element reads (1,944, ~9.7 us). Tried and no faster: low words kept with their sign bit
// flipped so the carry is a bare `<` (52 fewer bytecodes but 0-4% slower, as each rotation then needs a constant xor),
// `(boolean) | 0` and `? 1 : 0` carries, `>>> 0` compares, a helper call per round.

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

// The DataView over the last message hashed (see the header), and that message.
let _viewOf: Uint8Array | undefined;
let _view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/**
 * SipHash-2-4 of `message[0, length)` under `key`. Writes the tag as two signed int32 words, low word first, into
 * `out` (so `out[0] >>> 0` is bits 0-31 and `out[1] >>> 0` bits 32-63) and returns `out`.
 * Hot path: it does not check its arguments; callers own them (see `siphash24` for the checked form).
 */
export function siphashWords(key: SipKey, message: Uint8Array, length: number, out: Int32Array): Int32Array {
  const M = 1 << 31; // flips the sign bit: (a ^ M) < (b ^ M) compares a and b as unsigned
  // Initialisation (paper section 2): v0..v3 = k0 ^ "somepseu", k1 ^ "dorandom", k0 ^ "lygenera", k1 ^ "tedbytes".
  let v0lo = key.k0lo ^ 0x70736575,
    v0hi = key.k0hi ^ 0x736f6d65,
    v1lo = key.k1lo ^ 0x6e646f6d,
    v1hi = key.k1hi ^ 0x646f7261,
    v2lo = key.k0lo ^ 0x6e657261,
    v2hi = key.k0hi ^ 0x6c796765,
    v3lo = key.k1lo ^ 0x79746573,
    v3hi = key.k1hi ^ 0x74656462,
    w1lo = 0,
    w1hi = 0,
    w3lo = 0,
    w3hi = 0,
    mlo = 0,
    mhi = 0;
  const last = length & ~7; // where the last block starts: the 0-7 remaining bytes
  if (message !== _viewOf) {
    _view = new DataView(message.buffer, message.byteOffset);
    _viewOf = message;
  }
  // One pass per whole block (c = 2 rounds), one for the last block, then two for finalisation (d = 4 rounds).
  for (let i = 0; i <= last + 16; i += 8) {
    if (i <= last) {
      if (i < last) {
        mlo = _view.getInt32(i, true);
        mhi = _view.getInt32(i + 4, true);
      } else {
        // The last block: the remaining bytes, and the message length mod 256 in the top byte.
        mlo = 0;
        mhi = length << 24;
        for (let j = length - 1; j >= i; j--) {
          if (j - i < 4) mlo |= message[j] << ((j - i) << 3);
          else mhi |= message[j] << ((j - i - 4) << 3);
        }
      }
      v3lo ^= mlo;
      v3hi ^= mhi;
    } else if (i === last + 8) v2lo ^= 0xff; // finalisation starts: v2 ^= 0xff
    // Two SipRounds (paper figure 2). A line computes one half of "w1 = ROTL(v1, 13) ^ (v0 += v1)": the low half
    // with the add's low word, the high half with its high word and carry.
    w1lo = ((v1lo << 13) | (v1hi >>> 19)) ^ (v0lo = (v0lo + v1lo) | 0);
    w1hi = ((v1hi << 13) | (v1lo >>> 19)) ^ (v0hi = ((v0lo ^ M) < (v1lo ^ M) ? v0hi - ~v1hi : v0hi + v1hi) | 0);
    w3lo = ((v3lo << 16) | (v3hi >>> 16)) ^ (v2lo = (v2lo + v3lo) | 0);
    w3hi = ((v3hi << 16) | (v3lo >>> 16)) ^ (v2hi = ((v2lo ^ M) < (v3lo ^ M) ? v2hi - ~v3hi : v2hi + v3hi) | 0);
    // v0 is ROTL(v0, 32) from here: its low word is v0hi.
    v3lo = ((w3lo << 21) | (w3hi >>> 11)) ^ (v0hi = (v0hi + w3lo) | 0);
    v3hi = ((w3hi << 21) | (w3lo >>> 11)) ^ (v0lo = ((v0hi ^ M) < (w3lo ^ M) ? v0lo - ~w3hi : v0lo + w3hi) | 0);
    v1lo = ((w1lo << 17) | (w1hi >>> 15)) ^ (v2lo = (v2lo + w1lo) | 0);
    v1hi = ((w1hi << 17) | (w1lo >>> 15)) ^ (v2hi = ((v2lo ^ M) < (w1lo ^ M) ? v2hi - ~w1hi : v2hi + w1hi) | 0);
    // Second round: v2 is ROTL(v2, 32) (low word v2hi) for the whole round; v0 turns back after its first step.
    w1lo = ((v1lo << 13) | (v1hi >>> 19)) ^ (v0hi = (v0hi + v1lo) | 0);
    w1hi = ((v1hi << 13) | (v1lo >>> 19)) ^ (v0lo = ((v0hi ^ M) < (v1lo ^ M) ? v0lo - ~v1hi : v0lo + v1hi) | 0);
    w3lo = ((v3lo << 16) | (v3hi >>> 16)) ^ (v2hi = (v2hi + v3lo) | 0);
    w3hi = ((v3hi << 16) | (v3lo >>> 16)) ^ (v2lo = ((v2hi ^ M) < (v3lo ^ M) ? v2lo - ~v3hi : v2lo + v3hi) | 0);
    v3lo = ((w3lo << 21) | (w3hi >>> 11)) ^ (v0lo = (v0lo + w3lo) | 0);
    v3hi = ((w3hi << 21) | (w3lo >>> 11)) ^ (v0hi = ((v0lo ^ M) < (w3lo ^ M) ? v0hi - ~w3hi : v0hi + w3hi) | 0);
    v1lo = ((w1lo << 17) | (w1hi >>> 15)) ^ (v2hi = (v2hi + w1lo) | 0);
    v1hi = ((w1hi << 17) | (w1lo >>> 15)) ^ (v2lo = ((v2hi ^ M) < (w1lo ^ M) ? v2lo - ~w1hi : v2lo + w1hi) | 0);
    if (i <= last) {
      v0lo ^= mlo;
      v0hi ^= mhi;
    }
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
