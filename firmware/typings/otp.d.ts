// The Moddable module `otp` (hosts/moddable/otp on a chip, hosts/node/otp.ts off-chip): the chip's OTP bits.
declare module "otp" {
  import type { Otp } from "../storage/otp";
  export default class OTP implements Otp {
    constructor();
    readonly size: number;
    read(index: number): boolean;
    set(index: number): void;
  }
}
