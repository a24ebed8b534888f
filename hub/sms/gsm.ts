// SMS segment counting: GSM 03.38 (3GPP TS 23.038) 7-bit default alphabet and its extension table, else UCS-2.
//
// One message is 140 octets: 160 septets in GSM-7 or 70 UTF-16 units in UCS-2. A longer text is split into parts
// that each carry a 6-octet concatenation header (TS 23.040 9.2.3.24.1), leaving 153 septets or 67 units per part.
// An extension character is sent as ESC + its code (2 septets), and a part never splits that pair; UCS-2 never splits
// a surrogate pair. A single character outside both GSM tables switches the whole message to UCS-2 (160 -> 70).

/** The default alphabet, in code order (0x1B, the escape to the extension table, is not a character). */
const BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/** Characters of the extension table: each costs 2 septets (form feed, ^ { } \ [ ~ ] | and the euro sign). */
const EXTENSION = "\f^{}\\[~]|€";

const BASIC_SET: ReadonlySet<string> = new Set([...BASIC].filter((c) => c !== "\u001b"));
const EXTENSION_SET: ReadonlySet<string> = new Set(EXTENSION);

export type SmsEncoding = "gsm7" | "ucs2";

/** How a text travels: its encoding, its length in septets (GSM-7) or UTF-16 units (UCS-2), and its parts. */
export interface SegmentCount {
  readonly encoding: SmsEncoding;
  readonly units: number;
  readonly segments: number;
}

export const GSM7_SINGLE = 160;
export const GSM7_PART = 153;
export const UCS2_SINGLE = 70;
export const UCS2_PART = 67;

/** Septets per character in GSM-7 (1 basic, 2 extension), or undefined when the character has no GSM-7 code. */
export function gsm7Septets(char: string): 1 | 2 | undefined {
  if (BASIC_SET.has(char)) return 1;
  if (EXTENSION_SET.has(char)) return 2;
  return undefined;
}

/** The encoding a gateway must use for `text`, and how many SMS it is billed as. */
export function countSegments(text: string): SegmentCount {
  if (typeof text !== "string") throw new TypeError(`"text" expected a string, got ${typeof text}`);
  const chars = [...text]; // code points: an astral character is one element of 2 UTF-16 units
  const septets = chars.map(gsm7Septets);
  if (septets.every((s) => s !== undefined)) return _pack("gsm7", septets as number[], GSM7_SINGLE, GSM7_PART);
  return _pack(
    "ucs2",
    chars.map((c) => c.length),
    UCS2_SINGLE,
    UCS2_PART,
  );
}

/** Total units, and the parts when they exceed one message, filled greedily without splitting a character. */
function _pack(encoding: SmsEncoding, sizes: number[], single: number, part: number): SegmentCount {
  const units = sizes.reduce((a, b) => a + b, 0);
  if (units <= single) return { encoding, units, segments: 1 };
  let segments = 1;
  let used = 0;
  for (const size of sizes) {
    if (used + size > part) {
      segments++;
      used = 0;
    }
    used += size;
  }
  return { encoding, units, segments };
}
