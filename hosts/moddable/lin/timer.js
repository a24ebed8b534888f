// `timer` on the lin build: the simulator's virtual clock (hosts/node/timer.ts), so the demo runs a day in moments.
export { default } from "hosts/node/timer";
