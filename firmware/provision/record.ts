// The provisioning record: the per-device facts written once at the factory (id, protocol, secret, keypad, pins)
// and read by the firmware at boot. Format v1, specified here and pinned by test/provision.test.ts.
//
// All integers little-endian. Blank flash reads 0xFF. CRC-32/ISO-HDLC (crc32.ts) over every byte before the CRC.
//
//   offset size field
//   0      4    magic          "SKPR" (53 4B 50 52)
//   4      1    version        1
//   5      1    length         64: bytes in the record, CRC included
//   6      1    protocol       1 openpaygo, 2 nexus-full, 3 nexus-small
//   7      1    flags          bit 0 OpenPAYGO extended (12-digit) tokens, bit 1 OpenPAYGO restricted digits (keys
//                              1-4), bit 2 Nexus small "set credit + clear restricted flag" message; other bits 0
//   8      4    deviceId       u32, the id a Nexus device displays and that the factory database keys on
//   12     16   key            the device secret (SipHash-2-4 key of both protocols)
//   28     4    startingCode   OpenPAYGO starting code 0..999,999,999; 0 for Nexus
//   32     1    timeDivider    OpenPAYGO value units per day 1..255; 0 for Nexus
//   33     1    keypad         1 matrix-4x3 (0-9 * #), 2 buttons-4 (keys 1-4), 3 buttons-5 (keys 1-5)
//   34     1    board          board id (board.ts): 1 esp32, 2 nrf52
//   35     1    reserved       0
//   36     8    keypadPins     GPIO per keypad line: matrix rows 1-4 then columns 1-3; buttons key 1 first;
//                              unused slots 0xFF
//   44     1    loadPin        GPIO of the load switch
//   45     1    ledPin         GPIO of the feedback LED
//   46     1    buzzerPin      GPIO of the buzzer, 0xFF for none
//   47     13   reserved       0
//   60     4    crc            CRC-32 of bytes 0..59
//
// Versions: a new field goes into reserved bytes or after them with a new version and length; the reader keeps
// reading every older version (an image written for old firmware still mounts on new firmware).

import { expectBytes, expectInt } from "../assert";
import { BOARDS, boardById, type BoardName } from "./board";
import { crc32 } from "./crc32";

export type ProtocolName = "openpaygo" | "nexus-full" | "nexus-small";
export type KeypadType = "matrix-4x3" | "buttons-4" | "buttons-5";

/** GPIO numbers 0..254; 0xFF in flash means "none". */
export interface PinMap {
  /** One pin per keypad line, `KEYPAD_LINES[keypad]` of them. */
  readonly keypad: readonly number[];
  readonly load: number;
  readonly led: number;
  readonly buzzer: number | null;
}

interface DeviceRecord {
  readonly deviceId: number;
  readonly key: Uint8Array;
  readonly board: BoardName;
  readonly keypad: KeypadType;
  readonly pins: PinMap;
}

export interface OpenPaygoRecord extends DeviceRecord {
  readonly protocol: "openpaygo";
  readonly startingCode: number;
  readonly timeDivider: number;
  readonly extended: boolean;
  readonly restricted: boolean;
}

export interface NexusFullRecord extends DeviceRecord {
  readonly protocol: "nexus-full";
}

export interface NexusSmallRecord extends DeviceRecord {
  readonly protocol: "nexus-small";
  /** The extended small message (2 ID bits, about 1 in 256 guesses accepted): off unless a product needs it. */
  readonly extendedSmallMessage: boolean;
}

export type ProvisionRecord = OpenPaygoRecord | NexusFullRecord | NexusSmallRecord;

/**
 * What the firmware finds at boot. `blank`: never provisioned (all 0xFF). `corrupt`: anything else that is not a
 * valid record; the device keeps its load off and shows the not-provisioned pattern in both cases.
 */
export type ProvisionRead =
  | { readonly kind: "provisioned"; readonly record: ProvisionRecord }
  | { readonly kind: "blank" }
  | { readonly kind: "corrupt"; readonly reason: string };

export const RECORD_VERSION = 1;
export const RECORD_LENGTH = 64;
export const MAGIC = 0x52504b53; // "SKPR" read as a little-endian u32
export const NO_PIN = 0xff;
export const KEYPAD_LINES: Readonly<Record<KeypadType, number>> = Object.freeze({
  "matrix-4x3": 7,
  "buttons-4": 4,
  "buttons-5": 5,
});
export const MAX_STARTING_CODE = 999_999_999;

const PROTOCOL_CODES: readonly ProtocolName[] = Object.freeze(["openpaygo", "nexus-full", "nexus-small"]); // byte = index + 1
const KEYPAD_CODES: readonly KeypadType[] = Object.freeze(["matrix-4x3", "buttons-4", "buttons-5"]); // byte = index + 1
const FLAG_EXTENDED = 1;
const FLAG_RESTRICTED = 2;
const FLAG_EXTENDED_SMALL = 4;
const CRC_OFFSET = 60;

