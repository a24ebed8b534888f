// Entry framing: turns single key presses into whole keycode entries, per protocol keypad (start and end keys,
// lengths, idle timeout). Pure: the caller runs the idle timer and calls expire(), so it holds no clock of its own.

/** An entry left idle this long is discarded (a customer interrupted mid-code starts afresh). */
export const IDLE_TIMEOUT_MS = 16_000;

/** How one protocol's codes are typed. */
export interface FrameSpec {
  /** Key that starts an entry (and restarts one mid-way); undefined: the first digit starts it. */
  readonly start: string | undefined;
  /** Key that ends an entry; undefined: the entry completes at `maxDigits`. */
  readonly end: string | undefined;
  /** Keys that are digits of a code. */
  readonly digits: string;
  /** Digit counts an entry may have (between start and end keys). */
  readonly minDigits: number;
  readonly maxDigits: number;
  /**
   * How a customer asks for the remaining credit: `start-end`, the start key then the end key with nothing between
   * (`*#`); `lone-key`, on keypads with no end key, the start key alone (or, with no start key, a single digit) left
   * until the idle timeout.
   */
  readonly query: "start-end" | "lone-key";
  readonly idleTimeoutMs: number;
}

/** Frames for every keypad a provisioning record can name. */
export const FRAMES = Object.freeze({
  // Nexus Keycode full protocol: `*` digits `#`; activation codes have 14 digits, factory codes 7 to 12, passthrough
  // codes up to 30 (the reference's NEXUS_KEYCODE_MESSAGE_LENGTH_MAX_DIGITS_FULL).
  "nexus-full": frame("*", "#", "0123456789", 1, 30, "start-end"),
  // Nexus Keycode small protocol: start key 1, then 14 symbols 2-5 (2 bits each, 28 bits); no end key.
  "nexus-small": frame("1", undefined, "2345", 14, 14, "lone-key"),
  // OpenPAYGO Token on a full keypad: `*` token `#`, 9 digits (standard) or 12 (extended).
  openpaygo: frame("*", "#", "0123456789", 9, 12, "start-end"),
  // OpenPAYGO restricted-digit mode (4 keys, no start or end key): 15 digits, or 20 for extended tokens.
  "openpaygo-restricted": frame(undefined, undefined, "1234", 15, 15, "lone-key"),
  "openpaygo-restricted-extended": frame(undefined, undefined, "1234", 20, 20, "lone-key"),
} as const satisfies Record<string, FrameSpec>);

export type FrameName = keyof typeof FRAMES;

function frame(
  start: string | undefined,
  end: string | undefined,
  digits: string,
  minDigits: number,
  maxDigits: number,
  query: FrameSpec["query"],
): FrameSpec {
  return Object.freeze({ start, end, digits, minDigits, maxDigits, query, idleTimeoutMs: IDLE_TIMEOUT_MS });
}

/** What one key press did. */
export type FrameResult =
  /** Not part of any entry (a digit before the start key, a key this protocol does not use): no feedback. */
  | { readonly kind: "ignored" }
  /** Taken into the entry: the short blink. */
  | { readonly kind: "key" }
  /** The start key mid-entry: what was typed is dropped and a new entry begins (also the short blink). */
  | { readonly kind: "restart" }
  /** A complete entry: its digits, without start and end keys. */
  | { readonly kind: "entry"; readonly digits: string }
  /** Start then end with nothing between (`start-end` keypads): show the remaining credit. */
  | { readonly kind: "query" }
  /** Too many digits, or ended too short: the entry is dropped unverified (it cannot be a code). */
  | { readonly kind: "malformed" };

const IGNORED: FrameResult = Object.freeze({ kind: "ignored" });
const KEY: FrameResult = Object.freeze({ kind: "key" });
const RESTART: FrameResult = Object.freeze({ kind: "restart" });
const QUERY: FrameResult = Object.freeze({ kind: "query" });
const MALFORMED: FrameResult = Object.freeze({ kind: "malformed" });

/** One keypad's entry in progress. */
export class Framer {
  private digits = "";
  private open = false;

  constructor(readonly spec: FrameSpec) {}

  /** Whether an entry is in progress. */
  get active(): boolean {
    return this.open;
  }

  /**
   * The idle timer ran out (spec.idleTimeoutMs after the last taken key): drops the entry. `query` when it held only
   * its opening key on a `lone-key` keypad (the customer pressed one key and waited: show the credit), `timeout` for
   * any other entry, `none` when there was none.
   */
  expire(): "none" | "timeout" | "query" {
    if (!this.open) return "none";
    const lone = this.digits.length === (this.spec.start === undefined ? 1 : 0);
    this.reset();
    return lone && this.spec.query === "lone-key" ? "query" : "timeout";
  }

  /** Drops any entry in progress. */
  reset(): void {
    this.open = false;
    this.digits = "";
  }

  /** One key press. A `key` or `restart` result means the caller (re)arms the idle timer. */
  press(key: string): FrameResult {
    const spec = this.spec;
    if (key === spec.start) {
      const restarted = this.open;
      this.open = true;
      this.digits = "";
      return restarted ? RESTART : KEY;
    }
    if (key === spec.end && spec.end !== undefined) {
      if (!this.open) return IGNORED;
      const digits = this.digits;
      this.reset();
      if (digits.length === 0) return spec.query === "start-end" ? QUERY : MALFORMED;
      return digits.length >= spec.minDigits ? { kind: "entry", digits } : MALFORMED;
    }
    if (spec.digits.indexOf(key) < 0 || key.length !== 1) return IGNORED;
    if (!this.open) {
      if (spec.start !== undefined) return IGNORED;
      this.open = true;
    }
    this.digits += key;
    if (spec.end === undefined && this.digits.length === spec.maxDigits) {
      const digits = this.digits;
      this.reset();
      return { kind: "entry", digits };
    }
    if (this.digits.length > spec.maxDigits) {
      this.reset();
      return MALFORMED;
    }
    return KEY;
  }
}
