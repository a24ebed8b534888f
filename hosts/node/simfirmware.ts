// The firmware the simulator drives, re-exported in one place. Under Node and xsnap it is firmware/ itself; Moddable's
// lin build maps this module to hosts/moddable/lin/simfirmware.js, which takes the same names from the firmware's
// Moddable module names ("main", "provision/record", ...): relative paths into firmware/ cannot reach those.
export type { DeviceEvent } from "../../firmware/controller";
export { mountedDevice } from "../../firmware/ledger/codec";
export { start, type Device } from "../../firmware/main";
export { BOARDS, type BoardName } from "../../firmware/provision/board";
export { deviceProtocol } from "../../firmware/provision/protocol";
export { decodeProvision, encodeProvision, type ProvisionRecord } from "../../firmware/provision/record";
export { encodeFull } from "../../firmware/protocols/nexus/full";
export { encodeSmall } from "../../firmware/protocols/nexus/small";
export type { NexusState } from "../../firmware/protocols/nexus/window";
export { TokenIssuer } from "../../firmware/protocols/openpaygo/encoder";
export type { OpenPaygoState } from "../../firmware/protocols/openpaygo/replay";
export { CHIPS, regionStatus, type FlashStatus, type NorFlash } from "../../firmware/storage/flash";
export { Journal } from "../../firmware/storage/journal";
