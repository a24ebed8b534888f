// `otp` on the lin build: the simulated board's OTP bits (hosts/node/otp.ts), one set per demo device carried across
// its power cuts as its flash is, where a native file would be one chip shared by all three; see digital.js.
import OTP from "hosts/node/otp";
import { host } from "hosts/moddable/lin/stackmeter";

export default class LinOTP extends OTP {
  constructor(...args) {
    host(() => super(...args), undefined, []);
  }
  get size() {
    return host(() => super.size, this, []);
  }
  read(...args) {
    return host(super.read, this, args);
  }
  set(...args) {
    return host(super.set, this, args);
  }
}
