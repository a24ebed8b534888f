// One simulated controller: firmware/main.ts booted on a fresh simulated board at every power-on, with its flash
// carried across power cuts. Pure TypeScript: the same simulation runs under Node and inside XS (tools/probes/sim).
// BOARDS through simfirmware: a relative path into firmware/ has no Moddable module name on the lin build.
import { BOARDS, decodeProvision, start, type BoardName, type Device, type DeviceEvent } from "./simfirmware";
import { CHIP_OTP_BITS, OtpSim } from "./otp";
import config from "./simconfig";
import { Finger, type KeyWiring } from "./simkeys";
import { SimWorld, useWorld } from "./simworld";

/** The simulated ESP32's flash areas, as in hosts/moddable/esp32/partitions.csv. */
export const SIM_PARTITIONS = {
  journal: { name: "solkey_jrnl", offset: 0x3f0000, size: 0x4000 },
  provision: { name: "solkey_prov", offset: 0x3ff000, size: 0x1000 },
} as const;

/** An area of the simulated flash: a named partition at an address of the chip's map. */
export interface SimArea {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

/**
 * Each board's flash areas. The nRF52 has no partition table: the firmware opens its areas by address
 * (firmware/provision/board.ts AREAS), so the names here are only the simulator's and never match an ESP32 label.
 */
export const SIM_LAYOUTS: Readonly<Record<BoardName, { readonly journal: SimArea; readonly provision: SimArea }>> = {
  esp32: SIM_PARTITIONS,
  nrf52: {
    journal: { name: "nrf52_journal", offset: BOARDS.nrf52.provisionOffset - 0x2000, size: 0x2000 },
    provision: { name: "nrf52_provision", offset: BOARDS.nrf52.provisionOffset, size: BOARDS.nrf52.provisionSize },
  },
};

/** The board a provisioning image names (an unreadable one runs on the ESP32 board, which then shows it). */
export function boardOf(provision: Uint8Array | undefined): BoardName {
  const read = decodeProvision(provision ?? new Uint8Array(0));
  return read.kind === "provisioned" ? read.record.board : "esp32";
}

/** The board LED that shows "not provisioned" when no record names one (manifest.json, esp32 config). */
export const SIM_STATUS_LED = config.solkey.led;
export const SIM_STATUS_LOAD = config.solkey.load;

/** A device event with the simulator's time: ms since the simulation began, powered or not. */
export type TraceEvent = { readonly t: number } & DeviceEvent;

export interface SimImages {
  /** The journal partition; undefined: erased. */
  readonly journal?: Uint8Array;
  /** The provisioning partition (a record image at its start is enough); undefined: erased. */
  readonly provision?: Uint8Array;
  /**
   * The chip's OTP bits as `OtpSim.snapshot` gives them (one byte a bit: 0, 1, or 2 for a cut one), kept by a host
   * that keeps the flash between runs; undefined: never programmed (a new chip).
   */
  readonly otp?: Uint8Array;
}

/** Keys as the record wires them (rows 1-4 then columns 1-3; or one pin per button). */
export function wiringOf(provision: Uint8Array | undefined): KeyWiring | undefined {
  const read = decodeProvision(provision ?? new Uint8Array(0));
  if (read.kind !== "provisioned") return undefined;
  const { keypad, pins } = read.record;
  if (keypad === "matrix-4x3")
    return { kind: "matrix", rows: pins.keypad.slice(0, 4), columns: pins.keypad.slice(4, 7), keys: "123456789*0#" };
  return { kind: "buttons", pins: pins.keypad, keys: keypad === "buttons-4" ? "1234" : "12345" };
}

/** The chip's bits: as kept, or a new chip's; RangeError when the kept bits are another chip's count. */
function _otp(bits: number, kept: Uint8Array | undefined): OtpSim {
  if (kept === undefined) return new OtpSim(bits);
  if (kept.length !== bits) throw new RangeError(`OTP bits expected ${bits} for this board, got ${kept.length}`);
  return OtpSim.from(kept);
}

export class SimDevice {
  private world: SimWorld | undefined;
  private finger: Finger | undefined;
  private journal: Uint8Array;
  private readonly provision: Uint8Array;
  /** The flash areas of the board the provisioning record names. */
  readonly layout: (typeof SIM_LAYOUTS)[BoardName];
  /** The chip's OTP bits, kept across power cuts like the flash (the journal's mark and anchor). */
  readonly otp: OtpSim;
  private timeMs = 0;
  /** The firmware's handle while powered. */
  device: Device | undefined;
  private bootAtMs = 0;
  /** Called at each power-on with the new board, before the firmware starts (tests hook pins and flash here). */
  onPowerOn: ((board: SimWorld) => void) | undefined;
  /** Called for every event as it happens (the interactive display); the trace keeps them all too. */
  onEvent: ((event: TraceEvent) => void) | undefined;
  /** The product hook for Nexus passthrough codes, as a product's main would give it to start(). */
  onPassthrough: ((digits: string) => void) | undefined;
  readonly trace: TraceEvent[] = [];

