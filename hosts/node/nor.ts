// A NOR-flash simulator implementing firmware/storage/flash.ts, strict about the chip's rules and able to cut power
// in the middle of any program or erase (docs/DESIGN.md, "Fault model"). Pure TypeScript: runs under Node and XS.
import type { ChipProfile, FlashStatus, NorFlash } from "../../firmware/storage/flash";
import { regionStatus } from "../../firmware/storage/flash";
import { Random } from "./nor-random";

/**
 * What an interrupted program or erase leaves. "Changing bits" are the ones the operation meant to flip: 1 -> 0
 * for a program, 0 -> 1 for an erase.
 *   none       nothing changed (power failed before the operation touched a cell)
 *   prefix     the operation got part way: bytes before a random point are done, the rest untouched
 *   subset     a random subset of the changing bits changed
 *   allbutone  every changing bit but one changed
 *   half       a half-done operation: every changing bit reads 0 or 1 at random on each read until the next erase
 *              (the weak cells of a half-done erase, or of a half-done program)
 *   weak       an almost-done operation: every changing bit changed, but a random subset of them is weak and reads
 *              differently on each read (power failed as the cells were being set); a read-back may pass once
 */
export type Tear = "none" | "prefix" | "subset" | "allbutone" | "half" | "weak";
export const TEARS: readonly Tear[] = ["none", "prefix", "subset", "allbutone", "half", "weak"];

/** Thrown by the interrupted operation and every mutation after it, until `powerOn`. */
export class PowerCut extends Error {
  override name = "PowerCut";
}

/** The complete simulated chip state: enough to copy, restore or persist a flash exactly. */
export interface NorImage {
  readonly bytes: Uint8Array;
  /** Per byte, the bits that read at random (a half-done operation). */
  readonly unstable: Uint8Array;
  /** Per word, writes since its block's last erase. */
  readonly wordWrites: Uint8Array;
  /** Per block, erases ever started. */
  readonly blockErases: Uint32Array;
}

/** Totals since the simulator was created, for wear figures. */
export interface NorCounters {
  /** Program calls, completed or interrupted. */
  programs: number;
  /** Erase calls, completed or interrupted. */
  erases: number;
  /** Bytes passed to program calls. */
  bytesProgrammed: number;
  /** Operations of other parts on the same supply (OTP bits: `mutate`), which a cut can interrupt too. */
  external: number;
}

export interface NorSimOptions {
  readonly chip: ChipProfile;
  readonly blocks: number;
  /** Starting content; erased when absent. Copied. */
  readonly image?: NorImage;
  /** Refuse misaligned writes, 1-over-0 writes and writes past maxWritesPerWord (default true). */
  readonly strict?: boolean;
  /** Seed for tears and unstable reads. */
  readonly seed?: number;
  /** Called after every mutation (completed or torn) with the range it touched; the file-backed mode saves here. */
  onChange?(byteOffset: number, byteLength: number): void;
}

export class NorSim implements NorFlash {
  readonly image: NorImage;
  readonly counters: NorCounters = { programs: 0, erases: 0, bytesProgrammed: 0, external: 0 };
  private readonly flashStatus: FlashStatus;
  private readonly strict: boolean;
  private readonly random: Random;
  private readonly onChange?: (byteOffset: number, byteLength: number) => void;
  /** The 1-based number of the mutation to interrupt (counting programs, erases and external), 0 = none. */
  private cutAt = 0;
  private cutTear: Tear = "none";
  private off = false;

  constructor(options: NorSimOptions) {
    this.flashStatus = regionStatus(options.chip, options.blocks);
    const { size, writeAlignment, blocks } = this.flashStatus;
    const words = size / writeAlignment;
    const from = options.image;
    if (from !== undefined && from.bytes.length !== size)
      throw new RangeError(`"image" expected ${size} bytes, got ${from.bytes.length}`);
    this.image = {
      bytes: from ? from.bytes.slice() : new Uint8Array(size).fill(0xff),
      unstable: from ? from.unstable.slice() : new Uint8Array(size),
      wordWrites: from ? from.wordWrites.slice() : new Uint8Array(words),
      blockErases: from ? from.blockErases.slice() : new Uint32Array(blocks),
    };
    this.strict = options.strict ?? true;
    this.random = new Random(options.seed ?? 1);
    this.onChange = options.onChange;
  }

  status(): FlashStatus {
    return this.flashStatus;
  }

