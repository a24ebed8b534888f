// The journal (firmware/storage/journal.ts): record layout pinned, mount outcomes, rotation, errors, and fuzzed
// garbage that must never throw, never invent a state and never look factory-fresh.
import { TEST_JOURNAL } from "./journal.helpers";
import fc from "fast-check";
import { regionStatus, ESP32, NRF52, type ChipProfile } from "../firmware/storage/flash";
import {
  encodeRecordV1,
  FORMAT_VERSION,
  Journal,
  JournalError,
  MAX_PAYLOAD,
  packedBytes,
  recordBytes,
  type Mounted,
} from "../firmware/storage/journal";
import { bytesToHex, hexToBytes } from "../firmware/hex";
import { NorSim, TEARS, PowerCut } from "../hosts/node/nor";
import { NOT_BYTES } from "./bad-inputs";
import { XsProbe } from "../hosts/xsnap/engine";
import { tortureRun } from "../tools/probes/storage.probe";

const sim = (chip: ChipProfile = NRF52, blocks = 2) => new NorSim({ chip, blocks });
const bytes = (...values: number[]) => Uint8Array.from(values);
const payloadOf = (m: Mounted) => (m.kind === "record" ? bytesToHex(m.payload) : m.kind);

describe("record layout v1 (docs/SPEC.md)", () => {
  // Golden image: magic 4a, version 01, length 0003, sequence 00000007, payload a1b2c3, pad 00, CRC-32 LE
  // (checked with Python: struct.pack("<I", zlib.crc32(bytes.fromhex("4a01030007000000a1b2c300")))).
  const GOLDEN = "4a01030007000000a1b2c300b7242752";

  it("places magic, version, length, sequence, payload, padding and CRC at their offsets", () => {
    const record = encodeRecordV1(bytes(0xa1, 0xb2, 0xc3), 7, 4);
    expect(bytesToHex(record)).toBe(GOLDEN);
    expect(record[0]).toBe(0x4a);
    expect(record[1]).toBe(1);
    expect(record[2] | (record[3] << 8)).toBe(3);
    expect(new DataView(record.buffer).getUint32(4, true)).toBe(7);
  });

  it("mounts an image written by format v1", () => {
    const flash = sim();
    flash.write(hexToBytes(GOLDEN), 0);
    expect(Journal.mount(flash, TEST_JOURNAL).mounted).toEqual({
      kind: "record",
      payload: bytes(0xa1, 0xb2, 0xc3),
      sequence: 7,
      minutes: 0,
    });
  });

  it.each([
    [0, 4, 12],
    [3, 4, 16],
    [4, 4, 16],
    [256, 4, 268],
    [3, 16, 16],
    [5, 16, 32],
  ])("a %i-byte payload takes %i-aligned %i bytes", (length, alignment, size) => {
    expect(recordBytes(length, alignment)).toBe(size);
    expect(encodeRecordV1(new Uint8Array(length), 1, alignment).length).toBe(size);
  });
});

