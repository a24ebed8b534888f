// Probe: the ledger (reducer, limiter, codec) over a tiny fake keycode protocol, identical under Node and XS.
import type { Action, Verdict } from "../../firmware/protocols/action";
import type { KeycodeProtocol } from "../../firmware/protocols/protocol";
import { decodeDevice, encodeDevice } from "../../firmware/ledger/codec";
import { mount, reduce, type Effect, type LedgerEvent, type LedgerState } from "../../firmware/ledger/reducer";
import { freshState, type DeviceState } from "../../firmware/ledger/state";
import { bytesToHex } from "../../firmware/hex";

/** The fake's replay state: the ids it has applied, ascending. */
export interface FakeState {
  readonly used: readonly number[];
}

const _OPS: readonly ((minutes: number) => Action)[] = [
  (m) => ({ type: "add_credit", seconds: m * 60 }),
  (m) => ({ type: "set_credit", seconds: m * 60 }),
  () => ({ type: "unlock" }),
  (m) => ({ type: "test", seconds: m * 60, whenLocked: false }),
  (m) => ({ type: "test", seconds: m * 60, whenLocked: true }),
  () => ({ type: "clear_restricted_flag" }),
  () => ({ type: "display_id" }),
  () => ({ type: "none" }),
  (m) => ({ type: "passthrough", digits: String(m).padStart(4, "0") }),
];

/** Op digits of fakeCode, in _OPS order. */
export const FAKE_OP = {
  add: 0,
  set: 1,
  unlock: 2,
  test: 3,
  allowTest: 4,
  clearRestricted: 5,
  displayId: 6,
  none: 7,
  passthrough: 8,
} as const;

/**
 * A keycode of the fake protocol: 2-digit id, 1-digit op, 4-digit amount in minutes, check digit (digit sum mod
 * 10). Not a secure protocol: it only gives the ledger genuine, duplicate and invalid entries to work with.
 */
export function fakeCode(id: number, op: number, minutes = 0): string {
  const body = String(id).padStart(2, "0") + String(op) + String(minutes).padStart(4, "0");
  let sum = 0;
  for (const c of body) sum += c.charCodeAt(0) - 48;
  return body + String(sum % 10);
}

/** The fake protocol under a real protocol's name (the name picks the limiter). */
export function fakeProtocol(name: "nexus-full" | "nexus-small" | "openpaygo"): KeycodeProtocol<FakeState> {
  return {
    name,
    initialState: () => ({ used: [] }),
    verify(state: FakeState, entry: string): Verdict<FakeState> {
      if (!/^\d{8}$/.test(entry)) return { kind: "invalid", reason: "not 8 digits", malformed: true };
      const id = Number(entry.slice(0, 2));
      const op = Number(entry[2]);
      const minutes = Number(entry.slice(3, 7));
      if (fakeCode(id, op, minutes) !== entry) return { kind: "invalid", reason: "bad check digit" };
      if (op >= _OPS.length) return { kind: "invalid", reason: "unknown op" };
      if (state.used.includes(id)) return { kind: "duplicate" };
      const used = [...state.used, id].sort((a, b) => a - b);
      // As the real protocols: credit, unlock and flag codes need the secret; test, display, none and passthrough
      // codes stand for the ones anyone can type.
      return {
        kind: "applied",
        action: _OPS[op](minutes),
        state: { used },
        secret: op <= FAKE_OP.clearRestricted && op !== FAKE_OP.test && op !== FAKE_OP.allowTest,
      };
    },
    toWords: (state) => [state.used.length, ...state.used],
    fromWords(words) {
      if (words.length === 0 || words[0] !== words.length - 1) return undefined;
      const used = words.slice(1);
      for (let i = 0; i < used.length; i++) if (used[i] > 99 || (i > 0 && used[i] <= used[i - 1])) return undefined;
      return { used };
    },
  };
}

/** One step of a scripted run: an event, or a power cut (RAM lost, state remounted from the last record). */
export type ScriptStep = LedgerEvent | { readonly type: "cut" };

/** What a scripted run printed: each step's effects, records shown as hex (what the journal would write). */
export type TraceLine = (Effect<FakeState> | { type: "persist"; record: string })[];

/** Runs a script from a factory-fresh device; returns each step's effects with persisted records encoded. */
export function runScript(
  name: "nexus-full" | "nexus-small" | "openpaygo",
  script: readonly ScriptStep[],
): TraceLine[] {
  const protocol = fakeProtocol(name);
  let saved: DeviceState<FakeState> = freshState(protocol);
  let state: LedgerState<FakeState> = mount(saved);
  const trace: TraceLine[] = [];
  for (const step of script) {
    if (step.type === "cut") {
      const decoded = decodeDevice(protocol, encodeDevice(protocol, saved));
      if (decoded === undefined) throw new Error("record did not decode");
      state = mount(decoded);
      trace.push([]);
      continue;
    }
    const out = reduce(protocol, state, step);
    state = out.state;
    trace.push(
      out.effects.map((e) => {
        if (e.type !== "persist") return e;
        saved = e.device;
        return { type: "persist", record: bytesToHex(encodeDevice(protocol, e.device)) };
      }),
    );
  }
  return trace;
}
