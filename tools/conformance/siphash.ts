// Conformance check of one SipHash-2-4 vector row (key, message, hash_le as hex).
import { siphash24 } from "../../firmware/crypto/siphash";
import { bytesToHex, hexToBytes } from "../../firmware/hex";

export interface SiphashRow {
  key: string;
  message: string;
  hash_le: string;
}

/** null when the row passes; otherwise what differed. */
export function checkSiphash(row: SiphashRow): string | null {
  const got = bytesToHex(siphash24(hexToBytes(row.key), hexToBytes(row.message)));
  return got === row.hash_le ? null : `hash ${got}, expected ${row.hash_le}`;
}
