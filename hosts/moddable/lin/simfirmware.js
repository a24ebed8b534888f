// hosts/node/simfirmware on the lin build: the same exports, from the firmware's Moddable module names.
// test/moddable-manifest.test.ts checks that both files export the same names. `start` (the firmware's boot) runs as
// an entry of the firmware for stackmeter.js, as Moddable's main() starts it on a chip.
import { start as firmwareStart } from "main";
import { entry } from "hosts/moddable/lin/stackmeter";

const start = (...args) => entry(firmwareStart, undefined, args);
export { start };
export { mountedDevice } from "ledger/codec";
export { BOARDS } from "provision/board";
export { deviceProtocol } from "provision/protocol";
export { decodeProvision, encodeProvision } from "provision/record";
export { encodeFull } from "protocols/nexus/full";
export { encodeSmall } from "protocols/nexus/small";
export { TokenIssuer } from "protocols/openpaygo/encoder";
export { CHIPS, regionStatus } from "storage/flash";
export { Journal } from "storage/journal";
