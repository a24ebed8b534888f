// Test helpers for the ledger suites: a device that runs the reducer and keeps the last record and its tally of
// charged minutes like a journal (docs/SPEC.md, "Tally").
import { encodeDevice, mountedDevice } from "../firmware/ledger/codec";
import {
  mount,
  reduce,
  type Effect,
  type Feedback,
  type LedgerEvent,
  type LedgerState,
} from "../firmware/ledger/reducer";
import { chargeMinutes, freshState, type DeviceState } from "../firmware/ledger/state";
import type { KeycodeProtocol } from "../firmware/protocols/protocol";

/** A ledger with its journal reduced to the last committed record and its tally; `cut()` is a power cut. */
export class Bench<S> {
  /** The last committed record and the minutes ticked since (what a journal mount returns). */
  record: DeviceState<S>;
  minutes = 0;
  state: LedgerState<S>;
  effects: Effect<S>[] = [];
  records = 0;
  ticks = 0;

  constructor(readonly protocol: KeycodeProtocol<S>) {
    this.record = freshState(protocol);
    this.state = mount(this.record);
  }

  /** The committed state: the last record less the minutes charged in its tally since. */
  get saved(): DeviceState<S> {
    return { ...this.record, payg: chargeMinutes(this.record.payg, this.minutes) };
  }

  /** Runs one event; records persists and ticks; returns its effects. */
  send(event: LedgerEvent): Effect<S>[] {
    const out = reduce(this.protocol, this.state, event);
    this.state = out.state;
    this.effects = out.effects;
    for (const e of out.effects) {
      if (e.type === "persist") {
        this.record = e.device;
        this.minutes = 0;
        this.records++;
      } else if (e.type === "tick") {
        this.minutes++;
        this.ticks++;
      }
    }
    return out.effects;
  }

  boot(): Effect<S>[] {
    return this.send({ type: "boot" });
  }

  elapse(ms: number): Effect<S>[] {
    return this.send({ type: "elapsed", ms });
  }

  enter(digits: string): Feedback | undefined {
    return feedbackOf(this.send({ type: "entry", digits }));
  }

  query(): Feedback | undefined {
    return feedbackOf(this.send({ type: "query" }));
  }

  /** Power cut: RAM is lost; the device remounts from the last record (round-tripped through its bytes) less its tally. */
  cut(): void {
    const payload = encodeDevice(this.protocol, this.record);
    const decoded = mountedDevice(this.protocol, {
      kind: "record",
      payload,
      sequence: this.records,
      minutes: this.minutes,
    });
    if (decoded === undefined) throw new Error("the last record does not decode");
    this.state = mount(decoded);
  }
}

/** The feedback among `effects`, if any. */
export function feedbackOf<S>(effects: readonly Effect<S>[]): Feedback | undefined {
  for (const e of effects) if (e.type === "feedback") return e.feedback;
  return undefined;
}

/** The load effect among `effects`, if any. */
export function loadOf<S>(effects: readonly Effect<S>[]): boolean | undefined {
  for (const e of effects) if (e.type === "load") return e.on;
  return undefined;
}

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