  constructor(images: SimImages = {}) {
    this.layout = SIM_LAYOUTS[boardOf(images.provision)];
    this.otp = _otp(CHIP_OTP_BITS[boardOf(images.provision)], images.otp);
    this.journal = _area(this.layout.journal.size, images.journal);
    this.provision = _area(this.layout.provision.size, images.provision);
  }

  get powered(): boolean {
    return this.world !== undefined;
  }

  /** Simulated ms since the simulation began. */
  get now(): number {
    return this.timeMs;
  }

  /** The board while powered (pins, clock, partitions), for displays and tests. */
  get board(): SimWorld | undefined {
    return this.world;
  }

  /** The flash as it stands (live while powered). */
  images(): { journal: Uint8Array; provision: Uint8Array } {
    const parts = this.world?.partitions;
    return {
      journal: parts?.get(this.layout.journal.name)?.bytes.slice() ?? this.journal.slice(),
      provision: parts?.get(this.layout.provision.name)?.bytes.slice() ?? this.provision.slice(),
    };
  }

  /** Power-on: a fresh board with this device's flash, and the firmware's start(). */
  powerOn(): void {
    if (this.world) return;
    const world = useWorld(new SimWorld());
    const { journal, provision } = this.layout;
    world.addPartition(journal.name, journal.offset, journal.size, this.journal);
    world.addPartition(provision.name, provision.offset, provision.size, this.provision);
    world.otp = this.otp;
    this.world = world;
    this.bootAtMs = this.timeMs;
    const wiring = wiringOf(this.provision);
    this.finger = wiring ? new Finger(world, wiring) : undefined;
    this.onPowerOn?.(world);
    this.device = start({
      statusLed: SIM_STATUS_LED,
      statusLoad: SIM_STATUS_LOAD,
      observe: (event) => this.record(event),
      onPassthrough: (digits) => this.onPassthrough?.(digits),
    });
  }

  /** Power cut: RAM, timers and pins are gone; the flash stays as it is at this instant. */
  powerOff(): void {
    if (!this.world) return;
    this.journal = this.world.partitions.get(this.layout.journal.name)?.bytes.slice() ?? this.journal;
    this.world = undefined;
    this.finger = undefined;
    this.device = undefined;
  }

  /** Lets `ms` pass: the firmware runs while powered; otherwise time just passes. */
  wait(ms: number): void {
    if (this.world) {
      this.world.clock.advance(ms);
      this.timeMs = this.bootAtMs + this.world.clock.now;
    } else {
      this.timeMs += ms;
    }
  }

  /** Types `keys` (spaces skipped), each pressed and released like a person would. */
  type(keys: string): void {
    for (const key of keys) {
      if (key === " ") continue;
      this.press(key);
    }
  }

  /** One key press of `holdMs`, then `gapMs` before the next. Keys the keypad lacks are an error. */
  press(key: string, holdMs = 80, gapMs = 120): void {
    if (!this.keyDown(key)) {
      this.wait(holdMs + gapMs); // nothing happens on an unpowered or keyless board
      return;
    }
    this.wait(holdMs);
    this.keyUp(key);
    this.wait(gapMs);
  }

  /** Closes `key`'s contact; false when there is no powered keypad to press. */
  keyDown(key: string): boolean {
    const finger = this.finger;
    if (finger && !finger.has(key)) throw new RangeError(`"key" ${key} is not on this device's keypad`);
    if (!finger) return false;
    finger.down(key);
    return true;
  }

  keyUp(key: string): void {
    this.finger?.up(key);
  }

  /** Whether the load output pin is driven on now. */
  loadPin(): boolean | undefined {
    const read = decodeProvision(this.provision);
    if (!this.world || read.kind !== "provisioned") return undefined;
    return this.world.pins.driven(read.record.pins.load) === 1;
  }

  private record(event: DeviceEvent): void {
    // A board's clock starts at 0 at power-on: the trace's time is the power-on time plus the board's.
    const t = this.world ? this.bootAtMs + this.world.clock.now : this.timeMs;
    const stamped = { t, ...event } as TraceEvent;
    this.trace.push(stamped);
    this.onEvent?.(stamped);
  }
}

function _area(size: number, bytes: Uint8Array | undefined): Uint8Array {
  const area = new Uint8Array(size).fill(0xff);
  if (bytes) area.set(bytes.subarray(0, size));
  return area;
}
