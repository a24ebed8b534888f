// The operator's code vocabulary (add, set, unlock, lock, wipe, test, counter sync) mapped onto each protocol's own
// encoder in firmware/protocols, so device and server share one implementation. Also each protocol's sequence facts:
// where a fresh device's window starts and how far ahead of the device's last applied code it accepts.
import { encodeFull, UNLOCK_HOURS, WIPE_TARGETS, type FullWipe } from "../firmware/protocols/nexus/full";
import {
  addIncrement,
  addIncrementDays,
  encodeSmall,
  setIncrement,
  setIncrementDays,
  smallRefusal,
  type SmallMessage,
} from "../firmware/protocols/nexus/small";
import { WINDOW_ABOVE, WINDOW_BELOW } from "../firmware/protocols/nexus/window";
import { TokenIssuer } from "../firmware/protocols/openpaygo/encoder";
import { INITIAL_STATE, MAX_TOKEN_JUMP, MAX_TOKEN_JUMP_COUNTER_SYNC } from "../firmware/protocols/openpaygo/replay";
import {
  isReservedValue,
  MAX_ACTIVATION_VALUE,
  MAX_EXTENDED_VALUE,
  nextCount,
  valueToSeconds,
  type TokenType,
} from "../firmware/protocols/openpaygo/token";
import type { ProtocolName, ProvisionRecord } from "../firmware/provision/record";
import { exactCredit, type Rounding } from "./amounts";
import { UsageError } from "./errors";

/**
 * What an operator asks for; credit in seconds, whatever unit the protocol carries. An amount the device cannot
 * carry exactly is refused unless `round` says which way (fleet/amounts.ts exactCredit).
 */
export type CodeRequest =
  | { readonly kind: "add"; readonly seconds: number; readonly round?: Rounding }
  | { readonly kind: "set"; readonly seconds: number; readonly round?: Rounding }
  | { readonly kind: "unlock" }
  | { readonly kind: "lock" }
  | { readonly kind: "wipe"; readonly target: string }
  | { readonly kind: "test"; readonly minutes: number }
  | { readonly kind: "counter_sync" };

export type CodeKind = CodeRequest["kind"];

/** The secrets and options a server needs to encode one device's codes. */
export interface DeviceSecrets {
  readonly deviceId: number;
  readonly protocol: ProtocolName;
  readonly key: Uint8Array;
  /** OpenPAYGO only. */
  readonly startingCode: number;
  readonly timeDivider: number;
  readonly extended: boolean;
  readonly restricted: boolean;
}

/** The secrets and settings a provisioning record gives the code encoders (OpenPAYGO fields neutral otherwise). */
export function secretsOf(record: ProvisionRecord): DeviceSecrets {
  const opg = record.protocol === "openpaygo";
  return {
    deviceId: record.deviceId,
    protocol: record.protocol,
    key: record.key,
    startingCode: opg ? record.startingCode : 0,
    timeDivider: opg ? record.timeDivider : 1,
    extended: opg && record.extended,
    restricted: opg && record.restricted,
  };
}

/** An encoded code: its keycode, the ID or count it spends (null: none, e.g. a test code), and what it grants. */
export interface Encoded {
  readonly keycode: string;
  readonly seq: number | null;
  /** The amount in the protocol's unit (hours, days or OpenPAYGO value), null when the code carries none. */
  readonly units: number | null;
  /** Credit the device grants for `units`: exactly what was asked, or rounded the way the request said. */
  readonly seconds: number | null;
}

/** The last ID or count of a factory-fresh device: Nexus window top 23, OpenPAYGO count 1. */
export function initialSeq(protocol: ProtocolName): number {
  return protocol === "openpaygo" ? INITIAL_STATE.lastCount : WINDOW_BELOW;
}

/** How far above the device's last applied ID/count it accepts this code (Nexus 40; OpenPAYGO 64, sync 100). */
export function windowAbove(protocol: ProtocolName, kind: CodeKind): number {
  if (protocol !== "openpaygo") return WINDOW_ABOVE;
  return kind === "counter_sync" ? MAX_TOKEN_JUMP_COUNTER_SYNC : MAX_TOKEN_JUMP;
}

/** Whether a code spends an ID/count: test codes carry none, Nexus small wipes (maintenance codes) carry ID 0. */
export function spendsSeq(protocol: ProtocolName, request: CodeRequest): boolean {
  if (request.kind === "test") return false;
  return !(protocol === "nexus-small" && request.kind === "wipe" && request.target !== "restricted_flag");
}

/**
 * The lowest ID/count the next code of `kind` can take after `lastSeq`, the last one issued. The ledger may go
 * higher: it skips Nexus IDs the reference encoder refuses or an earlier code would also apply at.
 */
export function nextSeq(protocol: ProtocolName, kind: CodeKind, lastSeq: number): number {
  return protocol === "openpaygo" ? nextCount(lastSeq, _tokenType(kind)) : lastSeq + 1;
}

