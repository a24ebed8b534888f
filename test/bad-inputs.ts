// Inputs every public entry point must refuse cleanly (STYLE.md: one shared list, run against each boundary).

/** Values of the wrong type where a string of digits is expected. */
export const NOT_STRINGS: unknown[] = [undefined, null, 0, 123456789, NaN, true, {}, [], ["1", "2"], new Uint8Array(3)];

/** Strings that are not a well-formed keycode entry for any protocol. */
export const BAD_DIGIT_STRINGS: string[] = [
  "",
  " ",
  "12345678a",
  "1234-5678",
  "١٢٣٤٥٦٧٨٩", // Arabic-Indic digits: \d-like, but not keypad digits
  "*123456789#",
  "12345678\n9",
  "0x1234567",
  "1e9",
  "-123456789",
  "9".repeat(1000),
];

/** Values of the wrong type where bytes (Uint8Array) are expected. */
export const NOT_BYTES: unknown[] = [
  undefined,
  null,
  "00".repeat(16),
  [0, 1, 2],
  new ArrayBuffer(16),
  new Int8Array(16),
  16,
];
