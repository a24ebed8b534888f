// Probe: SipHash-2-4 over vector rows, identical under Node (imported) and XS (bundled by hosts/xsnap).
import { sipKey, siphash24, siphashWords } from "../../firmware/crypto/siphash";
import { bytesToHex, hexToBytes } from "../../firmware/hex";

export interface SipRow {
  key: string;
  message: string;
  hash_le: string;
}

/** The tag of every row, as hex. */
export function hashRows(rows: SipRow[]): string[] {
  return rows.map((r) => bytesToHex(siphash24(hexToBytes(r.key), hexToBytes(r.message))));
}

/** Hashes an 8-byte message `n` times (the benchmark's unit of work); returns the last tag's low word. */
export function hashLoop(n: number): number {
  const key = sipKey(hexToBytes("000102030405060708090a0b0c0d0e0f"));
  const message = new Uint8Array(8);
  const out = new Int32Array(2);
  for (let i = 0; i < n; i++) {
    message[0] = i;
    siphashWords(key, message, 8, out);
  }
  return out[0];
}
