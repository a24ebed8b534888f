// embedded:io/digital on the lin build: the simulator's stand-in (hosts/node/digital.ts), re-exported under
// Moddable's specifier so that it shares hosts/node/simworld with the rest of the simulator (one module instance).
export { default } from "hosts/node/digital";
