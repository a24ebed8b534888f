// CRC-32 (ISO-HDLC, the zlib/PNG CRC: reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF) for the
// provisioning record. Table-free (a 1 KB table is flash the record, read once per boot, does not need).

/** CRC-32 of `bytes[0, length)`, as an unsigned 32-bit number. Check value: "123456789" -> 0xCBF43926. */
export function crc32(bytes: Uint8Array, length: number = bytes.length): number {
  let crc = -1;
  for (let i = 0; i < length; i++) {
    crc ^= bytes[i];
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ -1) >>> 0;
}
