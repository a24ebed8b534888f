// Keypad input shaped on ECMA-419 (options bag, onReadable, read() -> undefined when empty, idempotent close): a
// matrix scanned through two DigitalBanks, or one button per pin for small keypads; both debounced the same way.
import DigitalBank from "embedded:io/digitalbank";
import Timer from "timer";

/** Scan period while any key may be down. 5 ms x 4 samples: contact bounce of membrane keys settles in ~5-20 ms. */
export const SCAN_MS = 5;
/** Consecutive equal samples before a press or a release counts. */
export const STABLE_SAMPLES = 4;
/** Keys read but not yet taken by read(); more is a stuck or flooded keypad, and the oldest are dropped. */
const QUEUE_LIMIT = 16;

interface KeypadCallbacks {
  /** Called when read() has a key; `this` is the keypad. */
  onReadable?: (this: Keypad) => void;
}

export interface MatrixOptions extends KeypadCallbacks {
  /** GPIOs of the rows: open-drain outputs, idling low so a press pulls its column down and wakes the scan. */
  readonly rows: readonly number[];
  /** GPIOs of the columns: pulled-up inputs, falling edge wakes. */
  readonly columns: readonly number[];
  /** Key names row by row, one character each: rows.length * columns.length of them (e.g. "123456789*0#"). */
  readonly keys: string;
}

export interface ButtonsOptions extends KeypadCallbacks {
  /** One GPIO per key, the button shorting it to ground: pulled-up inputs, falling edge wakes. */
  readonly pins: readonly number[];
  /** Key names in pin order, one character each (e.g. "12345"). */
  readonly keys: string;
}

/** Bank and bit mask of pins that must share one 32-pin bank (DigitalBank reads one bank at a time). */
function _bankOf(pins: readonly number[], name: string): { bank: number; mask: number } {
  if (pins.length === 0 || pins.length > 32) throw new RangeError(`"${name}" expected 1..32 pins, got ${pins.length}`);
  const bank = Math.floor(pins[0] / 32);
  let mask = 0;
  for (const pin of pins) {
    if (!Number.isInteger(pin) || pin < 0) throw new TypeError(`"${name}" expected GPIO numbers, got ${pin}`);
    if (Math.floor(pin / 32) !== bank) throw new RangeError(`"${name}" expected pins of one bank, got ${pin}`);
    mask |= 1 << (pin % 32);
  }
  return { bank, mask: mask >>> 0 };
}

/**
 * The debounce and queue that both keypads share. A subclass samples the hardware: which key index is down
 * (-1: none, -2: several, which reads as none: a chord is not a key). A press counts once, when a single key has read
 * the same for STABLE_SAMPLES scans; another press needs a stable release first.
 */
export abstract class Keypad {
  private readonly queue: string[] = [];
  private scanner: Timer | undefined;
  private candidate = -1;
  private stableCount = 0;
  private reported = -1;
  private closed = false;
  private readonly onReadable: ((this: Keypad) => void) | undefined;

  protected constructor(
    protected readonly keys: string,
    callbacks: KeypadCallbacks,
  ) {
    this.onReadable = callbacks.onReadable;
  }

  /** The oldest key not yet read, or undefined. */
  read(): string | undefined {
    return this.queue.shift();
  }

  /** Stops scanning and releases the pins; calling it again does nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.scanner) Timer.clear(this.scanner);
    this.scanner = undefined;
    this.release();
  }

  /** The hardware's wake edge: starts scanning until every key is stably up again. */
  protected wake(): void {
    if (this.closed || this.scanner) return;
    this.scanner = Timer.repeat(() => this.scan(), SCAN_MS);
  }

  protected abstract sample(): number;
  protected abstract release(): void;

