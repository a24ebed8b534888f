// SipHash-2-4 (firmware/crypto/siphash.ts): the paper's 64 vectors under Node and inside XS, bad keys and messages.
import { sipKey, siphash24, siphashWords } from "../firmware/crypto/siphash";
import { bytesToHex, hexToBytes } from "../firmware/hex";
import { XsProbe } from "../hosts/xsnap/engine";
import { NOT_BYTES } from "./bad-inputs";
import { hashLoop, hashRows, type SipRow } from "../tools/probes/siphash.probe";
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
    const xs = await XsProbe.load("tools/probes/siphash.probe.ts");
    try {
      const { result } = await xs.call<string[]>("hashRows", rows);
      expect(result).toEqual(rows.map((r) => r.hash_le));
    } finally {
      await xs.close();
    }
  });

  // siphashWords reads whole blocks through a DataView it keeps for the last message buffer: these pin that the view
  // honours the buffer's byte offset, sees writes made between calls, and is replaced when the buffer changes.
  const tag = (key: Uint8Array, message: Uint8Array, length: number) =>
    bytesToHex(new Uint8Array(siphashWords(sipKey(key), message, length, new Int32Array(2)).buffer));

  it("hashes a message at a byte offset inside a larger buffer like the message alone", () => {
    const got = rows.map((r) => {
      const message = hexToBytes(r.message);
      const buffer = new Uint8Array(message.length + 11).fill(0xa5);
      buffer.set(message, 3);
      return tag(hexToBytes(r.key), buffer.subarray(3, 3 + message.length), message.length);
    });
    expect(got).toEqual(rows.map((r) => r.hash_le));
  });

  it("hashes a reused buffer written between calls, and alternating buffers, like fresh copies", () => {
    const reused = new Uint8Array(64);
    const other = new Uint8Array(64).fill(0xff);
    const got = rows.map((r) => {
      reused.set(hexToBytes(r.message));
      tag(hexToBytes(r.key), other, 63); // another buffer in between
      return tag(hexToBytes(r.key), reused, r.message.length / 2);
    });
    expect(got).toEqual(rows.map((r) => r.hash_le));
  });

  it("hashes one reused buffer the same inside XS as under Node", async () => {
    const xs = await XsProbe.load("tools/probes/siphash.probe.ts");
    try {
      const { result } = await xs.call<number>("hashLoop", 300);
      expect(result).toBe(hashLoop(300));
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