describe("mount", () => {
  it("finds a fully erased region fresh and writes nothing", () => {
    const flash = sim();
    expect(Journal.mount(flash, TEST_JOURNAL).mounted).toEqual({ kind: "fresh" });
    expect(flash.mutations).toBe(0);
  });

  it("leaves an unprovisioned journal fresh, corrupt or written when its very first append is cut", () => {
    const seen = new Set<string>();
    for (const tear of TEARS) {
      for (const k of [1, 2]) {
        const flash = new NorSim({ chip: NRF52, blocks: 2, seed: k });
        flash.cut(k, tear);
        expect(() => Journal.mount(flash, TEST_JOURNAL).append(bytes(7, 7, 7))).toThrow(PowerCut);
        flash.powerOn();
        const kind = payloadOf(Journal.mount(flash, TEST_JOURNAL).mounted);
        expect(["fresh", "corrupt", "070707"]).toContain(kind);
        seen.add(kind);
      }
    }
    // Why provisioning writes the first record (ARCHITECTURE.md, Journal): a torn first append can lock the device.
    expect(seen.has("corrupt")).toBe(true);
  });

  it("returns the newest record after many rotations, and boot erases nothing", () => {
    const flash = sim(NRF52, 3);
    let journal = Journal.mount(flash, TEST_JOURNAL);
    for (let i = 1; i <= 500; i++) journal.append(bytes(i & 0xff, i >> 8, 0x55));
    const before = flash.mutations;
    journal = Journal.mount(flash, TEST_JOURNAL);
    expect(journal.mounted).toEqual({
      kind: "record",
      payload: bytes(500 & 0xff, 500 >> 8, 0x55),
      sequence: 500,
      minutes: 0,
    });
    expect(flash.mutations).toBe(before);
    // Round-robin rotation spreads the erases over every block.
    const erases = [...flash.image.blockErases];
    expect(Math.max(...erases) - Math.min(...erases)).toBeLessThanOrEqual(1);
  });

  it("finds content without a valid record corrupt, and refuses to append to it", () => {
    const flash = sim();
    flash.write(bytes(0x4a, 0x01, 0x03, 0x00), 4096 + 8);
    const journal = Journal.mount(flash, TEST_JOURNAL);
    expect(journal.mounted).toEqual({ kind: "corrupt" });
    expect(() => journal.append(bytes(1))).toThrow(JournalError);
    expect(() => journal.append(bytes(1))).toThrow(/state unchanged, the device stays locked/);
    expect(flash.mutations).toBe(1);
  });

  it("recovers a corrupt region with format, which leaves exactly the given record", () => {
    const flash = sim();
    flash.write(bytes(0, 0, 0, 0), 100);
    const journal = Journal.format(flash, bytes(9, 9), TEST_JOURNAL);
    expect(journal.mounted).toEqual({ kind: "record", payload: bytes(9, 9), sequence: 1, minutes: 0 });
    journal.append(bytes(8));
    expect(payloadOf(Journal.mount(flash, TEST_JOURNAL).mounted)).toBe("08");
  });

  it("stays locked (corrupt) when the newest record has a format version it does not know", () => {
    const flash = sim();
    const journal = Journal.mount(flash, TEST_JOURNAL);
    journal.append(bytes(1));
    const future = encodeRecordV1(bytes(2), 2, 4);
    future[1] = FORMAT_VERSION + 1;
    const view = new DataView(future.buffer);
    view.setUint32(future.length - 4, crc(future.subarray(0, future.length - 4)), true);
    flash.write(future, packedBytes(1));
    expect(Journal.mount(flash, TEST_JOURNAL).mounted).toEqual({ kind: "corrupt" });
  });

  it("writes past a torn append, and the word after it, instead of over its bits", () => {
    const flash = sim();
    Journal.mount(flash, TEST_JOURNAL).append(bytes(1, 2, 3));
    flash.cut(1, "subset");
    expect(() => Journal.mount(flash, TEST_JOURNAL).append(bytes(4, 5, 6))).toThrow(PowerCut);
    flash.powerOn();
    const torn = flash.image.bytes.slice(0, 4096);
    const journal = Journal.mount(flash, TEST_JOURNAL);
    expect(payloadOf(journal.mounted)).toBe("010203");
    journal.append(bytes(7));
    expect(payloadOf(Journal.mount(flash, TEST_JOURNAL).mounted)).toBe("07");
    // Every torn byte is as the cut left it, the record went after the last of them and a word more (I3), and
    // no word was written twice (strict nRF52 simulator).
    let tornEnd = torn.length;
    while (tornEnd > 0 && torn[tornEnd - 1] === 0xff) tornEnd--;
    expect(tornEnd).toBeGreaterThan(packedBytes(3));
    expect(flash.image.bytes.slice(0, tornEnd)).toEqual(torn.slice(0, tornEnd));
    expect(flash.image.bytes.slice(tornEnd, tornEnd + 4).every((b) => b === 0xff)).toBe(true);
    expect(Math.max(...flash.image.wordWrites)).toBe(1);
  });

  it("finds the records after a damaged one (a torn header or bit rot cannot hide newer records)", () => {
    const flash = sim();
    const journal = Journal.mount(flash, TEST_JOURNAL);
    for (let i = 1; i <= 5; i++) journal.append(bytes(i, i, i, i));
    const size = packedBytes(4);
    flash.image.bytes[size + 2] = 0x00; // record 2's length field: 4 -> 0 (a different, invalid record)
    flash.image.bytes[4 * size + 24] ^= 0x10; // bit rot in record 5's payload (logical bits 186..193)
    expect(payloadOf(Journal.mount(flash, TEST_JOURNAL).mounted)).toBe("04040404");
  });

  it("keeps newer records when an older one in the same block later reads back wrong (weak cells)", () => {
    const flash = sim();
    const journal = Journal.mount(flash, TEST_JOURNAL);
    for (let i = 1; i <= 4; i++) journal.append(bytes(i, i, i, i));
    flash.image.unstable.fill(0xff, packedBytes(4), 2 * packedBytes(4)); // record 2 turns weak after it was verified
    expect(payloadOf(Journal.mount(flash, TEST_JOURNAL).mounted)).toBe("04040404");
  });

  it("rewrites a record that does not read back (weak bits) in the next block", () => {
    const flash = sim();
    const journal = Journal.mount(flash, TEST_JOURNAL);
    journal.append(bytes(1));
    // Weak bits where the next record goes: it programs, but does not read back as written.
    flash.image.unstable.fill(0xff, packedBytes(1), packedBytes(1) + 12);
    journal.append(bytes(2, 2, 2, 2, 2, 2, 2, 2));
    expect(flash.image.blockErases[1]).toBe(1);
    expect(payloadOf(Journal.mount(flash, TEST_JOURNAL).mounted)).toBe("0202020202020202");
  });
});

