// The simulator's finger: closes and opens the switch of a key on the simulated board, with optional contact
// bounce, for keypads wired as firmware/io/keypad.ts expects (matrix rows x columns, or buttons to ground).
import { GROUND, type SimWorld } from "./simworld";

export type KeyWiring =
  | {
      readonly kind: "matrix";
      readonly rows: readonly number[];
      readonly columns: readonly number[];
      readonly keys: string;
    }
  | { readonly kind: "buttons"; readonly pins: readonly number[]; readonly keys: string };

/** How long a typed key is held, and the gap before the next one: an unhurried person. */
export const HOLD_MS = 80;
export const GAP_MS = 120;

export class Finger {
  constructor(
    private readonly world: SimWorld,
    private readonly wiring: KeyWiring,
  ) {}

  /** Whether this keypad has `key`. */
  has(key: string): boolean {
    return key.length === 1 && this.wiring.keys.includes(key);
  }

  down(key: string): void {
    const [a, b] = this.contacts(key);
    this.world.pins.connect(a, b);
  }

  up(key: string): void {
    const [a, b] = this.contacts(key);
    this.world.pins.disconnect(a, b);
  }

  /**
   * A whole key press on the virtual clock: `bounces` make-break pairs 1 ms apart on contact (as worn membranes do),
   * held for `holdMs`, then released and left alone for `gapMs`.
   */
  press(key: string, holdMs = HOLD_MS, gapMs = GAP_MS, bounces = 0): void {
    const clock = this.world.clock;
    for (let i = 0; i < bounces; i++) {
      this.down(key);
      clock.advance(1);
      this.up(key);
      clock.advance(1);
    }
    this.down(key);
    clock.advance(holdMs);
    this.up(key);
    clock.advance(gapMs);
  }

  private contacts(key: string): [number, number] {
    const index = key.length === 1 ? this.wiring.keys.indexOf(key) : -1;
    if (index < 0) throw new RangeError(`"key" expected one of ${this.wiring.keys}, got ${key}`);
    const w = this.wiring;
    if (w.kind === "buttons") return [w.pins[index], GROUND];
    const columns = w.columns.length;
    return [w.rows[Math.floor(index / columns)], w.columns[index % columns]];
  }
}