  /** Mutations so far (programs + erases); `cut(k)` counts on from here. */
  get mutations(): number {
    return this.counters.programs + this.counters.erases + this.counters.external;
  }

  /**
   * Counts an operation of another part on this supply (an OTP bit being set) as a mutation. Returns true when the
   * power fails during it: the caller leaves its part as a cut leaves it and throws `PowerCut`.
   */
  mutate(): boolean {
    this.checkPower();
    this.counters.external++;
    if (this.mutations !== this.cutAt) return false;
    this.off = true;
    this.cutAt = 0;
    return true;
  }

  /** Whether power has been cut and not restored. */
  get isOff(): boolean {
    return this.off;
  }

  /** Interrupts the `k`-th mutation from now (k >= 1), leaving it as `tear` describes. */
  cut(k: number, tear: Tear): void {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`"k" expected an integer >= 1, got ${k}`);
    this.cutAt = this.mutations + k;
    this.cutTear = tear;
  }

  /** Restores power and disarms any pending cut; the flash keeps whatever the cut left. */
  powerOn(): void {
    this.off = false;
    this.cutAt = 0;
  }

  read(byteLength: number, byteOffset: number): ArrayBuffer {
    this.checkRange(byteOffset, byteLength, 1);
    const out = this.image.bytes.slice(byteOffset, byteOffset + byteLength);
    const unstable = this.image.unstable;
    for (let i = 0; i < byteLength; i++) {
      const mask = unstable[byteOffset + i];
      if (mask !== 0) out[i] = (out[i] & ~mask) | (this.random.next() & mask);
    }
    return out.buffer;
  }

  write(buffer: Uint8Array, byteOffset: number): void {
    if (!(buffer instanceof Uint8Array)) throw new TypeError(`"buffer" expected Uint8Array`);
    const { writeAlignment, maxWritesPerWord } = this.flashStatus;
    this.checkRange(byteOffset, buffer.length, writeAlignment);
    this.checkPower();
    const { bytes, unstable, wordWrites } = this.image;
    if (this.strict) {
      for (let i = 0; i < buffer.length; i++) {
        const stableZeros = ~bytes[byteOffset + i] & ~unstable[byteOffset + i] & 0xff;
        if ((buffer[i] & stableZeros) !== 0)
          throw new Error(`nor: write of a 1 over a programmed 0 at byte ${byteOffset + i} (NOR cannot set bits)`);
      }
      for (let w = byteOffset / writeAlignment; w < (byteOffset + buffer.length) / writeAlignment; w++)
        if (wordWrites[w] >= maxWritesPerWord)
          throw new Error(`nor: word at byte ${w * writeAlignment} written more than ${maxWritesPerWord} times`);
    }
    this.counters.programs++;
    this.counters.bytesProgrammed += buffer.length;
    const torn = this.mutations === this.cutAt;
    const reached = torn ? this.tearProgram(buffer, byteOffset) : buffer.length;
    if (!torn) {
      for (let i = 0; i < buffer.length; i++) {
        bytes[byteOffset + i] &= buffer[i];
        unstable[byteOffset + i] &= buffer[i]; // a programmed 0 is a stable 0; a weak bit left at 1 stays weak
      }
    }
    const lastWord = Math.ceil((byteOffset + reached) / writeAlignment);
    for (let w = byteOffset / writeAlignment; w < lastWord; w++) if (wordWrites[w] < 255) wordWrites[w]++;
    this.changed(byteOffset, buffer.length);
    if (torn) this.powerFails(`program at byte ${byteOffset}`, reached);
  }

  eraseBlock(block: number): void {
    const { blocks, blockLength } = this.flashStatus;
    if (!Number.isInteger(block) || block < 0 || block >= blocks)
      throw new RangeError(`"block" expected 0..${blocks - 1}, got ${block}`);
    this.checkPower();
    this.counters.erases++;
    const start = block * blockLength;
    const torn = this.mutations === this.cutAt;
    if (torn) {
      const reached = this.tearErase(start, blockLength);
      if (reached > 0) this.image.blockErases[block]++;
      this.changed(start, blockLength);
      this.powerFails(`erase of block ${block}`, reached);
    }
    this.image.blockErases[block]++;
    this.image.bytes.fill(0xff, start, start + blockLength);
    this.image.unstable.fill(0, start, start + blockLength);
    const { writeAlignment } = this.flashStatus;
    this.image.wordWrites.fill(0, start / writeAlignment, (start + blockLength) / writeAlignment);
    this.changed(start, blockLength);
  }

  /** Applies the armed tear to a program; returns how many bytes from the start the operation reached. */
  private tearProgram(buffer: Uint8Array, byteOffset: number): number {
    const { bytes, unstable } = this.image;
    // Changing bits per byte: stable ones the write clears, plus unstable ones it clears (made stable).
    const changing = (i: number) => (bytes[byteOffset + i] | unstable[byteOffset + i]) & ~buffer[i] & 0xff;
    const reached =
      this.cutTear === "none" ? 0 : this.cutTear === "prefix" ? this.random.below(buffer.length) : buffer.length;
    const one = this.cutTear === "allbutone" ? this.pickBit(buffer.length, changing) : -1;
    for (let i = 0; i < reached; i++) {
      const bits = changing(i);
      let apply: number;
      if (this.cutTear === "prefix") apply = bits;
      else if (this.cutTear === "subset") apply = bits & this.random.next();
      else if (this.cutTear === "weak") {
        bytes[byteOffset + i] &= ~bits;
        unstable[byteOffset + i] |= bits & this.random.next(); // set, but some cells are weak
        continue;
      } else if (this.cutTear === "allbutone") apply = one >>> 3 === i ? bits & ~(1 << (one & 7)) : bits;
      else {
        unstable[byteOffset + i] |= bits; // "half": the cleared bits are weak
        continue;
      }
      bytes[byteOffset + i] &= ~apply;
      unstable[byteOffset + i] &= ~apply;
    }
    return reached;
  }

  /** Applies the armed tear to an erase of [start, start + length); returns how many bytes it reached. */
  private tearErase(start: number, length: number): number {
    const { bytes, unstable } = this.image;
    const changing = (i: number) => ~bytes[start + i] & 0xff; // zeros the erase sets
    const reached = this.cutTear === "none" ? 0 : this.cutTear === "prefix" ? this.random.below(length) : length;
    const one = this.cutTear === "allbutone" ? this.pickBit(length, changing) : -1;
    for (let i = 0; i < reached; i++) {
      const bits = changing(i);
      if (this.cutTear === "prefix") {
        bytes[start + i] = 0xff;
        unstable[start + i] = 0;
      } else if (this.cutTear === "subset") bytes[start + i] |= bits & this.random.next();
      else if (this.cutTear === "weak") {
        bytes[start + i] |= bits;
        unstable[start + i] |= bits & this.random.next();
      } else if (this.cutTear === "allbutone") bytes[start + i] |= one >>> 3 === i ? bits & ~(1 << (one & 7)) : bits;
      else unstable[start + i] |= bits;
    }
    return reached;
  }

  private powerFails(operation: string, reached: number): never {
    this.off = true;
    this.cutAt = 0;
    throw new PowerCut(`power cut during ${operation} (tear=${this.cutTear}, reached ${reached} bytes)`);
  }

  /** A random changing bit (byte index * 8 + bit) among the first `length` bytes, or -1 when none changes. */
  private pickBit(length: number, changing: (i: number) => number): number {
    let count = 0;
    for (let i = 0; i < length; i++) count += _popcount(changing(i));
    if (count === 0) return -1;
    let k = this.random.below(count);
    for (let i = 0; i < length; i++) {
      const bits = changing(i);
      for (let b = 0; b < 8; b++) if (bits & (1 << b) && k-- === 0) return i * 8 + b;
    }
    return -1;
  }

  private checkPower(): void {
    if (this.off) throw new PowerCut("flash is unpowered (call powerOn after a cut)");
  }

  private checkRange(byteOffset: number, byteLength: number, alignment: number): void {
    const { size } = this.flashStatus;
    if (!Number.isInteger(byteOffset) || !Number.isInteger(byteLength) || byteOffset < 0 || byteLength < 0)
      throw new RangeError(`nor: access at ${byteOffset}+${byteLength}`);
    if (byteOffset + byteLength > size) throw new RangeError(`nor: access at ${byteOffset}+${byteLength} past ${size}`);
    if (this.strict && (byteOffset % alignment !== 0 || byteLength % alignment !== 0))
      throw new RangeError(`nor: write at ${byteOffset}+${byteLength} not aligned to ${alignment}-byte words`);
  }

  private changed(byteOffset: number, byteLength: number): void {
    this.onChange?.(byteOffset, byteLength);
  }
}

function _popcount(x: number): number {
  let n = 0;
  for (; x !== 0; x &= x - 1) n++;
  return n;
}