  private scan(): void {
    const now = this.sample();
    const key = now === -2 ? -1 : now;
    if (key === this.candidate) this.stableCount++;
    else {
      this.candidate = key;
      this.stableCount = 1;
    }
    if (this.stableCount < STABLE_SAMPLES) return;
    if (key < 0) {
      this.reported = -1;
      // All keys up and settled: sleep until the next falling edge (a chord keeps scanning: no edge would wake us).
      if (now === -1) {
        Timer.clear(this.scanner);
        this.scanner = undefined;
      }
      return;
    }
    if (key === this.reported) return;
    this.reported = key;
    if (this.queue.length === QUEUE_LIMIT) this.queue.shift();
    this.queue.push(this.keys[key]);
    this.onReadable?.call(this);
  }
}

/** A row-by-column matrix: rows driven low one at a time while the columns are read. */
export class MatrixKeypad extends Keypad {
  private rowBank: DigitalBank | undefined;
  private columnBank: DigitalBank | undefined;
  private readonly rowMasks: number[];
  private readonly columnMasks: number[];
  private readonly allRows: number;

  constructor(options: MatrixOptions) {
    super(options.keys, options);
    if (options.keys.length !== options.rows.length * options.columns.length)
      throw new RangeError(
        `"keys" expected ${options.rows.length * options.columns.length} characters, got ${options.keys.length}`,
      );
    const rows = _bankOf(options.rows, "rows");
    const columns = _bankOf(options.columns, "columns");
    this.rowMasks = options.rows.map((p) => (1 << (p % 32)) >>> 0);
    this.columnMasks = options.columns.map((p) => (1 << (p % 32)) >>> 0);
    this.allRows = rows.mask;
    try {
      this.rowBank = new DigitalBank({ pins: rows.mask, bank: rows.bank, mode: DigitalBank.OutputOpenDrain });
      this.rowBank.write(0);
      // `falls` is ECMA-419's edge mask for banks; Moddable's typings leave it out.
      const columnOptions = {
        pins: columns.mask,
        bank: columns.bank,
        mode: DigitalBank.InputPullUp,
        falls: columns.mask,
        onReadable: () => this.wake(),
      };
      this.columnBank = new DigitalBank(columnOptions);
    } catch (e) {
      this.release();
      throw e;
    }
  }

  protected sample(): number {
    const rowBank = this.rowBank as DigitalBank;
    const columnBank = this.columnBank as DigitalBank;
    let found = -1;
    for (let r = 0; r < this.rowMasks.length; r++) {
      // Open drain: a 1 releases a row (pulled up through the columns), a 0 drives it low.
      rowBank.write(this.allRows & ~this.rowMasks[r]);
      const columns = columnBank.read();
      for (let c = 0; c < this.columnMasks.length; c++) {
        if ((columns & this.columnMasks[c]) !== 0) continue;
        if (found !== -1) found = -2;
        else found = r * this.columnMasks.length + c;
      }
    }
    rowBank.write(0);
    return found;
  }

  protected release(): void {
    this.columnBank?.close();
    this.rowBank?.close();
    this.columnBank = undefined;
    this.rowBank = undefined;
  }
}

/** One button per pin, each shorting its pin to ground (Nexus small keypads, OpenPAYGO restricted 1-4). */
export class ButtonKeypad extends Keypad {
  private bank: DigitalBank | undefined;
  private readonly masks: number[];

  constructor(options: ButtonsOptions) {
    super(options.keys, options);
    if (options.keys.length !== options.pins.length)
      throw new RangeError(`"keys" expected ${options.pins.length} characters, got ${options.keys.length}`);
    const { bank, mask } = _bankOf(options.pins, "pins");
    this.masks = options.pins.map((p) => (1 << (p % 32)) >>> 0);
    const bankOptions = {
      pins: mask,
      bank,
      mode: DigitalBank.InputPullUp,
      falls: mask,
      onReadable: () => this.wake(),
    };
    this.bank = new DigitalBank(bankOptions);
  }

  protected sample(): number {
    const levels = (this.bank as DigitalBank).read();
    let found = -1;
    for (let i = 0; i < this.masks.length; i++) {
      if ((levels & this.masks[i]) !== 0) continue;
      found = found === -1 ? i : -2;
    }
    return found;
  }

  protected release(): void {
    this.bank?.close();
    this.bank = undefined;
  }
}
