// The one-time-programmable bits a chip lends solkey (docs/SPEC.md, "Anchor and mark"; /work/brief contract): bit 0
// marks a device that has run journal v2, bits 1.. are the rollback anchor, a unary counter.

/** One-time-programmable bits the chip lends solkey (ESP32 eFuse user block, nRF52840 UICR customer words). */
export interface Otp {
  /** How many bits solkey may use on this chip (0: none; docs/DESIGN.md says what that costs). */
  readonly size: number;
  /** Bit `index` as read now: true once programmed. */
  read(index: number): boolean;
  /** Programs bit `index` (irreversible). Throws an Error when the chip refuses or read-back disagrees. */
  set(index: number): void;
}

/** A chip that lends no bits: no mark, no anchor (DESIGN.md: an erased journal then boots fresh, as in v1). */
export const NO_OTP: Otp = Object.freeze({
  size: 0,
  read: () => false,
  set: (index: number) => {
    throw new RangeError(`"index" expected a bit below size 0, got ${index}`);
  },
});

/** The anchor count: the highest bit among 1..size-1 that reads set, 0 when none (SPEC.md, "Anchor and mark"). */
export function anchorCount(otp: Otp): number {
  for (let index = otp.size - 1; index >= 1; index--) if (otp.read(index)) return index;
  return 0;
}
