// Stand-in for Moddable's `timer` module on the simulated board's virtual clock (hosts/node/simworld.ts).
// Pure TypeScript: it runs under Node and inside XS, so the firmware sees the same timing in both engines.
import { world } from "./simworld";

type Entry = ReturnType<ReturnType<typeof world>["clock"]["schedule"]>;
export type TimerCallback = (timer: Timer) => void;

/** Moddable's Timer API (set, repeat, schedule, clear, delay); time moves only when the host advances the clock. */
class Timer {
  private entry: Entry | undefined;
  private readonly clock = world().clock;

  private constructor(private readonly callback: TimerCallback) {}

  static set(callback: TimerCallback, interval = 0, repeat?: number): Timer {
    const timer = new Timer(callback);
    timer.start(interval, repeat);
    return timer;
  }

  static repeat(callback: TimerCallback, interval: number): Timer {
    return Timer.set(callback, interval, interval);
  }

  static schedule(timer: Timer, interval = 0, repeat?: number): void {
    timer.start(interval, repeat);
  }

  static clear(timer: Timer | undefined | null): void {
    if (timer?.entry) timer.clock.cancel(timer.entry);
    if (timer) timer.entry = undefined;
  }

  /** Busy-waits on a chip; here the virtual clock simply moves on (running whatever falls due). */
  static delay(milliseconds: number): void {
    world().clock.advance(milliseconds);
  }

  private start(interval: number, repeat: number | undefined): void {
    const fire = () => {
      if (this.entry && !this.entry.repeat) this.entry = undefined;
      this.callback(this);
    };
    const repeating = repeat !== undefined && repeat > 0;
    if (this.entry) this.clock.reschedule(this.entry, interval, repeat ?? 0, repeating);
    else this.entry = this.clock.schedule(fire, interval, repeat ?? 0, repeating);
  }
}

export default Timer;
