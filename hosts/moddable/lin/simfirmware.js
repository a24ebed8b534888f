// hosts/node/simfirmware on the lin build: the same exports, from the firmware's Moddable module names.
// test/moddable-manifest.test.ts checks that both files export the same names.
export { mountedDevice } from "ledger/codec";
export { start } from "main";
export { BOARDS } from "provision/board";
export { deviceProtocol } from "provision/protocol";
export { decodeProvision, encodeProvision } from "provision/record";
export { encodeFull } from "protocols/nexus/full";
export { encodeSmall } from "protocols/nexus/small";
export { TokenIssuer } from "protocols/openpaygo/encoder";
export { CHIPS, regionStatus } from "storage/flash";
export { Journal } from "storage/journal";
