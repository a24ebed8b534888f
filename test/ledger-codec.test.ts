// The device record (issue 5): pinned version 1 offsets, older records still read, garbage refused, round trips.
import fc from "fast-check";
import { RECORD_VERSION, TAG, decodeDevice, encodeDevice } from "../firmware/ledger/codec";
import { LOCKOUT, NEXUS_BUCKET, lockoutAfter, type LimiterState } from "../firmware/ledger/limiter";
import { MAX_SECONDS, freshState, type DeviceState, type Payg } from "../firmware/ledger/state";
import { bytesToHex, hexToBytes } from "../firmware/hex";
import { fakeProtocol, type FakeState } from "./probes/ledger.probe";

const nexus = fakeProtocol("nexus-full");
const opaygo = fakeProtocol("openpaygo");

const bucket = { kind: "bucket", bucketMs: 0x00ee8000, failures: 0, lockoutMs: 0, decayMs: 0 } as const;
const sample: DeviceState<FakeState> = {
  payg: { kind: "metered", creditSeconds: 0x01020304, testSeconds: 0x0a0b0c0d },
  protocol: { used: [3, 9] },
  limiter: bucket,
};

/** The sample locked out by a 4th failure with 1 s of its 4 minutes left. */
const lockedSample: DeviceState<FakeState> = {
  ...sample,
  limiter: { ...bucket, failures: 4, lockoutMs: 1000 },
};

// Written by format version 1 (this commit): every later firmware must still read it, byte for byte.
const V1_RECORD = [
  "01", // version
  "010900 00 04030201 0d0c0b0a", // PAYG: metered, credit, test
  "020900 00 0080ee00 00000000", // LIMITER: bucket
  "030c00 02000000 03000000 09000000", // PROTOCOL: 3 words
]
  .join("")
  .replace(/ /g, "");

// The same with a Nexus lockout, the LOCKOUT field (0x04) added after the Nexus lockout came in.
const V1_LOCKOUT_RECORD = V1_RECORD + "040800 e8030000 04000000".replace(/ /g, "");

