// Stand-in for ECMA-419 `embedded:io/digital` (Moddable's Digital class) on the simulated board's GPIO nets.
// Pure TypeScript: the firmware drives it the same way under Node and inside XS.
import { Edge, PinModes, type Level, world } from "./simworld";

interface DigitalOptions {
  pin: number;
  mode: number;
  edge?: number;
  onReadable?: (this: Digital) => void;
  target?: unknown;
}

/** One pin: `read()` the level, `write()` an output, `onReadable` on the configured edges. */
class Digital extends PinModes {
  static readonly Rising = Edge.Rising;
  static readonly Falling = Edge.Falling;

  private readonly pins = world().pins;
  private readonly pin: number;
  private open = true;
  readonly target: unknown;
  format = "number" as const;

  constructor(options: DigitalOptions) {
    super();
    this.pin = options.pin;
    this.target = options.target;
    this.pins.claim(this.pin, options.mode);
    const edge = options.edge ?? 0;
    const onReadable = options.onReadable;
    if (onReadable) {
      const rises = edge & Edge.Rising ? [this.pin] : [];
      const falls = edge & Edge.Falling ? [this.pin] : [];
      this.pins.watch([this.pin], rises, falls, () => {
        if (this.open) onReadable.call(this);
      });
    }
  }

  read(): Level {
    return this.pins.level(this.pin);
  }

  write(value: number): void {
    this.pins.write(this.pin, value ? 1 : 0);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.pins.release(this.pin);
  }
}

export default Digital;
