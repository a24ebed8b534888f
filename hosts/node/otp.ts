// The host model of the chip's OTP bits (firmware/storage/otp.ts): bits only set, a finite number, counts of writes,
// and a `set` the simulator can cut (a cut bit reads either way at each read until it is set again). The default
// export is the Moddable module `otp` as the firmware sees it: `new OTP()` opens the simulated board's bits.
import type { Otp } from "../../firmware/storage/otp";
import { PowerCut } from "./nor";
import { Random } from "./nor-random";
import { world } from "./simworld";

/** Thrown by a cut `set`: the bit may read either way until set again. */
export class OtpCut extends Error {
  override name = "OtpCut";
}

/**
 * OTP bits each chip lends solkey, as the chips' `otp` modules report them (hosts/moddable/otp): ESP32 eFuse BLK3
 * bits 192-255 under coding scheme None, 64; nRF52840 UICR CUSTOMER[16..31], two bits per word, 32.
 */
export const CHIP_OTP_BITS = Object.freeze({ esp32: 64, nrf52: 32 });

export class OtpSim implements Otp {
  readonly size: number;
  /** Programs ever started, cut ones included. */
  writes = 0;
  private readonly bits: Uint8Array;
  /** Bits whose programming was cut: they read at random. */
  private readonly weak: Uint8Array;
  private readonly random: Random;
  private cutAt = 0;

  /**
   * `supply`: the NOR simulator on the same power supply (its `mutate` counts each set as a cut point, so
   * `flash.cut(k, tear)` can land on an OTP write too: the bit is left weak and PowerCut thrown).
   */
  constructor(
    size: number,
    seed = 1,
    private readonly supply?: { mutate(): boolean },
  ) {
    if (!Number.isInteger(size) || size < 0 || size > 4096)
      throw new RangeError(`"size" expected 0..4096, got ${size}`);
    this.size = size;
    this.bits = new Uint8Array(size);
    this.weak = new Uint8Array(size);
    this.random = new Random(seed);
  }

  /** Cuts the `k`-th set from now (k >= 1): it throws OtpCut and leaves the bit weak. */
  cut(k: number): void {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`"k" expected an integer >= 1, got ${k}`);
    this.cutAt = this.writes + k;
  }

  read(index: number): boolean {
    this.check(index);
    if (this.weak[index] === 1) return (this.random.next() & 1) === 1;
    return this.bits[index] === 1;
  }

  set(index: number): void {
    this.check(index);
    this.writes++;
    const supplyCut = this.supply?.mutate() ?? false;
    if (this.writes === this.cutAt || supplyCut) {
      this.cutAt = 0;
      if (this.bits[index] === 0) this.weak[index] = 1;
      if (supplyCut) throw new PowerCut(`power cut while setting OTP bit ${index}`);
      throw new OtpCut(`power cut while setting OTP bit ${index}`);
    }
    this.bits[index] = 1;
    this.weak[index] = 0;
  }

  /** The programmed bits, weak ones as 2 (for copies and files). */
  snapshot(): Uint8Array {
    return this.bits.map((bit, i) => (this.weak[i] === 1 ? 2 : bit));
  }

  /** A copy holding `snapshot`'s bits (weak ones stay weak); RangeError for a value that is no bit's state. */
  static from(snapshot: Uint8Array, seed = 1, supply?: { mutate(): boolean }): OtpSim {
    const odd = snapshot.findIndex((bit) => bit > 2);
    if (odd >= 0) throw new RangeError(`OTP bit ${odd} expected 0, 1 or 2 (weak), got ${snapshot[odd]}`);
    const otp = new OtpSim(snapshot.length, seed, supply);
    snapshot.forEach((bit, i) => {
      if (bit === 1) otp.bits[i] = 1;
      if (bit === 2) otp.weak[i] = 1;
    });
    return otp;
  }

  private check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size)
      throw new RangeError(`"index" expected 0..${this.size - 1}, got ${index}`);
  }
}

/** The Moddable `otp` module over the simulated board's bits (SimWorld.otp). */
export default class OTP implements Otp {
  private readonly bits: Otp = world().otp;

  get size(): number {
    return this.bits.size;
  }

  read(index: number): boolean {
    return this.bits.read(index);
  }

  set(index: number): void {
    this.bits.set(index);
  }
}
