// The device core (issue 6): keys -> framing -> ledger -> journal -> outputs. Every ledger step's record is committed
// to the journal BEFORE its load change or feedback is shown; any exception turns the load off for good (fault).
import { encodeDevice, mountedDevice } from "./ledger/codec";
import { limiterWaitMs } from "./ledger/limiter";
import { loadOn, mount, nextWakeMs, reduce, remainingMs, type Feedback, type LedgerEvent } from "./ledger/reducer";
import type { LedgerState } from "./ledger/reducer";
import type { KeycodeProtocol } from "./protocols/protocol";
import type { Journal } from "./storage/journal";
import { patternFor, type FeedbackName, type FeedbackPlayer } from "./io/feedback";
import { Framer, type FrameSpec } from "./io/framing";
import type { LoadSwitch } from "./io/load";
import Timer from "timer";

/** Uptime resolution: credit, lease and limiter are counted in whole ticks of powered time. */
export const TICK_MS = 1000;

/**
 * How long the device waits after power-up, load off and keys ignored, before the first minute is charged
 * (docs/DESIGN.md, "Brown-out back-off"): none after a normal session; after k trailing one-minute sessions in the
 * journal's tally (a supply that browns out), 5 s x 4^(k-1), at most 10 minutes. A supply that resets the device
 * faster than this writes nothing and charges nothing.
 */
export function settleMs(shortSessions: number): number {
  return shortSessions === 0 ? 0 : Math.min(600_000, 5000 * 4 ** Math.min(shortSessions - 1, 5));
}

/** What the device did, for the simulator's trace, tests and support logs (no effect on the device itself). */
export type DeviceEvent =
  /** `locked`: the journal holds content but no readable record (ARCHITECTURE.md, Journal): codes are refused. */
  | { readonly type: "boot"; readonly status: "ready" | "not_provisioned" | "locked" }
  | { readonly type: "feedback"; readonly pattern: FeedbackName; readonly value?: number; readonly reason?: string }
  | { readonly type: "load"; readonly on: boolean }
  /** Powered seconds of credit left (test power included), or "unlocked". After boot, codes and queries. */
  | { readonly type: "credit"; readonly seconds: number | "unlocked" }
  | { readonly type: "passthrough"; readonly digits: string }
  | { readonly type: "fault"; readonly reason: string };

export interface ControllerOptions<S> {
  readonly protocol: KeycodeProtocol<S>;
  /** The mounted journal of this device's state. */
  readonly journal: Journal;
  readonly frame: FrameSpec;
  readonly load: LoadSwitch;
  readonly feedback: FeedbackPlayer;
  /** The id the display-ID code blinks. */
  readonly deviceId: number;
  readonly observe?: (event: DeviceEvent) => void;
  /**
   * The product hook for Nexus passthrough codes (issue 4): their digits, after the code's record is committed.
   * Without one, passthrough codes are verified, marked used and only observed.
   */
  readonly onPassthrough?: (digits: string) => void;
}

type Mode = "starting" | "settling" | "ready" | "locked" | "fault";

export class Controller<S> {
  private mode: Mode = "starting";
  private ledger: LedgerState<S> | undefined;
  private readonly framer: Framer;
  private idleTimer: Timer | undefined;
  private ticker: Timer | undefined;
  /** Powered uptime counted by the ticker, and how much of it the ledger has been told. */
  private uptimeMs = 0;
  private reportedMs = 0;

  constructor(private readonly options: ControllerOptions<S>) {
    this.framer = new Framer(options.frame);
  }

  /** Mounts the state and starts metering. The load has been off since power-on and stays off unless the state says. */
  boot(): void {
    this.guard(() => {
      const { journal, protocol } = this.options;
      const device = mountedDevice(protocol, journal.mounted);
      if (device === undefined) {
        this.mode = "locked";
        this.options.load.set(false);
        this.emit({ type: "boot", status: "locked" });
        this.emit({ type: "load", on: false });
        this.options.feedback.background(patternFor("fault"));
        this.emit({ type: "feedback", pattern: "fault" });
        return;
      }
      // Migration (docs/SPEC.md): the first boot of v2 firmware writes the state as a v2 record if need be, then
      // the OTP mark.
      if (!journal.migrated) journal.migrate(encodeDevice(protocol, device));
      this.ledger = mount(device);
      this.mode = "settling";
      this.emit({ type: "boot", status: "ready" });
      const settle = settleMs(journal.shortSessions);
      if (settle === 0) return this.start();
      this.options.load.set(false);
      this.emit({ type: "load", on: false });
      Timer.set(() => this.guard(() => this.start()), settle);
    });
  }

  /** After the settle time: the ledger's boot (the first minute charged, the load on) and metering. */
  private start(): void {
    if (this.mode !== "settling") return;
    this.mode = "ready";
    this.step({ type: "boot" });
    this.emitCredit();
    this.ticker = Timer.repeat(() => this.guard(() => this.tick()), TICK_MS);
  }

