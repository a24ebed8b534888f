// Conformance check of one Nexus Keycode vector row (../shared/vectors/README.md, nexus.jsonl; the optional fields
// `highest`, `refused` and the type `extended_set_credit` are solkey's own rows, vectors/README.md): encodes the
// keycode and compares it, then verifies it on a device whose window holds the row's ID unused and compares the
// action. A `refused` row passes when solkey's encoder refuses the message.
// No Node APIs: the XS probe (tools/probes/nexus.probe.ts) runs this same check inside XS.
import type { Action } from "../../firmware/protocols/action";
import { fullDigits, type FullMessage, type FullWipe } from "../../firmware/protocols/nexus/full";
import { nexusFull } from "../../firmware/protocols/nexus/full_device";
import { roundSmallDays, smallRefusal, smallSymbols, type SmallMessage } from "../../firmware/protocols/nexus/small";
import { nexusSmall } from "../../firmware/protocols/nexus/small_device";
import { freshState, WINDOW_BELOW, type NexusState } from "../../firmware/protocols/nexus/window";
import { hexToBytes } from "../../firmware/hex";

export interface NexusRow {
  protocol: "nexus-full" | "nexus-small";
  key?: string;
  id?: number;
  type: string;
  hours?: number;
  days?: number;
  minutes?: number;
  wipe?: FullWipe;
  /** The device's window top (default: the fresh window, or the row's ID when above it). */
  highest?: number;
  /** The encoder must refuse this message (no keycode, or the keycode a reference issues and solkey does not). */
  refused?: boolean;
  keycode?: string;
}

const HOUR = 3600;
const DAY = 86400;
/** Factory and test rows carry no key; their codes do not depend on the device key. */
const ANY_KEY = "00112233445566778899aabbccddeeff";

/** null when the row passes; otherwise what differed. */
export function checkNexus(row: NexusRow): string | null {
  const key = hexToBytes(row.key ?? ANY_KEY);
  const full = row.protocol === "nexus-full";
  const message = { ...row, key } as unknown;
  if (row.refused === true) {
    const refusal = full ? null : smallRefusal(message as SmallMessage);
    return refusal === null ? "encoder issued a message the row says it must refuse" : null;
  }
  if (typeof row.keycode !== "string") throw new TypeError('"keycode" expected a string');
  const digits = full ? fullDigits(message as FullMessage) : smallSymbols(message as SmallMessage);
  // Compare digits and framing only: `*...#` for full, a leading start key `1` for small.
  const printed = row.keycode.replace(/ /g, "");
  const expected = full ? `*${digits}#` : `1${digits}`;
  if (printed !== expected) return `keycode ${expected}, expected ${printed}`;
  const enableExtendedSmallMessage = row.type === "extended_set_credit";
  const protocol = full ? nexusFull({ key }) : nexusSmall({ key, enableExtendedSmallMessage });
  const state = row.highest === undefined ? windowHolding(row.id ?? 0) : { ...windowHolding(0), highest: row.highest };
  const verdict = protocol.verify(state, digits);
  if (verdict.kind !== "applied")
    return `device said ${verdict.kind}${"reason" in verdict ? ` (${verdict.reason})` : ""}`;
  const want = expectedAction(row);
  const got = JSON.stringify(verdict.action);
  return got === JSON.stringify(want) ? null : `action ${got}, expected ${JSON.stringify(want)}`;
}

/** A fresh device whose window has reached `id` without using it (the device the row's code was issued for). */
export function windowHolding(id: number): NexusState {
  return { ...freshState(false), highest: Math.max(WINDOW_BELOW, id) };
}

/** The action the row's type and amount call for (the mapping in firmware/protocols/action.ts). */
export function expectedAction(row: NexusRow): Action {
  const full = row.protocol === "nexus-full";
  switch (row.type) {
    case "add_credit":
      return {
        type: "add_credit",
        seconds: full ? _n(row.hours) * HOUR : roundSmallDays("add_credit", _n(row.days)) * DAY,
      };
    case "set_credit":
    case "extended_set_credit":
      return {
        type: "set_credit",
        seconds: full ? _n(row.hours) * HOUR : roundSmallDays("set_credit", _n(row.days)) * DAY,
      };
    case "unlock":
      return { type: "unlock" };
    case "lock":
    case "wipe_credit":
    case "wipe_credit_and_ids":
      return { type: "set_credit", seconds: 0 };
    case "wipe_ids":
      return { type: "none" };
    case "clear_restricted_flag":
      return { type: "clear_restricted_flag" };
    case "wipe_state":
      if (row.wipe === "ids") return { type: "none" };
      if (row.wipe === "restricted_flag") return { type: "clear_restricted_flag" };
      return { type: "set_credit", seconds: 0 };
    case "qc_test": {
      const seconds = full ? _n(row.minutes) * 60 : HOUR;
      return { type: "test", seconds, whenLocked: seconds !== HOUR };
    }
    case "allow_test":
    case "short_test":
      return { type: "test", seconds: 127, whenLocked: true };
    case "display_id":
      return { type: "display_id" };
    default:
      throw new RangeError(`"type" expected a Nexus vector type, got ${row.type}`);
  }
}

function _n(value: number | undefined): number {
  if (typeof value !== "number") throw new TypeError("row is missing its amount");
  return value;
}
