// The SipHash-2-4 inputs Nexus Keycode builds (MAC messages and the obscuring pad), on scratch buffers owned by one
// protocol instance or one encoder call (not module-level: Moddable freezes preloaded modules' objects).
import { sipKey, type SipKey } from "../../crypto/siphash";
// One call per MAC check or pad: native on Moddable (crypto/sipwalk).
import { siphashWords } from "../../crypto/sipwalk";

/** The all-zero key: factory codes (full protocol) and the obscuring pad (both keypads). */
export const ZERO_KEY: SipKey = sipKey(new Uint8Array(16));
/** The all-0xFF key: small-keypad test codes. */
export const FF_KEY: SipKey = sipKey(new Uint8Array(16).fill(0xff));

export class NexusHasher {
  /** The message under construction; 9 bytes is the longest Nexus hashes (full MAC). */
  readonly message = new Uint8Array(9);
  /** The last tag: out[0] bits 0-31, out[1] bits 32-63, as signed int32. */
  readonly out = new Int32Array(2);

  /** Writes `value` (0..2^32-1) little-endian at `offset`. */
  u32(offset: number, value: number): void {
    const m = this.message;
    m[offset] = value & 0xff;
    m[offset + 1] = (value >>> 8) & 0xff;
    m[offset + 2] = (value >>> 16) & 0xff;
    m[offset + 3] = (value >>> 24) & 0xff;
  }

  /** SipHash-2-4 of message[0, length) under `key`; the tag is in `out`. */
  hash(key: SipKey, length: number): Int32Array {
    return siphashWords(key, this.message, length, this.out);
  }

  /**
   * The obscuring pad (reference nexus_check_compute_pseudorandom_bytes; nexus-keycode-python pseudorandom_bits):
   * SipHash-2-4 under the zero key of 0x00 (iteration 0) followed by the seed bytes already placed at message[1..].
   * Byte i of the pad is byte i of the little-endian tag.
   */
  pad(seedLength: number): void {
    this.message[0] = 0;
    siphashWords(ZERO_KEY, this.message, seedLength + 1, this.out);
  }

  /** Byte `i` (0-7) of the last tag, little-endian. */
  byte(i: number): number {
    return i < 4 ? (this.out[0] >> (i << 3)) & 0xff : (this.out[1] >> ((i - 4) << 3)) & 0xff;
  }
}
