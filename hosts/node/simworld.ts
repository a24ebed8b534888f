// The simulated board behind the Moddable stand-ins: a virtual clock, GPIO nets with switches, and flash partitions.
// Pure TypeScript (no Node API) so the simulator and the firmware it drives run inside XS as well as under Node.
import { NO_OTP, type Otp } from "../../firmware/storage/otp";

/** A pseudo-pin that always drives low: a button between a GPIO and ground is a switch to GROUND. */
export const GROUND = -1;

/** ECMA-419 modes, numbered as in Moddable's embedded:io implementation. */
export const Mode = {
  Input: 0,
  InputPullUp: 1,
  InputPullDown: 2,
  InputPullUpDown: 3,
  Output: 8,
  OutputOpenDrain: 9,
} as const;
export const Edge = { Rising: 1, Falling: 2 } as const;

/** The modes as statics (`Digital.Output`, `DigitalBank.InputPullUp`), as ECMA-419 classes carry them: extended. */
export class PinModes {
  static readonly Input = Mode.Input;
  static readonly InputPullUp = Mode.InputPullUp;
  static readonly InputPullDown = Mode.InputPullDown;
  static readonly InputPullUpDown = Mode.InputPullUpDown;
  static readonly Output = Mode.Output;
  static readonly OutputOpenDrain = Mode.OutputOpenDrain;
}

interface Scheduled {
  due: number;
  seq: number;
  interval: number;
  repeat: boolean;
  fire(): void;
}

/** Virtual milliseconds: nothing moves until the host calls `advance`, so every run is reproducible. */
export class Clock {
  private nowMs = 0;
  private seq = 0;
  private queue: Scheduled[] = [];

  get now(): number {
    return this.nowMs;
  }

  /** Schedules `fire` after `delay` ms (and then every `interval` ms when `repeat`). Returns the entry to cancel. */
  schedule(fire: () => void, delay: number, interval = 0, repeat = false): Scheduled {
    const entry: Scheduled = { due: this.nowMs + Math.max(0, delay), seq: this.seq++, interval, repeat, fire };
    this.queue.push(entry);
    return entry;
  }

  reschedule(entry: Scheduled, delay: number, interval: number, repeat: boolean): void {
    this.cancel(entry);
    entry.due = this.nowMs + Math.max(0, delay);
    entry.seq = this.seq++;
    entry.interval = interval;
    entry.repeat = repeat;
    this.queue.push(entry);
  }

  cancel(entry: Scheduled): void {
    const i = this.queue.indexOf(entry);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** Runs everything due up to now + ms, in due order (ties: scheduling order), then sets now to the end. */
  advance(ms: number): void {
    const end = this.nowMs + ms;
    for (;;) {
      const next = this.earliest();
      if (next === undefined || next.due > end) break;
      this.nowMs = next.due;
      this.cancel(next);
      if (next.repeat) {
        next.due += Math.max(1, next.interval);
        next.seq = this.seq++;
        this.queue.push(next);
      }
      next.fire();
    }
    this.nowMs = end;
  }

  /** Due time of the next event, or undefined when nothing is scheduled. */
  nextDue(): number | undefined {
    return this.earliest()?.due;
  }

  private earliest(): Scheduled | undefined {
    let best: Scheduled | undefined;
    for (const e of this.queue) if (!best || e.due < best.due || (e.due === best.due && e.seq < best.seq)) best = e;
    return best;
  }
}

export type Level = 0 | 1;

interface PinState {
  mode: number;
  driven: Level;
}

/** A listener on input pins: called (through the clock, as an interrupt is) with the pins whose level changed. */
interface Watch {
  pins: number[];
  rises: number[];
  falls: number[];
  last: Map<number, Level>;
  notify(changed: number[]): void;
}

/**
 * GPIO nets: each pin is an input, a push-pull output or an open-drain output; closed switches join pins into nets.
 * A net reads low if anything in it drives low (an output at 0, an open-drain at 0, or GROUND), high if a push-pull
 * output drives it high, else follows its pulls (a floating input reads high).
 */
export class Pins {
  private readonly states = new Map<number, PinState>();
  private readonly closed: Array<[number, number]> = [];
  private watches: Watch[] = [];
  /** Every write to an output pin, for displays and tests: (pin, level) with the clock's time. */
  onWrite: ((pin: number, level: Level) => void) | undefined;

  constructor(private readonly clock: Clock) {}

  claim(pin: number, mode: number): void {
    if (this.states.has(pin)) throw new Error(`pin ${pin} is already in use`);
    this.states.set(pin, { mode, driven: 1 });
  }