/** The image of `record`: 64 bytes ready for flash. Throws TypeError/RangeError on a record the reader would refuse. */
export function encodeProvision(record: ProvisionRecord): Uint8Array {
  _expectShape(record);
  const problem = _problem(record);
  if (problem !== null) throw new RangeError(problem);
  const out = new Uint8Array(RECORD_LENGTH);
  _u32(out, 0, MAGIC);
  out[4] = RECORD_VERSION;
  out[5] = RECORD_LENGTH;
  out[6] = PROTOCOL_CODES.indexOf(record.protocol) + 1;
  _u32(out, 8, record.deviceId);
  out.set(record.key, 12);
  if (record.protocol === "openpaygo") {
    out[7] = (record.extended ? FLAG_EXTENDED : 0) | (record.restricted ? FLAG_RESTRICTED : 0);
    _u32(out, 28, record.startingCode);
    out[32] = record.timeDivider;
  } else if (record.protocol === "nexus-small") {
    out[7] = record.extendedSmallMessage ? FLAG_EXTENDED_SMALL : 0;
  }
  out[33] = KEYPAD_CODES.indexOf(record.keypad) + 1;
  out[34] = BOARDS[record.board].id;
  out.fill(NO_PIN, 36, 44);
  record.pins.keypad.forEach((pin, i) => (out[36 + i] = pin));
  out[44] = record.pins.load;
  out[45] = record.pins.led;
  out[46] = record.pins.buzzer === null ? NO_PIN : record.pins.buzzer;
  _u32(out, CRC_OFFSET, crc32(out, CRC_OFFSET));
  return out;
}

/**
 * Reads the record at the start of `image` (the provisioning area as read from flash; longer is fine). Total:
 * garbage of any kind, including a non-Uint8Array, is `corrupt` with a reason, never an exception.
 */
export function decodeProvision(image: unknown): ProvisionRead {
  if (!(image instanceof Uint8Array)) return { kind: "corrupt", reason: "not bytes" };
  if (image.length < 8) return { kind: "corrupt", reason: `${image.length} bytes, shorter than a header` };
  let blank = true;
  for (let i = 0; i < RECORD_LENGTH && i < image.length; i++) if (image[i] !== 0xff) blank = false;
  if (blank) return { kind: "blank" };
  if (_readU32(image, 0) !== MAGIC) return { kind: "corrupt", reason: "bad magic" };
  if (image[4] !== RECORD_VERSION) return { kind: "corrupt", reason: `unknown version ${image[4]}` };
  if (image[5] !== RECORD_LENGTH || image.length < RECORD_LENGTH)
    return { kind: "corrupt", reason: `length ${image[5]} in a ${image.length}-byte image` };
  if (_readU32(image, CRC_OFFSET) !== crc32(image, CRC_OFFSET)) return { kind: "corrupt", reason: "bad CRC" };
  const protocol = PROTOCOL_CODES[image[6] - 1];
  const keypad = KEYPAD_CODES[image[33] - 1];
  const board = boardById(image[34]);
  if (protocol === undefined) return { kind: "corrupt", reason: `unknown protocol ${image[6]}` };
  if (keypad === undefined) return { kind: "corrupt", reason: `unknown keypad ${image[33]}` };
  if (board === undefined) return { kind: "corrupt", reason: `unknown board ${image[34]}` };
  const flags = image[7];
  const allowed =
    protocol === "openpaygo" ? FLAG_EXTENDED | FLAG_RESTRICTED : protocol === "nexus-small" ? FLAG_EXTENDED_SMALL : 0;
  if ((flags & ~allowed) !== 0) return { kind: "corrupt", reason: `flags ${flags} not defined for ${protocol}` };
  const startingCode = _readU32(image, 28);
  const timeDivider = image[32];
  if (protocol !== "openpaygo" && (startingCode !== 0 || timeDivider !== 0))
    return { kind: "corrupt", reason: "OpenPAYGO fields set in a Nexus record" };
  if (image[35] !== 0) return _reserved(35);
  for (let i = 47; i < CRC_OFFSET; i++) if (image[i] !== 0) return _reserved(i);
  const lines = KEYPAD_LINES[keypad];
  const keypadPins: number[] = [];
  for (let i = 0; i < 8; i++) {
    const pin = image[36 + i];
    if (i < lines) keypadPins.push(pin);
    else if (pin !== NO_PIN) return { kind: "corrupt", reason: `keypad pin slot ${i} set for a ${keypad} keypad` };
  }
  const buzzer = image[46] === NO_PIN ? null : image[46];
  const base = {
    deviceId: _readU32(image, 8),
    key: image.slice(12, 28),
    board: board.name,
    keypad,
    pins: { keypad: keypadPins, load: image[44], led: image[45], buzzer },
  };
  const record: ProvisionRecord =
    protocol === "openpaygo"
      ? {
          ...base,
          protocol,
          startingCode,
          timeDivider,
          extended: (flags & FLAG_EXTENDED) !== 0,
          restricted: (flags & FLAG_RESTRICTED) !== 0,
        }
      : protocol === "nexus-small"
        ? { ...base, protocol, extendedSmallMessage: (flags & FLAG_EXTENDED_SMALL) !== 0 }
        : { ...base, protocol };
  const problem = _problem(record);
  return problem === null ? { kind: "provisioned", record } : { kind: "corrupt", reason: problem };
}