/** Counts between reports of a long OpenPAYGO chain walk (about 30 ms of hashing each). */
export const WALK_STEP = 100_000;

/** Told, every WALK_STEP counts, how far a chain walk from count 0 has come: `done` of `total` counts. */
export type WalkProgress = (done: number, total: number) => void;

/**
 * Encodes `request` as the code after `lastSeq` (the device's last issued ID or count). `issuer` carries an
 * OpenPAYGO device's chain cache between calls. Without one, an OpenPAYGO code hashes its chain from count 0
 * (0.3 us a count: minutes near the highest count), reporting to `onWalk` as it goes. A type the protocol lacks or
 * an amount it cannot carry is a UsageError naming the limit.
 */
export function encodeCode(
  device: DeviceSecrets,
  request: CodeRequest,
  lastSeq: number,
  issuer?: TokenIssuer,
  onWalk?: WalkProgress,
): Encoded {
  if (request.kind === "add" || request.kind === "set")
    request = { ...request, seconds: exactCredit(device, request.kind, request.seconds, request.round) };
  if (device.protocol === "openpaygo") return _openPaygo(device, request, lastSeq, issuer, onWalk);
  if (device.protocol === "nexus-full") return _nexusFull(device, request, lastSeq + 1);
  return _nexusSmall(device, request, lastSeq + 1);
}

/** A TokenIssuer for an OpenPAYGO device (the ledger keeps one per device it issues to). */
export function tokenIssuer(device: DeviceSecrets): TokenIssuer {
  return new TokenIssuer({
    key: device.key,
    startingCode: device.startingCode,
    extended: device.extended,
    restricted: device.restricted,
  });
}

function _openPaygo(
  device: DeviceSecrets,
  request: CodeRequest,
  lastSeq: number,
  issuer?: TokenIssuer,
  onWalk?: WalkProgress,
): Encoded {
  const type = _tokenType(request.kind);
  let value: number | undefined;
  if (request.kind === "add" || request.kind === "set") value = _opgValue(device, request.seconds);
  else if (request.kind === "lock") value = 0;
  const chain = issuer ?? tokenIssuer(device);
  // A fresh issuer's cache is empty: issuing the same type and value at every step leaves the chain state there
  // cached, so each step hashes only WALK_STEP counts and the last issue starts from the last step. (Never with a
  // caller's issuer: a step below its cached state would walk from count 0 again.)
  if (issuer === undefined && onWalk !== undefined)
    for (let done = WALK_STEP; done < lastSeq; done += WALK_STEP) {
      chain.issue({ count: done, type, value });
      onWalk(done, lastSeq);
    }
  const { token, count } = chain.issue({ count: lastSeq, type, value });
  const seconds = value === undefined ? null : valueToSeconds(value, device.timeDivider);
  return { keycode: token, seq: count, units: value ?? null, seconds };
}

function _tokenType(kind: CodeKind): TokenType {
  switch (kind) {
    case "add":
      return "add_time";
    case "set":
    case "lock":
      return "set_time";
    case "unlock":
      return "disable_payg";
    case "counter_sync":
      return "counter_sync";
    default:
      throw new UsageError(`openpaygo has no ${kind} codes (it has add, set, lock, unlock and counter-sync)`);
  }
}

/** OpenPAYGO value units for `seconds`, rounded up; the divider is units per day. */
function _opgValue(device: DeviceSecrets, seconds: number): number {
  const value = Math.ceil((seconds * device.timeDivider) / 86400);
  const max = device.extended ? MAX_EXTENDED_VALUE : MAX_ACTIVATION_VALUE;
  const unit = device.timeDivider === 1 ? "days" : `1/${device.timeDivider} days`;
  if (value > max)
    throw new UsageError(
      `amount too large: ${value} units (${unit}) exceeds this device's ${max}; issue it as several codes`,
    );
  if (isReservedValue(value))
    throw new UsageError(`amount of ${value} units is reserved in OpenPAYGO (996-999); choose another amount`);
  return value;
}

/**
 * A Nexus keypad's credit unit, and the most one add and one set code carry in it: 5 digits of hours on the full
 * keypad (a set of 99999 is its unlock), the 8-bit day increments' largest on the small one.
 */
interface CreditUnit {
  readonly name: "hours" | "days";
  readonly seconds: number;
  readonly add: number;
  readonly set: number;
}
const FULL_UNIT: CreditUnit = { name: "hours", seconds: 3600, add: UNLOCK_HOURS, set: UNLOCK_HOURS - 1 };
const SMALL_UNIT: CreditUnit = { name: "days", seconds: 86400, add: 405, set: 960 };

