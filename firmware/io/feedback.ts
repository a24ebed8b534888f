// Feedback for people who may not read: distinct LED rhythms (and the same rhythm on an optional buzzer) per outcome.
// Patterns are data (on/off durations); the player drives ECMA-419 Digital outputs from Moddable timers.
import type Digital from "embedded:io/digital";
import Timer from "timer";

export type FeedbackName =
  /** A key taken into the entry. */
  | "key"
  /** A key refused because the attempt limiter holds the keypad. */
  | "rejected"
  | "applied"
  | "duplicate"
  | "invalid"
  /** A wrong code that started (or continues) a lockout. */
  | "locked_out"
  | "display_id"
  /** The remaining credit, as one blink per day. */
  | "credit"
  | "not_provisioned"
  /** An entry dropped after the idle timeout. */
  | "timeout"
  /** An internal error: the load is off and the device waits for service. */
  | "fault";

/** A rhythm: durations in ms, alternately on and off, starting on; `repeat`: loops until another pattern plays. */
export interface Pattern {
  readonly steps: readonly number[];
  readonly repeat: boolean;
  /** Whether the buzzer sounds with the LED (the short key blink stays silent on the buzzer: it would be noise). */
  readonly buzz: boolean;
}

/** Most blinks a credit display shows: past a month, a person counts "many", and the display takes too long. */
export const CREDIT_BLINKS_MAX = 31;

// Patterns are frozen, steps too: FIXED lives in a preloaded module, shared and read-only on the device.
function _pattern(steps: number[], repeat: boolean, buzz: boolean): Pattern {
  return Object.freeze({ steps: Object.freeze(steps), repeat, buzz });
}

function _pulses(count: number, on: number, off: number, buzz = true, repeat = false): Pattern {
  const steps: number[] = [];
  for (let i = 0; i < count; i++) steps.push(on, off);
  return _pattern(steps, repeat, buzz);
}

const FIXED: Readonly<Record<Exclude<FeedbackName, "display_id" | "credit">, Pattern>> = Object.freeze({
  key: _pattern([40, 10], false, false),
  rejected: _pulses(2, 40, 60),
  applied: _pattern([2000, 200], false, true),
  duplicate: _pulses(2, 500, 300),
  invalid: _pulses(5, 120, 120),
  locked_out: _pulses(10, 60, 60),
  not_provisioned: _pattern([100, 100, 100, 100, 100, 1500], true, false),
  timeout: _pulses(1, 300, 100),
  fault: _pattern([1000, 1000], true, false),
});

/** The pattern for `name`; `value` is the id (display_id: digit by digit, 0 as ten) or whole days (credit). */
export function patternFor(name: FeedbackName, value = 0): Pattern {
  if (name === "credit") {
    // Unlocked for ever reads as one long glow; otherwise one blink per started day.
    if (value === Infinity) return _pattern([3000, 200], false, false);
    return _pulses(Math.min(CREDIT_BLINKS_MAX, Math.max(0, Math.ceil(value))), 250, 250, false);
  }
  if (name === "display_id") {
    const steps: number[] = [];
    for (const ch of String(Math.max(0, Math.floor(value)))) {
      const n = ch === "0" ? 10 : Number(ch);
      for (let i = 0; i < n; i++) steps.push(250, 250);
      steps[steps.length - 1] = 1200; // a long gap between digits
    }
    return _pattern(steps, false, false);
  }
  return FIXED[name];
}

/** The outputs feedback drives. */
export interface FeedbackOptions {
  readonly led: Digital;
  readonly buzzer?: Digital;
  /** Level that lights the LED (boards wire LEDs either way). */
  readonly ledOn?: 0 | 1;
}

/**
 * Plays one pattern at a time: a new one cuts the old short (the newest outcome is the one a person must see). A
 * background pattern (a lasting condition: fault, not provisioned) resumes whenever nothing else plays.
 */
export class FeedbackPlayer {
  private timer: Timer | undefined;
  private pattern: Pattern | undefined;
  private resting: Pattern | undefined;
  private step = 0;
  private readonly ledOn: 0 | 1;

  constructor(private readonly options: FeedbackOptions) {
    this.ledOn = options.ledOn ?? 1;
    this.output(false);
  }

  play(pattern: Pattern): void {
    this.stop();
    if (pattern.steps.length === 0) return;
    this.pattern = pattern;
    this.step = 0;
    this.advance();
  }

  /** Sets (or clears) the pattern shown between others, and shows it now unless one is playing. */
  background(pattern: Pattern | undefined): void {
    this.resting = pattern;
    if (this.pattern === undefined || this.pattern.repeat) {
      if (pattern) this.play(pattern);
      else this.stop();
    }
  }

  /** Ends any pattern with the LED and buzzer off (the background, if any, is not resumed). */
  stop(): void {
    if (this.timer) Timer.clear(this.timer);
    this.timer = undefined;
    this.pattern = undefined;
    this.output(false);
  }

  /** Whether a pattern is playing. */
  get busy(): boolean {
    return this.pattern !== undefined;
  }

  private advance(): void {
    const pattern = this.pattern as Pattern;
    if (this.step === pattern.steps.length) {
      if (!pattern.repeat) {
        this.stop();
        if (this.resting) this.play(this.resting);
        return;
      }
      this.step = 0;
    }
    const on = this.step % 2 === 0;
    this.output(on, pattern.buzz);
    const duration = pattern.steps[this.step++];
    this.timer = Timer.set(() => {
      this.timer = undefined;
      this.advance();
    }, duration);
  }

  private output(on: boolean, buzz = false): void {
    this.options.led.write(on ? this.ledOn : ((1 - this.ledOn) as 0 | 1));
    this.options.buzzer?.write(on && buzz ? 1 : 0);
  }
}
