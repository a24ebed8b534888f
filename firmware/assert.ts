// Boundary checks for public firmware entry points. Messages say what was expected and what came; the text is
// built only when throwing, which keeps the happy path cheap on XS.

/** Throws TypeError unless `value` is a Uint8Array, RangeError unless its length is `length` (-1: any length). */
export function expectBytes(value: unknown, length: number, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`"${name}" expected Uint8Array, got ${_kind(value)}`);
  if (length >= 0 && value.length !== length)
    throw new RangeError(`"${name}" expected ${length} bytes, got ${value.length}`);
}

/** Throws TypeError unless `value` is an integer, RangeError unless it lies in [min, max]. */
export function expectInt(value: unknown, min: number, max: number, name: string): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value))
    throw new TypeError(`"${name}" expected an integer, got ${_kind(value)}`);
  if (value < min || value > max) throw new RangeError(`"${name}" expected ${min}..${max}, got ${value}`);
}

/** Throws TypeError unless `value` is a boolean. */
export function expectBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== "boolean") throw new TypeError(`"${name}" expected a boolean, got ${_kind(value)}`);
}

function _kind(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  if (typeof value === "number") return `number ${value}`;
  return typeof value;
}