/** `seconds` in whole units, rounded up; past what one `kind` code of `protocol` carries, refused. */
function _units(protocol: ProtocolName, unit: CreditUnit, kind: "add" | "set", seconds: number): number {
  const units = Math.ceil(seconds / unit.seconds);
  const max = unit[kind];
  if (units > max) throw new UsageError(`amount too large: ${units} ${unit.name} exceeds ${protocol}'s ${max}`);
  return units;
}

function _nexusFull(device: DeviceSecrets, request: CodeRequest, id: number): Encoded {
  const key = device.key;
  switch (request.kind) {
    case "add":
    case "set": {
      const hours = _units("nexus-full", FULL_UNIT, request.kind, request.seconds);
      const keycode = encodeFull({ type: request.kind === "add" ? "add_credit" : "set_credit", key, id, hours });
      return { keycode, seq: id, units: hours, seconds: hours * 3600 };
    }
    case "lock":
      return { keycode: encodeFull({ type: "set_credit", key, id, hours: 0 }), seq: id, units: 0, seconds: 0 };
    case "unlock":
      return { keycode: encodeFull({ type: "unlock", key, id }), seq: id, units: null, seconds: null };
    case "wipe": {
      if (!(WIPE_TARGETS as readonly string[]).includes(request.target))
        throw new UsageError(`--wipe expected one of ${WIPE_TARGETS.join(", ")}, got "${request.target}"`);
      const wipe = request.target as FullWipe;
      return { keycode: encodeFull({ type: "wipe_state", key, id, wipe }), seq: id, units: null, seconds: null };
    }
    case "test": {
      if (!Number.isInteger(request.minutes) || request.minutes < 1 || request.minutes > 99)
        throw new UsageError(`--test expected 1..99 minutes for nexus-full, got ${request.minutes}`);
      const keycode = encodeFull({ type: "qc_test", minutes: request.minutes });
      return { keycode, seq: null, units: request.minutes, seconds: request.minutes * 60 };
    }
    case "counter_sync":
      throw new UsageError("nexus-full has no counter-sync codes (that is OpenPAYGO)");
  }
}

/** Nexus small test codes: the short test (127 s, only when out of credit) and the QC test (60 minutes). */
const SMALL_TESTS: Readonly<Record<number, "short_test" | "qc_test">> = { 2: "short_test", 60: "qc_test" };
const SMALL_WIPES = { credit: "wipe_credit", credit_and_ids: "wipe_credit_and_ids", ids: "wipe_ids" } as const;

/**
 * The message at its ID, or at the first ID above it that the encoder does not refuse (`smallRefusal`: a 1-day set
 * credit at an ID of 63 mod 64 moves to the next ID, as nexus-python tells its callers to do). The skipped ID is
 * never issued, and the device takes the higher one as any ID in its window.
 */
function _usableId<M extends SmallMessage & { readonly id: number }>(message: M): M {
  let usable = message;
  while (smallRefusal(usable) !== null) usable = { ...usable, id: usable.id + 1 };
  return usable;
}

function _nexusSmall(device: DeviceSecrets, request: CodeRequest, id: number): Encoded {
  const key = device.key;
  switch (request.kind) {
    case "add":
    case "set": {
      // Days round up to the next value the 8-bit increment can carry (small.py does the same).
      const days = _units("nexus-small", SMALL_UNIT, request.kind, request.seconds);
      const type = request.kind === "add" ? "add_credit" : "set_credit";
      const granted =
        type === "add_credit" ? addIncrementDays(addIncrement(days)) : setIncrementDays(setIncrement(days));
      const message = _usableId({ type, key, id, days });
      return { keycode: encodeSmall(message), seq: message.id, units: granted, seconds: granted * 86400 };
    }
    case "lock":
      return { keycode: encodeSmall({ type: "lock", key, id }), seq: id, units: 0, seconds: 0 };
    case "unlock":
      return { keycode: encodeSmall({ type: "unlock", key, id }), seq: id, units: null, seconds: null };
    case "wipe": {
      if (request.target === "restricted_flag")
        return {
          keycode: encodeSmall({ type: "clear_restricted_flag", key, id }),
          seq: id,
          units: null,
          seconds: null,
        };
      const type = SMALL_WIPES[request.target as keyof typeof SMALL_WIPES];
      if (type === undefined)
        throw new UsageError(`--wipe expected one of ${[...Object.keys(SMALL_WIPES), "restricted_flag"].join(", ")}`);
      return { keycode: encodeSmall({ type, key }), seq: null, units: null, seconds: null };
    }
    case "test": {
      const type = SMALL_TESTS[request.minutes];
      if (type === undefined)
        throw new UsageError(
          `nexus-small test codes are --test 2 (short, 127 s) or --test 60 (QC), got ${request.minutes}`,
        );
      return { keycode: encodeSmall({ type }), seq: null, units: request.minutes, seconds: null };
    }
    case "counter_sync":
      throw new UsageError("nexus-small has no counter-sync codes (that is OpenPAYGO)");
  }
}
