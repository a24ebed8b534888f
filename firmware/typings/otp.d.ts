// The Moddable module `otp` (hosts/moddable/otp on a chip, hosts/node/otp.ts off-chip): the chip's OTP bits.
// The shape of storage/otp.ts `Otp`, which main.ts checks where it hands one to the journal (an ambient module may
// not import by relative path: mcconfig's tsc, which checks declaration files, refuses it).
declare module "otp" {
  export default class OTP {
    constructor();
    /** How many bits solkey may use on this chip. */
    readonly size: number;
    /** Bit `index` as read now: true once programmed. */
    read(index: number): boolean;
    /** Programs bit `index` (irreversible). Throws an Error when the chip refuses or read-back disagrees. */
    set(index: number): void;
  }
}