/** The keypad types a protocol can be typed on: digits and `*#` need the matrix; a few buttons suffice for the rest. */
export function keypadsFor(protocol: ProtocolName, restricted: boolean): readonly KeypadType[] {
  if (protocol === "nexus-small") return ["buttons-5", "matrix-4x3"];
  if (protocol === "openpaygo" && restricted) return ["buttons-4", "matrix-4x3"];
  return ["matrix-4x3"];
}

/** Why a well-typed record is not one the firmware accepts, or null. Shared by the encoder and the reader. */
function _problem(r: ProvisionRecord): string | null {
  if (r.protocol === "openpaygo") {
    if (r.startingCode > MAX_STARTING_CODE)
      return `"startingCode" expected 0..${MAX_STARTING_CODE}, got ${r.startingCode}`;
    if (r.timeDivider < 1) return `"timeDivider" expected 1..255, got ${r.timeDivider}`;
  }
  const restricted = r.protocol === "openpaygo" && r.restricted;
  if (!keypadsFor(r.protocol, restricted).includes(r.keypad))
    return `"keypad" ${r.keypad} cannot type ${r.protocol}${restricted ? " restricted" : ""} codes`;
  const pins = [...r.pins.keypad, r.pins.load, r.pins.led, ...(r.pins.buzzer === null ? [] : [r.pins.buzzer])];
  if (pins.some((pin) => pin === NO_PIN)) return `"pins" expected GPIO numbers 0..254, got ${NO_PIN}`;
  if (new Set(pins).size !== pins.length) return `"pins" expected distinct GPIOs, got ${pins.join(",")}`;
  return null;
}

/** Type and range checks of the encoder's argument: what TypeScript cannot promise a caller from JavaScript. */
function _expectShape(r: ProvisionRecord): void {
  if (typeof r !== "object" || r === null) throw new TypeError(`"record" expected an object, got ${r}`);
  if (!PROTOCOL_CODES.includes(r.protocol)) throw new RangeError(`"protocol" expected one of ${PROTOCOL_CODES}`);
  if (!KEYPAD_CODES.includes(r.keypad)) throw new RangeError(`"keypad" expected one of ${KEYPAD_CODES}`);
  if (!Object.prototype.hasOwnProperty.call(BOARDS, r.board)) throw new RangeError(`"board" expected esp32 or nrf52`);
  expectInt(r.deviceId, 0, 0xffffffff, "deviceId");
  expectBytes(r.key, 16, "key");
  if (r.protocol === "openpaygo") {
    expectInt(r.startingCode, 0, 0xffffffff, "startingCode");
    expectInt(r.timeDivider, 0, 255, "timeDivider");
    if (typeof r.extended !== "boolean" || typeof r.restricted !== "boolean")
      throw new TypeError(`"extended" and "restricted" expected booleans`);
  } else if (r.protocol === "nexus-small" && typeof r.extendedSmallMessage !== "boolean") {
    throw new TypeError(`"extendedSmallMessage" expected a boolean`);
  }
  const lines = KEYPAD_LINES[r.keypad];
  if (!Array.isArray(r.pins?.keypad) || r.pins.keypad.length !== lines)
    throw new RangeError(`"pins.keypad" expected ${lines} pins for ${r.keypad}, got ${r.pins?.keypad?.length}`);
  r.pins.keypad.forEach((pin) => expectInt(pin, 0, 255, "pins.keypad"));
  expectInt(r.pins.load, 0, 255, "pins.load");
  expectInt(r.pins.led, 0, 255, "pins.led");
  if (r.pins.buzzer !== null) expectInt(r.pins.buzzer, 0, 255, "pins.buzzer");
}

function _reserved(offset: number): ProvisionRead {
  return { kind: "corrupt", reason: `reserved byte ${offset} not zero` };
}

function _u32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value & 0xff;
  out[offset + 1] = (value >>> 8) & 0xff;
  out[offset + 2] = (value >>> 16) & 0xff;
  out[offset + 3] = (value >>> 24) & 0xff;
}

function _readU32(b: Uint8Array, offset: number): number {
  return (b[offset] | (b[offset + 1] << 8) | (b[offset + 2] << 16) | (b[offset + 3] << 24)) >>> 0;
}
