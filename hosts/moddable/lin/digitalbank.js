// embedded:io/digitalbank on the lin build: the simulator's stand-in (hosts/node/digitalbank.ts); see digital.js.
export { default } from "hosts/node/digitalbank";
