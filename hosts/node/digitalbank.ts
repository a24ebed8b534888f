// Stand-in for ECMA-419 `embedded:io/digitalbank` (Moddable's DigitalBank) on the simulated board's GPIO nets.
// Pin n of bank b is GPIO b*32+n, as on the ESP32. Pure TypeScript, for Node and XS alike.
import { PinModes, world } from "./simworld";

interface DigitalBankOptions {
  pins: number;
  mode: number;
  bank?: number;
  rises?: number;
  falls?: number;
  onReadable?: (this: DigitalBank, triggered: number) => void;
  target?: unknown;
}

/** Several pins of one bank read and written together as a bit mask; `onReadable(triggered)` on edges. */
class DigitalBank extends PinModes {
  private readonly world = world();
  private readonly bits: number[] = [];
  private readonly base: number;
  private readonly mask: number;
  private open = true;
  readonly target: unknown;
  format = "number" as const;

  constructor(options: DigitalBankOptions) {
    super();
    this.mask = options.pins >>> 0;
    this.base = (options.bank ?? 0) * 32;
    this.target = options.target;
    for (let bit = 0; bit < 32; bit++) if (this.mask & (1 << bit)) this.bits.push(bit);
    const claimed: number[] = [];
    try {
      for (const bit of this.bits) {
        this.world.pins.claim(this.base + bit, options.mode);
        claimed.push(this.base + bit);
      }
    } catch (e) {
      for (const pin of claimed) this.world.pins.release(pin);
      throw e;
    }
    const onReadable = options.onReadable;
    if (onReadable) {
      const select = (m: number | undefined) => this.bits.filter((b) => (m ?? 0) & (1 << b)).map((b) => this.base + b);
      const pins = this.bits.map((b) => this.base + b);
      this.world.pins.watch(pins, select(options.rises), select(options.falls), (changed) => {
        if (!this.open) return;
        let triggered = 0;
        for (const pin of changed) triggered |= 1 << (pin - this.base);
        onReadable.call(this, triggered >>> 0);
      });
    }
  }

  read(): number {
    let value = 0;
    for (const bit of this.bits) if (this.world.pins.level(this.base + bit)) value |= 1 << bit;
    return value >>> 0;
  }

  write(value: number): void {
    for (const bit of this.bits) this.world.pins.write(this.base + bit, value & (1 << bit) ? 1 : 0);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    for (const bit of this.bits) this.world.pins.release(this.base + bit);
  }
}

export default DigitalBank;
