// A product profile: what every device of a provisioning batch shares (protocol and its options, board, keypad, pin
// map, serial prefix). Defaults give a working development-kit wiring; products pass their own pins.
import { BOARDS, type BoardName } from "../firmware/provision/board";
import {
  KEYPAD_LINES,
  keypadsFor,
  type KeypadType,
  type PinMap,
  type ProtocolName,
  type ProvisionRecord,
} from "../firmware/provision/record";
import { UsageError } from "./errors";

export const PROTOCOLS: readonly ProtocolName[] = ["openpaygo", "nexus-full", "nexus-small"];

export interface Profile {
  readonly protocol: ProtocolName;
  readonly board: BoardName;
  readonly keypad: KeypadType;
  readonly pins: PinMap;
  /** OpenPAYGO only: value units per day (1 = days, 24 = hours). */
  readonly timeDivider: number;
  /** OpenPAYGO only: 12-digit extended tokens. */
  readonly extended: boolean;
  /** OpenPAYGO only: keys 1-4 only. */
  readonly restricted: boolean;
  /** Nexus small only: accept the extended small message (off unless the product needs it). */
  readonly extendedSmallMessage: boolean;
  /** Serials are the prefix and the device id, zero-padded to 8 digits: SK-00000042. */
  readonly serialPrefix: string;
}

export interface ProfileOptions {
  protocol?: string;
  board?: string;
  keypad?: string;
  pins?: string;
  timeDivider?: string;
  extended?: boolean;
  restricted?: boolean;
  extendedSmallMessage?: boolean;
  serialPrefix?: string;
}

/** Development-kit wiring per board: matrix rows then columns, buttons (key 1 first), load, LED. */
const DEFAULT_PINS: Readonly<
  Record<BoardName, { matrix: readonly number[]; buttons: readonly number[]; load: number; led: number }>
> = {
  // ESP32-DevKitC, as the simulator's demo devices: each matrix side within GPIO 0-31 (one DigitalBank), no
  // strapping pins; load on GPIO 23, the on-board LED on GPIO 2.
  esp32: { matrix: [13, 12, 14, 15, 25, 26, 27], buttons: [16, 17, 18, 19, 21], load: 23, led: 2 },
  // nRF52840 DK: the matrix on Arduino-header pins of port 0; buttons 1-4 are P0.11/12/24/25; LED1 P0.13.
  nrf52: { matrix: [3, 4, 28, 29, 30, 31, 2], buttons: [11, 12, 24, 25, 6], load: 14, led: 13 },
};

/** The profile for command-line options; every bad value is a UsageError naming the accepted ones. */
export function makeProfile(o: ProfileOptions): Profile {
  const protocol = _oneOf(o.protocol, PROTOCOLS, "--protocol");
  const board = _oneOf(o.board ?? "esp32", Object.keys(BOARDS) as BoardName[], "--board");
  const restricted = o.restricted ?? false;
  const extended = o.extended ?? false;
  if (protocol !== "openpaygo" && (restricted || extended || o.timeDivider !== undefined))
    throw new UsageError(`--extended, --restricted and --time-divider are OpenPAYGO options, not ${protocol}`);
  if (protocol !== "nexus-small" && o.extendedSmallMessage)
    throw new UsageError(`--extended-small-message is a nexus-small option, not ${protocol}`);
  const keypads = keypadsFor(protocol, restricted);
  const keypad = _oneOf(o.keypad ?? keypads[0], keypads, `--keypad for ${protocol}${restricted ? " restricted" : ""}`);
  const timeDivider = o.timeDivider === undefined ? 1 : parseWhole(o.timeDivider, 1, 255, "--time-divider");
  const serialPrefix = o.serialPrefix ?? "SK-";
  if (!/^[A-Za-z0-9_-]{0,12}$/.test(serialPrefix))
    throw new UsageError(`--serial-prefix expected up to 12 letters, digits, - or _, got "${serialPrefix}"`);
  // An all-digit prefix makes serials that read as other devices' ids (prefix "1": device 2 is "100000002").
  if (/^\d+$/.test(serialPrefix))
    throw new UsageError(`--serial-prefix must hold a letter, - or _ (digits alone read as device ids)`);
  const pins = o.pins === undefined ? _defaultPins(board, keypad) : parsePins(o.pins, keypad);
  const all = [...pins.keypad, pins.load, pins.led, ...(pins.buzzer === null ? [] : [pins.buzzer])];
  if (new Set(all).size !== all.length) throw new UsageError(`--pins uses a GPIO twice: ${all.join(",")}`);
  _checkBanks(keypad, pins);
  const extendedSmallMessage = o.extendedSmallMessage ?? false;
  return { protocol, board, keypad, pins, timeDivider, extended, restricted, extendedSmallMessage, serialPrefix };
}

