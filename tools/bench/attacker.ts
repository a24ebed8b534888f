// The keypad attacker of docs/SECURITY.md, played against the real ledger: reducer, attempt limiter and record codec
// (a power cut remounts the device from its last record's bytes). Used by `npm run bench -- odds` and by the tests
// that pin issue 11's findings (test/ledger-limiter-attacks.test.ts).
import { decodeDevice, encodeDevice } from "../../firmware/ledger/codec";
import { mount, reduce, type Feedback, type LedgerEvent, type LedgerState } from "../../firmware/ledger/reducer";
import { freshState, type DeviceState } from "../../firmware/ledger/state";
import type { KeycodeProtocol } from "../../firmware/protocols/protocol";

/** What the attacker does besides guessing. Every part is optional; all of them together is the worst case. */
export interface Strategy {
  /** An entry typed between guesses: a public code (passthrough, ID confirmation, test) or a known wipe code. */
  readonly between?: () => string;
  /** A code bought every `everyMs` of uptime (typed as soon as the limiter takes it). */
  readonly buy?: { readonly everyMs: number; next(): string };
  /** Pull the plug right after each guess and at a random moment of some waits (time off is free and gives nothing). */
  readonly cuts?: boolean;
}

export interface AttackResult {
  /** Guesses the device verified and refused. */
  readonly guesses: number;
  /** A guess applied (credit or unlock): the attacker won. */
  readonly won: boolean;
}

/**
 * One device attacked for `uptimeMs` of powered time: a guess the moment the limiter takes one, waits fast-forwarded
 * in one `elapsed` event each (exact: the limiter counts durations, and nothing else happens meanwhile).
 * `guess` returns the next guess; `random` in [0, 1) places the cuts.
 */
export function attack<S>(
  protocol: KeycodeProtocol<S>,
  guess: () => string,
  strategy: Strategy,
  uptimeMs: number,
  random: () => number,
): AttackResult {
  const device = new _Device(protocol);
  let t = 0;
  let guesses = 0;
  let nextBuy = strategy.buy ? strategy.buy.everyMs : Infinity;
  const pending: string[] = [];
  for (;;) {
    const entry = pending.length > 0 ? pending[0] : guess();
    const feedback = device.enter(entry);
    if (feedback?.kind === "locked_out") {
      const step = Math.min(feedback.waitMs, nextBuy - t);
      if (t + step > uptimeMs) return { guesses, won: false };
      // A cut in a wait loses the uptime since the last checkpoint (it only makes the limiter stricter), so one in
      // every few waits: enough to try every moment, not so many that the lockout never runs down.
      if (strategy.cuts && random() < 1 / 8) {
        const before = Math.floor(random() * step);
        device.elapse(before);
        device.cut();
        device.elapse(step - before);
      } else {
        device.elapse(step);
      }
      t += step;
      if (t >= nextBuy) {
        pending.push(strategy.buy!.next());
        nextBuy += strategy.buy!.everyMs;
      }
      continue;
    }
    if (pending.length > 0 && entry === pending[0]) {
      pending.shift();
      continue;
    }
    if (feedback?.kind === "applied") return { guesses, won: true };
    if (feedback?.kind === "invalid") guesses++;
    if (strategy.cuts) device.cut();
    // Typed before the next guess, as soon as the limiter takes it: on the old limiter each one reset the count.
    if (strategy.between) pending.push(strategy.between());
  }
}

/** The ledger with its journal reduced to the last record; `cut()` remounts from that record's bytes and boots. */
class _Device<S> {
  private saved: DeviceState<S>;
  private state: LedgerState<S>;

  constructor(private readonly protocol: KeycodeProtocol<S>) {
    this.saved = freshState(protocol);
    this.state = mount(this.saved);
    this.send({ type: "boot" });
  }

  enter(digits: string): Feedback | undefined {
    for (const e of this.send({ type: "entry", digits })) if (e.type === "feedback") return e.feedback;
    return undefined;
  }

  elapse(ms: number): void {
    if (ms > 0) this.send({ type: "elapsed", ms });
  }

  cut(): void {
    const device = decodeDevice(this.protocol, encodeDevice(this.protocol, this.saved));
    if (device === undefined) throw new Error("the last record does not decode (a firmware bug)");
    this.state = mount(device);
    this.send({ type: "boot" });
  }

  private send(event: LedgerEvent) {
    const step = reduce(this.protocol, this.state, event);
    this.state = step.state;
    for (const e of step.effects) if (e.type === "persist") this.saved = e.device;
    return step.effects;
  }
}
