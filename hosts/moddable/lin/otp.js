// `otp` on the lin build: the simulated board's OTP bits (hosts/node/otp.ts), one set per demo device carried across
// its power cuts as its flash is, where a native file would be one chip shared by all three; see digital.js.
export { default } from "hosts/node/otp";