/** `KEYPAD_GPIOS/LOAD/LED[/BUZZER]`, e.g. `13,12,14,27,26,25,33/23/2` (matrix rows then columns). */
export function parsePins(text: string, keypad: KeypadType): PinMap {
  const parts = text.split("/");
  const lines = KEYPAD_LINES[keypad];
  if (parts.length < 3 || parts.length > 4)
    throw new UsageError(`--pins expected KEYPAD/LOAD/LED[/BUZZER] (${lines} keypad GPIOs), got "${text}"`);
  const keys = parts[0].split(",").map((p) => parseWhole(p, 0, 254, "--pins GPIO"));
  if (keys.length !== lines)
    throw new UsageError(`--pins expected ${lines} keypad GPIOs for ${keypad}, got ${keys.length}`);
  const [load, led] = [parseWhole(parts[1], 0, 254, "--pins LOAD"), parseWhole(parts[2], 0, 254, "--pins LED")];
  const buzzer = parts.length === 4 ? parseWhole(parts[3], 0, 254, "--pins BUZZER") : null;
  return { keypad: keys, load, led, buzzer };
}

/** The provisioning record of one device of this profile. */
export function recordFor(profile: Profile, deviceId: number, key: Uint8Array, startingCode: number): ProvisionRecord {
  const base = { deviceId, key, board: profile.board, keypad: profile.keypad, pins: profile.pins };
  if (profile.protocol === "openpaygo")
    return {
      ...base,
      protocol: "openpaygo",
      startingCode,
      timeDivider: profile.timeDivider,
      extended: profile.extended,
      restricted: profile.restricted,
    };
  if (profile.protocol === "nexus-small")
    return { ...base, protocol: "nexus-small", extendedSmallMessage: profile.extendedSmallMessage };
  return { ...base, protocol: "nexus-full" };
}

export function serialOf(profile: Pick<Profile, "serialPrefix">, deviceId: number): string {
  return `${profile.serialPrefix}${String(deviceId).padStart(8, "0")}`;
}

function _defaultPins(board: BoardName, keypad: KeypadType): PinMap {
  const d = DEFAULT_PINS[board];
  const keys = keypad === "matrix-4x3" ? d.matrix : d.buttons.slice(0, KEYPAD_LINES[keypad]);
  return { keypad: keys, load: d.load, led: d.led, buzzer: null };
}

/** The keypad driver reads each matrix side through one ECMA-419 DigitalBank: 32 pins, one bank per side. */
function _checkBanks(keypad: KeypadType, pins: PinMap): void {
  if (keypad !== "matrix-4x3") return;
  for (const [side, lines] of [
    ["rows", pins.keypad.slice(0, 4)],
    ["columns", pins.keypad.slice(4)],
  ] as const)
    if (new Set(lines.map((pin) => pin >> 5)).size > 1)
      throw new UsageError(`--pins: matrix ${side} ${lines.join(",")} must share one 32-pin bank (GPIO 0-31 or 32-63)`);
}

function _oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T {
  if (value === undefined) throw new UsageError(`${flag} is required: one of ${allowed.join(", ")}`);
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`${flag} expected one of ${allowed.join(", ")}, got "${value}"`);
  return value as T;
}

/** A decimal integer in [min, max] from command-line text, or a UsageError naming the flag. */
export function parseWhole(text: string, min: number, max: number, flag: string): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} expected a whole number ${min}..${max}, got "${text}"`);
  return n;
}
