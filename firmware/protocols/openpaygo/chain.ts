// The OpenPAYGO Token chain (OpenPAYGO-Token spec, "token generation"; reference `generate_next_token`): the starting
// code with its value digits replaced by the token base, hashed forward once per count with SipHash-2-4. Standard
// codes are 9 digits (value in the last 3, tag folded to 29.5 bits); extended codes are 12 digits (value in the
// last 6, 40 bits of the tag). Also the small cache of chain states that keeps verdicts and issuing cheap.
//
// A chain state is the *unmasked* code at a count: the next step hashes it whole, and only the token shown to the
// user has its last digits replaced by the base. Standard codes stay below 10^9 < 2^31, so their arithmetic is int32;
// extended codes stay below 10^12 < 2^53 and are exact JS doubles (no BigInt: XS runs it far slower).

import type { SipKey } from "../../crypto/siphash";
import { chainNext, chainWalk } from "../../crypto/sipwalk";

/** One device's chain family (standard or extended); `next` is the hot path of every verdict and every issue. */
export class TokenChain {
  /** 1000 (standard: the value in the last 3 digits) or 1,000,000 (extended: the last 6). */
  readonly modulus: number;
  /** SipHashes computed so far: the cost measure of the benchmarks and of the cache tests. */
  hashes = 0;

  constructor(
    private readonly key: SipKey,
    private readonly startingCode: number,
    readonly extended: boolean,
  ) {
    this.modulus = extended ? 1000000 : 1000;
  }

  /** The base of a code: its value digits. */
  base(code: number): number {
    return code % this.modulus;
  }

  /** The value a token carries: its base minus the starting code's, modulo (reference `_decode_base`). */
  valueOf(token: number): number {
    const m = this.modulus;
    return (token % m) - (this.startingCode % m) + (token % m < this.startingCode % m ? m : 0);
  }

  /** The base that carries `value`: the starting code's base plus the value, modulo (reference `_encode_base`). */
  baseFor(value: number): number {
    return (this.startingCode + value) % this.modulus;
  }

  /** `code` with its value digits replaced by `base` (reference `put_base_in_token`). */
  mask(code: number, base: number): number {
    return code - (code % this.modulus) + base;
  }

  /** The chain state at count 0 for `base`: the starting code carrying the base. */
  origin(base: number): number {
    return this.mask(this.startingCode, base);
  }

  /** The chain state one count after `code` (crypto/sipwalk: native on Moddable). */
  next(code: number): number {
    this.hashes++;
    return chainNext(this.key, code, this.extended);
  }

  /**
   * Walks from `code` (the state at count `at`) through count `to` in one call (crypto/sipwalk `chainWalk`: native
   * on Moddable, so one crossing into C per verdict): the first count in [from, to] carrying `token`, or -1.
   */
  walk(code: number, at: number, from: number, to: number, token: number, states: Float64Array): number {
    const found = chainWalk(this.key, this.extended, code, at, from, to, token, states);
    this.hashes += (found < 0 ? to : found) - at;
    return found;
  }
}

/**
 * A few chain states, one per base (so per value), least recently used out. Each entry is a fact about the chain
 * ("for this base, the state at count c is x"), true whatever the device's replay state; it is derived data, never
 * persisted. A lookup only uses an entry at or below the count asked for, so a missing, evicted or too-new entry
 * costs hashes (a walk from count 0) and never changes an answer.
 */
export class ChainCache {
  private readonly bases: Int32Array;
  private readonly counts: Int32Array;
  private readonly codes: Float64Array;
  private readonly used: Int32Array;
  private clock = 0;

  constructor(readonly capacity: number) {
    this.bases = new Int32Array(capacity).fill(-1);
    this.counts = new Int32Array(capacity);
    this.codes = new Float64Array(capacity);
    this.used = new Int32Array(capacity);
  }

  /** The slot holding a state for `base` at a count <= `count`, or -1. */
  lookup(base: number, count: number): number {
    for (let i = 0; i < this.capacity; i++) {
      if (this.bases[i] === base && this.counts[i] <= count) {
        this.used[i] = ++this.clock;
        return i;
      }
    }
    return -1;
  }

  countAt(slot: number): number {
    return this.counts[slot];
  }

  codeAt(slot: number): number {
    return this.codes[slot];
  }

  /** Records the state `code` at `count` for `base`, replacing this base's entry or the least recently used one. */
  store(base: number, count: number, code: number): void {
    let slot = 0;
    for (let i = 0; i < this.capacity; i++) {
      if (this.bases[i] === base) {
        slot = i;
        break;
      }
      if (this.used[i] < this.used[slot]) slot = i;
    }
    this.bases[slot] = base;
    this.counts[slot] = count;
    this.codes[slot] = code;
    this.used[slot] = ++this.clock;
  }
}

/** The chain state at `count` for `base`, walking from the nearest cached state at or below it. */
export function stateAt(chain: TokenChain, cache: ChainCache, base: number, count: number): number {
  const slot = cache.lookup(base, count);
  let at = slot < 0 ? 0 : cache.countAt(slot);
  let code = slot < 0 ? chain.origin(base) : cache.codeAt(slot);
  while (at < count) {
    code = chain.next(code);
    at++;
  }
  return code;
}
