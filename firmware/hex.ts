// Hex text <-> bytes, for keys in provisioning records, vectors and tools. Lower-case output, either case input.

/** Bytes from an even-length hex string; throws TypeError/RangeError on anything else. */
export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== "string") throw new TypeError(`"hex" expected string, got ${typeof hex}`);
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex))
    throw new RangeError(`"hex" expected an even number of hex digits, got "${hex}"`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return s;
}