  /** One key from the keypad. */
  key(key: string): void {
    this.guard(() => {
      if (this.mode === "locked") return this.show("rejected");
      if (this.mode !== "ready") return;
      const spec = this.framer.spec;
      if (!this.framer.active && (spec.start === undefined ? spec.digits.includes(key) : key === spec.start)) {
        // The limiter holds: refuse the entry as it starts, not after a person has typed 15 keys.
        this.catchUp();
        if (limiterWaitMs((this.ledger as LedgerState<S>).device.limiter) > 0) return this.show("rejected");
      }
      const result = this.framer.press(key);
      switch (result.kind) {
        case "ignored":
          return;
        case "key":
        case "restart":
          this.armIdle();
          return this.show("key");
        case "malformed":
          this.clearIdle();
          return this.show("invalid", 0, "entry length");
        case "query":
          this.clearIdle();
          this.catchUp();
          return this.step({ type: "query" });
        case "entry":
          this.clearIdle();
          this.catchUp();
          return this.step({ type: "entry", digits: result.digits });
      }
    });
  }

  private tick(): void {
    this.uptimeMs += TICK_MS;
    const wake = nextWakeMs(this.ledger as LedgerState<S>);
    if (wake !== undefined && this.uptimeMs - this.reportedMs >= wake) this.catchUp();
  }

  /** Tells the ledger the uptime it has not seen yet. */
  private catchUp(): void {
    const ms = this.uptimeMs - this.reportedMs;
    if (ms <= 0) return;
    this.reportedMs = this.uptimeMs;
    this.step({ type: "elapsed", ms });
  }

  private step(event: LedgerEvent): void {
    const { protocol, journal, load } = this.options;
    const { state, effects } = reduce(protocol, this.ledger as LedgerState<S>, event);
    // Commit first: if the journal throws, guard() turns the load off and nothing of this step is shown.
    for (const effect of effects) {
      if (effect.type === "persist") journal.append(encodeDevice(protocol, effect.device), effect);
      else if (effect.type === "tick") journal.tick();
    }
    this.ledger = state;
    for (const effect of effects) {
      if (effect.type === "load") {
        // Metering starts now, not at the last tick: the tick's time so far had no load to pay for. (Done only
        // when the load comes on, so no key sequence can keep re-phasing the ticker to stop the meter.)
        if (effect.on && !load.isOn && this.ticker) Timer.schedule(this.ticker, TICK_MS, TICK_MS);
        load.set(effect.on);
        this.emit({ type: "load", on: effect.on });
      } else if (effect.type === "feedback") {
        this.showFeedback(effect.feedback);
      } else if (effect.type === "passthrough") {
        this.emit({ type: "passthrough", digits: effect.digits });
        this.options.onPassthrough?.(effect.digits);
      }
    }
    if (load.isOn !== loadOn(state)) throw new Error("load output disagrees with the ledger");
  }

  private showFeedback(feedback: Feedback): void {
    switch (feedback.kind) {
      case "applied":
        this.show("applied");
        return this.emitCredit();
      case "duplicate":
        return this.show("duplicate");
      case "invalid":
        // A wrong guess that started a lockout says so: the person should stop, not try again.
        if (limiterWaitMs((this.ledger as LedgerState<S>).device.limiter) > 0)
          return this.show("locked_out", 0, feedback.reason);
        return this.show("invalid", 0, feedback.reason);
      case "locked_out":
        return this.show("locked_out", Math.ceil(feedback.waitMs / 1000));
      case "display_id":
        return this.show("display_id", this.options.deviceId);
      case "credit":
        this.show("credit", feedback.unlocked ? Infinity : feedback.days);
        return this.emitCredit();
    }
  }

  private emitCredit(): void {
    const ms = remainingMs(this.ledger as LedgerState<S>);
    this.emit({ type: "credit", seconds: ms === Infinity ? "unlocked" : Math.floor(ms / 1000) });
  }

  private show(pattern: FeedbackName, value = 0, reason?: string): void {
    this.options.feedback.play(patternFor(pattern, value));
    const event: { type: "feedback"; pattern: FeedbackName; value?: number; reason?: string } = {
      type: "feedback",
      pattern,
    };
    if (pattern === "display_id" || pattern === "credit" || (pattern === "locked_out" && value > 0))
      event.value = value === Infinity ? -1 : value;
    if (reason !== undefined) event.reason = reason;
    this.emit(event);
  }

  private armIdle(): void {
    this.clearIdle();
    this.idleTimer = Timer.set(
      () =>
        this.guard(() => {
          this.idleTimer = undefined;
          const expired = this.framer.expire();
          if (expired === "timeout") this.show("timeout");
          else if (expired === "query") {
            this.catchUp();
            this.step({ type: "query" });
          }
        }),
      this.framer.spec.idleTimeoutMs,
    );
  }

  private clearIdle(): void {
    if (this.idleTimer) Timer.clear(this.idleTimer);
    this.idleTimer = undefined;
  }

  private emit(event: DeviceEvent): void {
    this.options.observe?.(event);
  }

  /** Runs `work`; any exception is an internal error: load off, fault pattern, no more codes until power-cycled. */
  private guard(work: () => void): void {
    if (this.mode === "fault") return;
    try {
      work();
    } catch (e) {
      this.mode = "fault";
      try {
        this.options.load.set(false);
      } finally {
        this.clearIdle();
        if (this.ticker) Timer.clear(this.ticker);
        this.ticker = undefined;
        this.emit({ type: "load", on: false });
        this.emit({ type: "fault", reason: e instanceof Error ? e.message : String(e) });
        this.options.feedback.background(patternFor("fault"));
      }
    }
  }
}