describe("device record codec", () => {
  it("pins the version 1 field offsets", () => {
    const bytes = encodeDevice(nexus, sample);
    const view = new DataView(bytes.buffer);
    expect(bytes[0]).toBe(RECORD_VERSION);
    expect([bytes[1], bytes[13], bytes[25]]).toEqual([TAG.payg, TAG.limiter, TAG.protocol]);
    expect(bytes[4]).toBe(0);
    expect(view.getUint32(5, true)).toBe(0x01020304);
    expect(view.getUint32(9, true)).toBe(0x0a0b0c0d);
    expect(bytes[16]).toBe(0);
    expect(view.getUint32(17, true)).toBe(0x00ee8000);
    expect(view.getUint32(21, true)).toBe(0);
    expect(view.getUint16(26, true)).toBe(12);
    expect(view.getUint32(32, true)).toBe(3);
    expect(bytes.length).toBe(28 + 12);
  });

  it("writes the pinned version 1 record", () => {
    expect(bytesToHex(encodeDevice(nexus, sample))).toBe(V1_RECORD);
  });

  it("reads a version 1 record written by older firmware", () => {
    expect(decodeDevice(nexus, hexToBytes(V1_RECORD))).toEqual(sample);
  });

  it("reads a Nexus record from before the Nexus lockout as no failures and no lockout", () => {
    const limiter = decodeDevice(nexus, hexToBytes(V1_RECORD))?.limiter;
    expect(limiter).toEqual({ kind: "bucket", bucketMs: 0x00ee8000, failures: 0, lockoutMs: 0, decayMs: 0 });
  });

  it("writes the quiet time towards forgiving a failure as the optional DECAY field, only while it is counted", () => {
    const quiet = { ...sample, limiter: { ...bucket, failures: 3, decayMs: 0x01020304 } };
    const hex = bytesToHex(encodeDevice(nexus, quiet));
    expect(hex.endsWith("800400" + "04030201")).toBe(true);
    expect(decodeDevice(nexus, hexToBytes(hex))).toEqual(quiet);
    const opaygoQuiet = { ...sample, limiter: { kind: "lockout", failures: 1, lockoutMs: 0, decayMs: 5 } as const };
    expect(decodeDevice(opaygo, encodeDevice(opaygo, opaygoQuiet))).toEqual(opaygoQuiet);
    // A firmware from before the decay skips the optional tag: it reads no quiet time, which is only stricter.
    expect(decodeDevice(nexus, hexToBytes(V1_RECORD + "800400" + "00000000"))).toBeUndefined(); // written only > 0
    expect(decodeDevice(nexus, hexToBytes(V1_RECORD + "800400" + "01000000"))).toBeUndefined(); // no failure to forgive
    const locked = bytesToHex(encodeDevice(nexus, lockedSample)); // quiet time never runs during a lockout
    expect(decodeDevice(nexus, hexToBytes(locked + "800400" + "01000000"))).toBeUndefined();
    expect(() =>
      encodeDevice(nexus, { ...sample, limiter: { ...bucket, failures: 3, decayMs: LOCKOUT.decayMs } }),
    ).toThrow(RangeError);
  });

  it("writes a Nexus lockout as the LOCKOUT field, only while failures are counted, and reads it back", () => {
    expect(bytesToHex(encodeDevice(nexus, lockedSample))).toBe(V1_LOCKOUT_RECORD);
    expect(decodeDevice(nexus, hexToBytes(V1_LOCKOUT_RECORD))).toEqual(lockedSample);
    const twoFree = { ...sample, limiter: { ...bucket, failures: 2 } };
    expect(encodeDevice(nexus, twoFree).length).toBe(hexToBytes(V1_RECORD).length + 11);
  });

  it("refuses a LOCKOUT field with no failures, over its schedule, twice, or in an OpenPAYGO record", () => {
    expect(decodeDevice(nexus, hexToBytes(V1_RECORD + "040800" + "00000000" + "00000000"))).toBeUndefined();
    const over = new DataView(new ArrayBuffer(4));
    over.setUint32(0, lockoutAfter(4) + 1, true);
    const overHex = bytesToHex(new Uint8Array(over.buffer));
    expect(decodeDevice(nexus, hexToBytes(V1_RECORD + "040800" + overHex + "04000000"))).toBeUndefined();
    expect(decodeDevice(nexus, hexToBytes(V1_LOCKOUT_RECORD + V1_LOCKOUT_RECORD.slice(80)))).toBeUndefined();
    const opaygoRecord = bytesToHex(encodeDevice(opaygo, freshState(opaygo)));
    expect(decodeDevice(opaygo, hexToBytes(opaygoRecord))).toBeDefined();
    expect(decodeDevice(opaygo, hexToBytes(opaygoRecord + V1_LOCKOUT_RECORD.slice(80)))).toBeUndefined();
  });

  it("reads fields in any order", () => {
    const hex = V1_RECORD.slice(0, 2) + V1_RECORD.slice(50) + V1_RECORD.slice(2, 50);
    expect(decodeDevice(nexus, hexToBytes(hex))).toEqual(sample);
  });

  it("skips an optional field it does not know (tag 0x80 and up; 0x80 itself is DECAY), as a newer firmware may add", () => {
    expect(decodeDevice(nexus, hexToBytes(V1_RECORD + "810300aabbcc"))).toEqual(sample);
  });

  it("refuses a required field it does not know (tag below 0x80)", () => {
    expect(decodeDevice(nexus, hexToBytes(V1_RECORD + "7f0100aa"))).toBeUndefined();
  });

  it("refuses a record with a field twice, one missing, or another version", () => {
    expect(decodeDevice(nexus, hexToBytes(V1_RECORD + "020900" + "00".repeat(9)))).toBeUndefined();
    expect(decodeDevice(nexus, hexToBytes(V1_RECORD.slice(0, 26) + V1_RECORD.slice(50)))).toBeUndefined();
    expect(decodeDevice(nexus, hexToBytes("02" + V1_RECORD.slice(2)))).toBeUndefined();
  });

  it("refuses a record from another protocol's device", () => {
    expect(decodeDevice(opaygo, hexToBytes(V1_RECORD))).toBeUndefined();
  });

  it("refuses every truncation of a record", () => {
    const bytes = hexToBytes(V1_RECORD);
    for (let n = 0; n < bytes.length; n++) expect(decodeDevice(nexus, bytes.subarray(0, n))).toBeUndefined();
  });

  it("refuses values the firmware never writes (unlocked with credit, bucket over 128, lockout over schedule)", () => {
    const unlockedWithCredit = "01" + "010900" + "01" + "01000000" + "00000000" + V1_RECORD.slice(26);
    expect(decodeDevice(nexus, hexToBytes(unlockedWithCredit))).toBeUndefined();
    const overfull = NEXUS_BUCKET.maxAttempts * NEXUS_BUCKET.refillMs + 1;
    expect(() => encodeDevice(nexus, { ...sample, limiter: { ...bucket, bucketMs: overfull } })).toThrow(RangeError);
    const lockout = { kind: "lockout", failures: 3, lockoutMs: lockoutAfter(3) + 1, decayMs: 0 } as const;
    expect(() => encodeDevice(opaygo, { ...sample, limiter: lockout })).toThrow(RangeError);
  });

  it("never throws on garbage, and decodes only well-formed records", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const device = decodeDevice(nexus, bytes);
        if (device === undefined) return;
        // Only a well-formed record decodes; then it encodes back to the same bytes.
        expect(bytesToHex(encodeDevice(nexus, device))).toBe(bytesToHex(bytes));
      }),
      { numRuns: 20_000 },
    );
    for (const junk of [undefined, null, "01", [1, 2], new Uint16Array(4)])
      expect(decodeDevice(nexus, junk as unknown)).toBeUndefined();
  });

  it("never throws on a valid record with random bit flips", () => {
    const bytes = hexToBytes(V1_RECORD);
    fc.assert(
      fc.property(fc.nat(bytes.length * 8 - 1), fc.nat(bytes.length * 8 - 1), (a, b) => {
        const flipped = bytes.slice();
        flipped[a >> 3] ^= 1 << (a & 7);
        flipped[b >> 3] ^= 1 << (b & 7);
        const device = decodeDevice(nexus, flipped);
        if (device !== undefined) expect(decodeDevice(nexus, encodeDevice(nexus, device))).toEqual(device);
      }),
    );
  });

  it("round-trips any well-formed state", () => {
    fc.assert(
      fc.property(arbDevice(), ([protocol, device]) => {
        expect(decodeDevice(protocol, encodeDevice(protocol, device))).toEqual(device);
      }),
    );
  });

  it("round-trips a factory-fresh device of each limiter kind", () => {
    for (const protocol of [nexus, opaygo]) {
      const fresh = freshState(protocol);
      expect(decodeDevice(protocol, encodeDevice(protocol, fresh))).toEqual(fresh);
    }
  });
});

