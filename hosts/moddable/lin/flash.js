// `flash` on the lin build: the simulator's NOR partitions (hosts/node/flash.ts); see digital.js.
export { default } from "hosts/node/flash";