  release(pin: number): void {
    this.states.delete(pin);
    this.watches = this.watches.filter((w) => !w.pins.includes(pin));
    this.changed();
  }

  write(pin: number, level: Level): void {
    const state = this.states.get(pin);
    if (!state) throw new Error(`pin ${pin} is not open`);
    state.driven = level;
    this.onWrite?.(pin, level);
    this.changed();
  }

  /** The level a pin reads now. */
  level(pin: number): Level {
    const net = this.net(pin);
    let high = false;
    let pull: Level | undefined;
    for (const p of net) {
      if (p === GROUND) return 0;
      const s = this.states.get(p);
      if (!s) continue;
      if ((s.mode === Mode.Output || s.mode === Mode.OutputOpenDrain) && s.driven === 0) return 0;
      if (s.mode === Mode.Output && s.driven === 1) high = true;
      if (s.mode === Mode.InputPullDown) pull = pull ?? 0;
      if (s.mode === Mode.InputPullUp || s.mode === Mode.OutputOpenDrain) pull = 1;
    }
    return high ? 1 : (pull ?? 1);
  }

  /** What an output pin is set to (undefined when the pin is not open). */
  driven(pin: number): Level | undefined {
    return this.states.get(pin)?.driven;
  }

  connect(a: number, b: number): void {
    this.closed.push([a, b]);
    this.changed();
  }

  disconnect(a: number, b: number): void {
    const i = this.closed.findIndex(([x, y]) => (x === a && y === b) || (x === b && y === a));
    if (i >= 0) this.closed.splice(i, 1);
    this.changed();
  }

  watch(pins: number[], rises: number[], falls: number[], notify: (changed: number[]) => void): void {
    const last = new Map<number, Level>();
    for (const p of pins) last.set(p, this.level(p));
    this.watches.push({ pins, rises, falls, last, notify });
  }

  private net(pin: number): Set<number> {
    const seen = new Set<number>([pin]);
    const todo = [pin];
    while (todo.length > 0) {
      const p = todo.pop() as number;
      for (const [a, b] of this.closed) {
        const other = a === p ? b : b === p ? a : undefined;
        if (other !== undefined && !seen.has(other)) {
          seen.add(other);
          todo.push(other);
        }
      }
    }
    return seen;
  }

  /** Edge detection after any change; callbacks are delivered through the clock, never inside the write. */
  private changed(): void {
    for (const w of this.watches) {
      const fired: number[] = [];
      for (const p of w.pins) {
        const now = this.level(p);
        const before = w.last.get(p);
        w.last.set(p, now);
        if (before === 1 && now === 0 && w.falls.includes(p)) fired.push(p);
        if (before === 0 && now === 1 && w.rises.includes(p)) fired.push(p);
      }
      if (fired.length > 0) {
        const watch = w;
        this.clock.schedule(() => {
          if (this.watches.includes(watch)) watch.notify(fired);
        }, 0);
      }
    }
  }
}

/** One flash partition: raw bytes, erased to 0xFF in blocks of `blockSize`, at `offset` in the chip's address map. */
export interface Partition {
  readonly bytes: Uint8Array;
  readonly blockSize: number;
  readonly offset: number;
  /** Counts writes and erases, so a host saves the image only when it changed. */
  mutations: number;
  /** Called before each write or erase (tests log the order of commits, or throw to play a failed flash). */
  beforeMutation?: (kind: "write" | "erase") => void;
}

/** Everything a simulated board has. The stand-ins reach it through `world()`; the host swaps it per device. */
export class SimWorld {
  readonly clock = new Clock();
  readonly pins = new Pins(this.clock);
  readonly partitions = new Map<string, Partition>();
  /** The chip's OTP bits (hosts/node/otp.ts); a host carries them across power cuts as it does the flash. */
  otp: Otp = NO_OTP;

  /** Adds an erased partition (or one holding `bytes`), found by name or by its offset in the address map. */
  addPartition(name: string, offset: number, byteLength: number, bytes?: Uint8Array, blockSize = 4096): Partition {
    const partition = { bytes: new Uint8Array(byteLength).fill(0xff), blockSize, offset, mutations: 0 };
    if (bytes) partition.bytes.set(bytes.subarray(0, byteLength));
    this.partitions.set(name, partition);
    return partition;
  }
}

let current = new SimWorld();

/** The world the stand-ins act on now. */
export function world(): SimWorld {
  return current;
}

/** Makes `w` the current world (a power-up: a fresh board whose flash the host carried over). */
export function useWorld(w: SimWorld): SimWorld {
  current = w;
  return w;
}
