import { sipKey, siphash24 } from "../firmware/crypto/siphash";
import { hexToBytes } from "../firmware/hex";
import { XsProbe } from "../hosts/xsnap/engine";
import { NOT_BYTES } from "./bad-inputs";
import { hashRows, type SipRow } from "./probes/siphash.probe";
import { readVectors } from "./vectors";

const rows = readVectors<SipRow>("siphash24.jsonl");

describe("SipHash-2-4", () => {
  it("has all 64 paper vectors to check", () => {
    expect(rows).toHaveLength(64);
  });

  it("matches every paper vector under Node", () => {
    expect(hashRows(rows)).toEqual(rows.map((r) => r.hash_le));
  });

  it("matches every paper vector inside XS", async () => {
    const xs = await XsProbe.load("test/probes/siphash.probe.ts");
    try {
      const { result } = await xs.call<string[]>("hashRows", rows);
      expect(result).toEqual(rows.map((r) => r.hash_le));
    } finally {
      await xs.close();
    }
  });

  it("hashes the same with a prepared key and with raw key bytes", () => {
    const key = hexToBytes("00112233445566778899aabbccddeeff");
    const message = hexToBytes("0102030405060708090a0b0c0d0e0f1011");
    expect(siphash24(sipKey(key), message)).toEqual(siphash24(key, message));
  });

  it.each([0, 15, 17, 32])("rejects a %i-byte key with a RangeError that says so", (n) => {
    expect(() => sipKey(new Uint8Array(n))).toThrow(new RangeError(`"key" expected 16 bytes, got ${n}`));
  });

  it.each(NOT_BYTES.map((v) => [v]))("rejects %p as key with a TypeError", (key) => {
    expect(() => sipKey(key as Uint8Array)).toThrow(TypeError);
  });

  it.each(NOT_BYTES.map((v) => [v]))("rejects %p as message with a TypeError", (message) => {
    expect(() => siphash24(new Uint8Array(16), message as Uint8Array)).toThrow(TypeError);
  });
});
