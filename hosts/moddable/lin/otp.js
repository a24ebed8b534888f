// `otp` on the lin build: the simulated board's OTP bits (hosts/node/otp.ts), one set per demo device carried across
// its power cuts as its flash is, where a native file would be one chip shared by all three; see digital.js.
import OTP from "hosts/node/otp";
import { metered } from "hosts/moddable/lin/metered";

export default metered(OTP, ["size", "read", "set"]);
