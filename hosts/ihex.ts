// Intel HEX (Intel, "Hexadecimal Object File Format Specification" rev. A, 1988) for nRF52 programmers: nrfjprog,
// pyOCD, J-Link and UF2 converters place the data at its absolute address, so the image lands on its page unaided.
import { hexToBytes } from "../firmware/hex";

const BYTES_PER_LINE = 16;

/** A block of bytes and the absolute address its first byte goes to. */
export interface HexSegment {
  readonly address: number;
  readonly data: Uint8Array;
}

/** `data` at absolute `address` as Intel HEX text (records 04 extended linear address, 00 data, 01 end of file). */
export function toIntelHex(data: Uint8Array, address: number): string {
  return segmentsToIntelHex([{ address, data }]);
}

/** Several segments in one Intel HEX file (a device's journal and provisioning pages: one programming pass). */
export function segmentsToIntelHex(segments: readonly HexSegment[]): string {
  const lines: string[] = [];
  let upper = -1;
  for (const { address, data } of segments) {
    if (!Number.isInteger(address) || address < 0 || address + data.length > 2 ** 32)
      throw new RangeError(`"address" expected 0..2^32 - ${data.length}, got ${address}`);
    for (let i = 0; i < data.length;) {
      const at = address + i;
      if (at >>> 16 !== upper) {
        upper = at >>> 16;
        lines.push(_record(0, 0x04, [upper >> 8, upper & 0xff]));
      }
      // A line never crosses a 64 KB boundary: its 16-bit offset would wrap.
      const n = Math.min(BYTES_PER_LINE, data.length - i, 0x10000 - (at & 0xffff));
      lines.push(_record(at & 0xffff, 0x00, Array.from(data.subarray(i, i + n))));
      i += n;
    }
  }
  lines.push(_record(0, 0x01, []));
  return lines.join("\n") + "\n";
}

/**
 * The `length` bytes at absolute `address` of an Intel HEX file (0xFF where it holds none, as erased flash reads).
 * Throws RangeError on a malformed line or a bad checksum.
 */
export function readIntelHex(text: string, address: number, length: number): Uint8Array {
  const out = new Uint8Array(length).fill(0xff);
  let upper = 0;
  for (const [i, line] of text.trim().split(/\r?\n/).entries()) {
    // Plain bytes, no Buffer: the web simulator reads an nRF52 image in the browser with this same parser.
    const raw = /^:([0-9A-Fa-f]{2})+$/.test(line) ? hexToBytes(line.slice(1)) : undefined;
    if (!raw || raw.length !== raw[0] + 5 || (raw.reduce((a, b) => a + b, 0) & 0xff) !== 0)
      throw new RangeError(`Intel HEX line ${i + 1}: expected a record with a valid checksum, got "${line}"`);
    const type = raw[3];
    if (type === 0x04) upper = ((raw[4] << 8) | raw[5]) * 0x10000;
    if (type !== 0x00) continue;
    const at = upper + ((raw[1] << 8) | raw[2]);
    for (let j = 0; j < raw[0]; j++) {
      const k = at + j - address;
      if (k >= 0 && k < length) out[k] = raw[4 + j];
    }
  }
  return out;
}

function _record(offset: number, type: number, bytes: number[]): string {
  const fields = [bytes.length, offset >> 8, offset & 0xff, type, ...bytes];
  const checksum = -fields.reduce((a, b) => a + b, 0) & 0xff;
  return ":" + [...fields, checksum].map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join("");
}