describe("append", () => {
  it.each([0, 1, 255, 256, MAX_PAYLOAD])("stores a %i-byte payload", (length) => {
    const flash = sim(ESP32);
    const payload = Uint8Array.from({ length }, (_, i) => (i * 7) & 0xff);
    Journal.mount(flash, TEST_JOURNAL).append(payload);
    expect(Journal.mount(flash, TEST_JOURNAL).mounted).toEqual({ kind: "record", payload, sequence: 1, minutes: 0 });
  });

  it(`rejects a payload over ${MAX_PAYLOAD} bytes with a RangeError`, () => {
    expect(() => Journal.mount(sim(), TEST_JOURNAL).append(new Uint8Array(MAX_PAYLOAD + 1))).toThrow(
      new RangeError(`"payload.length" expected 0..${MAX_PAYLOAD}, got ${MAX_PAYLOAD + 1}`),
    );
  });

  it.each(NOT_BYTES.map((value) => [String(value), value]))(
    "rejects %s as payload with a TypeError",
    (_name, value) => {
      expect(() => Journal.mount(sim(), TEST_JOURNAL).append(value as Uint8Array)).toThrow(TypeError);
    },
  );

  it("keeps the caller's buffer out of the journal (a later change to it is not the state)", () => {
    const flash = sim();
    const payload = bytes(1, 2);
    const journal = Journal.mount(flash, TEST_JOURNAL);
    journal.append(payload);
    payload[0] = 9;
    expect(payloadOf(journal.mounted)).toBe("0102");
  });

  it("writes each word at most once between erases on nRF52 (strict simulator)", () => {
    const flash = sim(NRF52, 2);
    const journal = Journal.mount(flash, TEST_JOURNAL);
    for (let i = 0; i < 1000; i++) journal.append(new Uint8Array(40).fill(i & 0xff));
    expect(Math.max(...flash.image.wordWrites)).toBe(1);
  });

  it("refuses a region of fewer than two blocks", () => {
    const flash = sim();
    const one = { ...flash, status: () => regionStatus(NRF52, 1) } as unknown as NorSim;
    expect(() => Journal.mount(one, TEST_JOURNAL)).toThrow(new RangeError(`"status.blocks" expected 2..65535, got 1`));
  });
});

