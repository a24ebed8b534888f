// The provisioning record (firmware/provision/record.ts): layout pinned field by field, round trips, and a reader
// that never throws and never mounts a damaged image.
import fc from "fast-check";
import { bytesToHex, hexToBytes } from "../firmware/hex";
import { BOARDS } from "../firmware/provision/board";
import { crc32 } from "../firmware/provision/crc32";
import {
  decodeProvision,
  encodeProvision,
  KEYPAD_LINES,
  keypadsFor,
  RECORD_LENGTH,
  type ProvisionRecord,
} from "../firmware/provision/record";
import { XsProbe } from "../hosts/xsnap/engine";
import { readImages } from "./probes/provision.probe";

const KEY = hexToBytes("000102030405060708090a0b0c0d0e0f");
const PINS = { keypad: [1, 2, 3, 4, 5, 6, 7], load: 8, led: 9, buzzer: null };
const OPG: ProvisionRecord = {
  protocol: "openpaygo",
  deviceId: 0x12345678,
  key: KEY,
  startingCode: 123456789,
  timeDivider: 24,
  extended: true,
  restricted: false,
  board: "esp32",
  keypad: "matrix-4x3",
  pins: PINS,
};

/** A valid record of any protocol, keypad, board and pin map. */
const arbRecord: fc.Arbitrary<ProvisionRecord> = fc
  .record({
    protocol: fc.constantFrom("openpaygo" as const, "nexus-full" as const, "nexus-small" as const),
    deviceId: fc.integer({ min: 0, max: 0xffffffff }),
    key: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    board: fc.constantFrom("esp32" as const, "nrf52" as const),
    startingCode: fc.integer({ min: 0, max: 999_999_999 }),
    timeDivider: fc.integer({ min: 1, max: 255 }),
    extended: fc.boolean(),
    restricted: fc.boolean(),
    keypadChoice: fc.nat(),
    pins: fc.uniqueArray(fc.integer({ min: 0, max: 254 }), { minLength: 10, maxLength: 10 }),
    buzzer: fc.boolean(),
  })
  .map((a) => {
    const keypads = keypadsFor(a.protocol, a.restricted);
    const keypad = keypads[a.keypadChoice % keypads.length];
    const pins = {
      keypad: a.pins.slice(0, KEYPAD_LINES[keypad]),
      load: a.pins[7],
      led: a.pins[8],
      buzzer: a.buzzer ? a.pins[9] : null,
    };
    const base = { deviceId: a.deviceId, key: a.key, board: a.board, keypad, pins };
    if (a.protocol === "openpaygo")
      return {
        ...base,
        protocol: a.protocol,
        startingCode: a.startingCode,
        timeDivider: a.timeDivider,
        extended: a.extended,
        restricted: a.restricted,
      };
    if (a.protocol === "nexus-small") return { ...base, protocol: a.protocol, extendedSmallMessage: a.extended };
    return { ...base, protocol: a.protocol };
  });

describe("CRC-32", () => {
  it("has the ISO-HDLC check value", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });
});

describe("provisioning record layout (format v1)", () => {
  const image = encodeProvision(OPG);
  const u32 = (at: number) => new DataView(image.buffer).getUint32(at, true);

  it("is 64 bytes with magic SKPR, version 1, length 64", () => {
    expect(image.length).toBe(RECORD_LENGTH);
    expect(new TextDecoder().decode(image.subarray(0, 4))).toBe("SKPR");
    expect([image[4], image[5]]).toEqual([1, 64]);
  });

  it("puts each field at its documented offset", () => {
    expect(image[6]).toBe(1); // protocol openpaygo
    expect(image[7]).toBe(1); // flags: extended
    expect(u32(8)).toBe(0x12345678);
    expect(bytesToHex(image.subarray(12, 28))).toBe("000102030405060708090a0b0c0d0e0f");
    expect(u32(28)).toBe(123456789);
    expect(image[32]).toBe(24);
    expect(image[33]).toBe(1); // matrix-4x3
    expect(image[34]).toBe(BOARDS.esp32.id);
    expect(Array.from(image.subarray(36, 44))).toEqual([1, 2, 3, 4, 5, 6, 7, 0xff]);
    expect([image[44], image[45], image[46]]).toEqual([8, 9, 0xff]);
    expect(Array.from(image.subarray(47, 60)).every((b) => b === 0) && image[35] === 0).toBe(true);
    expect(u32(60)).toBe(crc32(image.subarray(0, 60)));
  });

  it("codes protocols, flags and keypads as documented", () => {
    const small = encodeProvision({
      ...OPG,
      protocol: "nexus-small",
      keypad: "buttons-5",
      extendedSmallMessage: true,
      pins: { keypad: [1, 2, 3, 4, 5], load: 8, led: 9, buzzer: 10 },
    } as ProvisionRecord);
    expect([small[6], small[7], small[32], small[33], small[46]]).toEqual([3, 4, 0, 3, 10]);
    expect(new DataView(small.buffer).getUint32(28, true)).toBe(0);
    const restricted = encodeProvision({
      ...OPG,
      restricted: true,
      extended: false,
      keypad: "buttons-4",
      board: "nrf52",
      pins: { keypad: [1, 2, 3, 4], load: 8, led: 9, buzzer: null },
    });
    expect([restricted[6], restricted[7], restricted[33], restricted[34]]).toEqual([1, 2, 2, BOARDS.nrf52.id]);
    expect(encodeProvision({ ...OPG, protocol: "nexus-full" } as ProvisionRecord)[6]).toBe(2);
  });

  it("mounts an image written by format v1 (golden image: older images must keep mounting)", () => {
    const golden =
      "534b5052014001017856341200010203040506070809" +
      "0a0b0c0d0e0f15cd5b0718010100010203040506" +
      "07ff0809ff00000000000000000000000000";
    const withCrc = hexToBytes(golden + "00000000");
    new DataView(withCrc.buffer).setUint32(60, crc32(withCrc, 60), true);
    const read = decodeProvision(withCrc);
    expect(read).toEqual({ kind: "provisioned", record: OPG });
  });
});