function arbDevice(): fc.Arbitrary<[typeof nexus, DeviceState<FakeState>]> {
  const seconds = fc.integer({ min: 0, max: MAX_SECONDS });
  const payg: fc.Arbitrary<Payg> = fc.oneof(
    fc.constant({ kind: "unlocked" } as const),
    fc.record({ kind: fc.constant("metered" as const), creditSeconds: seconds, testSeconds: seconds }),
  );
  const used = fc.uniqueArray(fc.integer({ min: 0, max: 99 }), { maxLength: 20 }).map((a) => a.sort((x, y) => x - y));
  const lockout = fc
    .integer({ min: 0, max: LOCKOUT.maxFailures })
    .chain((failures) => fc.tuple(fc.constant(failures), fc.integer({ min: 0, max: lockoutAfter(failures) })))
    .chain(([failures, lockoutMs]) =>
      (failures > 0 && lockoutMs === 0 ? fc.integer({ min: 0, max: LOCKOUT.decayMs - 1 }) : fc.constant(0)).map(
        (decayMs) => ({ failures, lockoutMs, decayMs }),
      ),
    );
  const bucket: fc.Arbitrary<LimiterState> = fc
    .tuple(fc.integer({ min: 0, max: NEXUS_BUCKET.maxAttempts * NEXUS_BUCKET.refillMs }), lockout)
    .map(([bucketMs, counted]) => ({ kind: "bucket", bucketMs, ...counted }));
  const opaygoLockout: fc.Arbitrary<LimiterState> = lockout.map((counted) => ({ kind: "lockout", ...counted }));
  return fc
    .boolean()
    .chain((isNexus) =>
      fc
        .record({ payg, used, limiter: isNexus ? bucket : opaygoLockout })
        .map(({ payg, used, limiter }) => [isNexus ? nexus : opaygo, { payg, protocol: { used }, limiter }]),
    );
}