describe("fuzzed flash images", () => {
  const SIZE = 2 * 4096;

  it("never throws on random images, never yields a record (no credit: the device locks), never looks fresh", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: SIZE, maxLength: SIZE }), fc.nat(SIZE), (image, erasedFrom) => {
        const flash = sim();
        flash.image.bytes.set(image);
        flash.image.bytes.fill(0xff, erasedFrom); // often with an erased tail, like a real journal
        const erased = flash.image.bytes.every((b) => b === 0xff);
        return Journal.mount(flash, TEST_JOURNAL).mounted.kind === (erased ? "fresh" : "corrupt");
      }),
      { numRuns: 200 },
    );
  });

  it("never throws on arbitrary bytes, and is fresh only when every byte is erased", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(SIZE - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 64 }),
        (pokes) => {
          const flash = sim();
          for (const [at, value] of pokes) flash.image.bytes[at] = value;
          const erased = flash.image.bytes.every((b) => b === 0xff);
          const { mounted } = Journal.mount(flash, TEST_JOURNAL);
          if (erased) return mounted.kind === "fresh";
          return mounted.kind === "corrupt";
        },
      ),
      { numRuns: 300 },
    );
  });

  it("never invents a state: damage to a written journal mounts a payload it once held, or corrupt", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 120 }),
        fc.array(fc.tuple(fc.nat(SIZE - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }),
        (records, pokes) => {
          const flash = sim();
          const journal = Journal.mount(flash, TEST_JOURNAL);
          const written = new Set<string>();
          for (let i = 0; i < records; i++) {
            const payload = Uint8Array.from({ length: 20 + (i % 40) }, (_, j) => (i * 31 + j) & 0xff);
            journal.append(payload);
            written.add(bytesToHex(payload));
          }
          for (const [at, value] of pokes) flash.image.bytes[at] = value;
          const { mounted } = Journal.mount(flash, TEST_JOURNAL);
          return mounted.kind === "corrupt" || (mounted.kind === "record" && written.has(bytesToHex(mounted.payload)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("mounts the state before or after an append cut anywhere, with any tear", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 150 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(...TEARS),
        fc.nat(),
        (records, k, tear, seed) => {
          const flash = new NorSim({ chip: NRF52, blocks: 2, seed });
          const journal = Journal.mount(flash, TEST_JOURNAL);
          const payload = (i: number) => new Uint8Array(60).fill(i & 0xff);
          for (let i = 1; i < records; i++) journal.append(payload(i));
          flash.cut(k, tear);
          let cut = false;
          try {
            for (let i = records; i < records + 3; i++) journal.append(payload(i));
          } catch (e) {
            if (!(e instanceof PowerCut)) throw e;
            cut = true;
          }
          flash.powerOn();
          const got = Journal.mount(flash, TEST_JOURNAL).mounted;
          if (!cut || got.kind !== "record") return false;
          // The cut interrupted append number records - 1 + (appends completed) + 1.
          return got.payload[0] === (got.sequence & 0xff) && got.sequence >= records - 1;
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** CRC-32 (ISO-HDLC), written out here so the test does not trust the code it checks. */
function crc(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe("under XS", () => {
  it("mounts, appends and survives cuts exactly as under Node", async () => {
    const xs = await XsProbe.load("tools/probes/storage.probe.ts");
    try {
      const { result } = await xs.call<string[]>("tortureRun", 400, 7, 11);
      expect(result).toEqual(tortureRun(400, 7, 11));
      expect(result.length).toBeGreaterThan(50);
      const garbage = await xs.call<string>("mountImage", "4a0103000100000000");
      expect(garbage.result).toBe("corrupt");
    } finally {
      await xs.close();
    }
  });
});