describe("provisioning reader", () => {
  it("round-trips every valid record", () => {
    fc.assert(
      fc.property(arbRecord, (record) => {
        expect(decodeProvision(encodeProvision(record))).toEqual({ kind: "provisioned", record });
      }),
    );
  });

  it("mounts a record at the start of a whole erased sector", () => {
    const sector = new Uint8Array(4096).fill(0xff);
    sector.set(encodeProvision(OPG));
    expect(decodeProvision(sector)).toEqual({ kind: "provisioned", record: OPG });
  });

  it("reads erased flash as blank, not corrupt", () => {
    expect(decodeProvision(new Uint8Array(4096).fill(0xff))).toEqual({ kind: "blank" });
    expect(decodeProvision(new Uint8Array(64).fill(0xff))).toEqual({ kind: "blank" });
  });

  it("refuses every single-bit flip of a valid image", () => {
    fc.assert(
      fc.property(arbRecord, fc.integer({ min: 0, max: RECORD_LENGTH * 8 - 1 }), (record, bit) => {
        const image = encodeProvision(record);
        image[bit >> 3] ^= 1 << (bit & 7);
        expect(decodeProvision(image).kind).toBe("corrupt");
      }),
    );
  });

  it("never throws and never mounts random garbage", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(decodeProvision(bytes).kind).not.toBe("provisioned");
      }),
      { numRuns: 5000 },
    );
  });

  it("refuses garbage with a valid CRC (a record the encoder would never write)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (bytes) => {
        bytes.set([0x53, 0x4b, 0x50, 0x52, 1, 64]);
        new DataView(bytes.buffer).setUint32(60, crc32(bytes, 60), true);
        const read = decodeProvision(bytes);
        if (read.kind === "provisioned") expect(decodeProvision(encodeProvision(read.record))).toEqual(read);
        else expect(read.kind).toBe("corrupt");
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ["a string", "534b"],
    ["null", null],
    ["an array", [0x53, 0x4b, 0x50, 0x52]],
    ["undefined", undefined],
    ["a truncated record", encodeProvision(OPG).subarray(0, 40)],
    ["an empty array", new Uint8Array(0)],
  ])("reads %s as corrupt with a reason", (_name, value) => {
    const read = decodeProvision(value);
    expect(read.kind).toBe("corrupt");
    expect(read.kind === "corrupt" && read.reason.length > 0).toBe(true);
  });

  it("gives the same reads inside XS as under Node", async () => {
    const images = fc.sample(arbRecord, { numRuns: 20, seed: 7 }).map((r) => bytesToHex(encodeProvision(r)));
    images.push("ff".repeat(64), "00".repeat(64), bytesToHex(encodeProvision(OPG)).replace(/^53/, "54"));
    const xs = await XsProbe.load("test/probes/provision.probe.ts");
    try {
      const { result } = await xs.call<unknown[]>("readImages", images);
      expect(result).toEqual(readImages(images));
    } finally {
      await xs.close();
    }
  });
});

describe("provisioning encoder", () => {
  it.each<[string, Partial<ProvisionRecord> | Record<string, unknown>, ErrorConstructor, string]>([
    ["a 15-byte key", { key: new Uint8Array(15) }, RangeError, `"key" expected 16 bytes, got 15`],
    ["a string key", { key: "00" }, TypeError, `"key" expected Uint8Array`],
    ["a device id past 32 bits", { deviceId: 2 ** 32 }, RangeError, `"deviceId" expected 0..4294967295`],
    ["a 10-digit starting code", { startingCode: 1_000_000_000 }, RangeError, `"startingCode" expected 0..999999999`],
    ["time divider 0", { timeDivider: 0 }, RangeError, `"timeDivider" expected 1..255, got 0`],
    [
      "a keypad that cannot type digits",
      { keypad: "buttons-5", pins: { ...PINS, keypad: [1, 2, 3, 4, 5] } },
      RangeError,
      "cannot type",
    ],
    ["too few keypad pins", { pins: { ...PINS, keypad: [1, 2] } }, RangeError, `"pins.keypad" expected 7 pins`],
    ["one pin used twice", { pins: { ...PINS, led: 8 } }, RangeError, "distinct GPIOs"],
    ["an unknown board", { board: "stm32" }, RangeError, `"board" expected esp32 or nrf52`],
  ])("refuses %s", (_name, change, type, message) => {
    expect(() => encodeProvision({ ...OPG, ...change } as ProvisionRecord)).toThrow(type);
    expect(() => encodeProvision({ ...OPG, ...change } as ProvisionRecord)).toThrow(message);
  });
});
