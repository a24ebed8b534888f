// The live simulated device behind both interactive front ends, the terminal's `solkey sim` and the web page
// (web/sim): a SimDevice whose clock follows real time at a chosen speed (real time while someone types), its outputs
// as a person sees them, power cuts, the next demo codes, and its flash when it changed. Pure TypeScript: no Node API,
// no DOM, so both front ends run this one copy.
import { decodeProvision } from "../../firmware/provision/record";
import { nextCodes, type DemoCode } from "./simdemo";
import { SimDevice, type SimImages, type TraceEvent } from "./simdevice";

/** Simulated seconds per real second that `+` and `-` step through. */
export const SPEEDS: readonly number[] = [1, 10, 60, 600, 3600, 86_400];
/** How often a front end moves the clock (ms of real time). */
export const FRAME_MS = 100;
/** After a typed key the clock runs at real time for this long (the entry's idle timeout), so people can type. */
export const TYPING_MS = 16_000;

/** What the device shows now. */
export interface LiveView {
  readonly powered: boolean;
  readonly led: boolean;
  readonly buzzer: boolean;
  readonly load: boolean;
  /** Seconds of credit left now (counted down while the load runs), "unlocked", or undefined before the device said. */
  readonly credit: number | "unlocked" | undefined;
  readonly speed: number;
  /** The clock runs at real time because a key was typed less than TYPING_MS ago. */
  readonly typing: boolean;
}

export interface LiveOptions {
  /** Simulated seconds per real second when nobody types. */
  readonly speed: number;
  /** Real milliseconds from any origin (Date.now, performance.now). */
  readonly realNow: () => number;
  /** Every device event, after the live view took it in. */
  readonly onEvent?: (event: TraceEvent) => void;
}

export class LiveDevice {
  readonly sim: SimDevice;
  private readonly provision: Uint8Array;
  private speedNow: number;
  private typedAt = -Infinity;
  private credit: { seconds: number | "unlocked"; t: number } | undefined;
  private load = false;
  private savedMutations = -1;
  private savedOtpWrites = -1;

  constructor(
    images: SimImages,
    private readonly options: LiveOptions,
  ) {
    this.sim = new SimDevice(images);
    this.provision = this.sim.images().provision;
    this.speedNow = options.speed;
    this.sim.onEvent = (event) => {
      if (event.type === "load") this.load = event.on;
      if (event.type === "credit") this.credit = { seconds: event.seconds, t: event.t };
      options.onEvent?.(event);
    };
  }

  get speed(): number {
    return this.speedNow;
  }

  /** Power on (again, after a power cut or a reload). */
  powerOn(): void {
    this.sim.powerOn();
  }

  /** A power cut and the power back: RAM and timers are gone, the flash stays. */
  powerCut(): void {
    this.sim.powerOff();
    this.load = false; // before power-on, which reports the load as it boots
    this.sim.powerOn();
  }

  /** `realMs` of real time passed: the device runs that long times the speed (x1 while someone types). */
  frame(realMs: number): void {
    this.sim.wait(Math.round(realMs * (this.typing() ? 1 : this.speedNow)));
  }

  /** One key pressed and released; false when the keypad has no such key. */
  press(key: string): boolean {
    this.typedAt = this.options.realNow();
    try {
      this.sim.press(key);
      return true;
    } catch {
      return false;
    }
  }

  /** One step up (+1) or down (-1) the SPEEDS list. */
  stepSpeed(step: 1 | -1): number {
    const i = SPEEDS.findIndex((s) => s >= this.speedNow);
    const at = (i < 0 ? SPEEDS.length : i) + step;
    this.speedNow = SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, at))];
    return this.speedNow;
  }

  view(): LiveView {
    const board = this.sim.board;
    const read = decodeProvision(this.provision);
    const pins = read.kind === "provisioned" ? read.record.pins : undefined;
    const on = (pin: number | null | undefined) => board !== undefined && pin != null && board.pins.driven(pin) === 1;
    let credit: LiveView["credit"];
    if (this.credit?.seconds === "unlocked") credit = "unlocked";
    else if (this.credit)
      credit = Math.max(0, this.credit.seconds - (this.load ? (this.sim.now - this.credit.t) / 1000 : 0));
    return {
      powered: this.sim.powered,
      led: on(pins?.led),
      buzzer: on(pins?.buzzer),
      load: this.load,
      credit,
      speed: this.speedNow,
      typing: this.typing(),
    };
  }

  /** The journal when it changed since the last call (a front end saves it then), else undefined. */
  changedJournal(): Uint8Array | undefined {
    const partition = this.sim.board?.partitions.get(this.sim.layout.journal.name);
    if (!partition || partition.mutations === this.savedMutations) return undefined;
    this.savedMutations = partition.mutations;
    return partition.bytes.slice();
  }

  /** The OTP bits (OtpSim.snapshot) when a bit was programmed since the last call, else undefined. */
  changedOtp(): Uint8Array | undefined {
    if (this.sim.otp.writes === this.savedOtpWrites) return undefined;
    this.savedOtpWrites = this.sim.otp.writes;
    return this.sim.otp.snapshot();
  }

  /** The codes the demo server would issue next, or undefined for a device without the demo key. */
  codes(): DemoCode[] | undefined {
    return nextCodes(this.provision, this.sim.images().journal);
  }

  /** Lines telling a person what the device is and which codes it takes next. */
  describe(): string[] {
    return describeDevice(this.provision, this.sim.images().journal);
  }

  private typing(): boolean {
    return this.options.realNow() - this.typedAt < TYPING_MS;
  }
}

/** What a device is and the codes it takes next (`journal`: its journal region as it stands). */
export function describeDevice(provision: Uint8Array, journal: Uint8Array): string[] {
  const read = decodeProvision(provision);
  if (read.kind !== "provisioned")
    return [`device: not provisioned (${read.kind === "corrupt" ? read.reason : "blank record"}): it will not run`];
  const r = read.record;
  const lines = [`device: ${r.protocol} ${r.keypad} id ${r.deviceId} on a simulated ${r.board}`];
  const codes = nextCodes(provision, journal);
  if (codes === undefined) {
    lines.push("codes: issue them with `solkey issue` for this device (it does not use the demo key)");
  } else {
    lines.push("valid codes for it now (type one):");
    for (const code of codes) lines.push(`  ${code.keys.padEnd(24)} ${code.what}`);
  }
  return lines;
}

/** Seconds as `1d 02:03:04`. */
export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const days = Math.floor(s / 86_400);
  const hms = [Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60), s % 60]
    .map((n) => String(n).padStart(2, "0"))
    .join(":");
  return days > 0 ? `${days}d ${hms}` : hms;
}
