// The browser host: a simulated controller (hosts/node/simlive.ts: firmware/main.ts on the simulated board's pins,
// timers and NOR flash) whose flash lives in the browser's storage and whose clock follows the page's real time at
// the chosen speed. No DOM here: the page (web/sim) draws it; tests drive it under Node with a Map for storage.
import type { TraceEvent } from "../node/simdevice";
import { FRAME_MS, LiveDevice } from "../node/simlive";
import { FlashStore, type KeyValueStore, type StoredDevice } from "./store";

export interface BrowserDeviceOptions {
  /** Where the flash is kept: the page's localStorage. */
  readonly store: KeyValueStore;
  /** Real milliseconds (performance.now in the page). */
  readonly realNow: () => number;
  /** Simulated seconds per real second when nobody types. */
  readonly speed: number;
  readonly onEvent?: (event: TraceEvent) => void;
}

/**
 * At most this much real time is run in one frame. A hidden tab's timers fire rarely (browsers throttle them to about
 * once a second or less); running a whole hour of sleep at x86400 in one frame would hang the page, so the device
 * runs slower while nobody looks.
 */
const MAX_FRAME_MS = 1000;

export class BrowserDevice {
  private readonly flash: FlashStore;
  private device: LiveDevice | undefined;
  private speed: number;
  private lastFrameAt = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Real ms the last key took, from its contact to everything the device did about it (debounce scans included). */
  lastKeyMs: number | undefined;

  constructor(private readonly options: BrowserDeviceOptions) {
    this.flash = new FlashStore(options.store);
    this.speed = options.speed;
  }

  /** The running device, if one is stored. */
  get live(): LiveDevice | undefined {
    return this.device;
  }

  /** Powers on the device kept in storage (a page load is a power-on); false when none is kept. */
  resume(): boolean {
    const stored = this.flash.load();
    if (stored === undefined) return false;
    this.boot(stored);
    return true;
  }

  /** Replaces the kept device with `device` on a new chip (its own OTP bits, or none set) and powers it on. */
  install(device: StoredDevice): void {
    this.flash.replace(device);
    this.boot(device);
  }

  /**
   * Writes `flash` (a loaded image) as a flash programmer would: onto this chip when its provisioning record is the
   * running device's, whose OTP bits then stay (an old journal put back is judged by them, as on a chip); otherwise
   * a new device on a new chip. True when the chip's bits were kept.
   */
  writeFlash(flash: { readonly provision: Uint8Array; readonly journal?: Uint8Array }): boolean {
    const running = this.device?.sim;
    const same = running !== undefined && _sameArea(running.images().provision, flash.provision);
    this.install({ ...flash, otp: same ? running.otp.snapshot() : undefined });
    return same;
  }

  /** One key pressed and released; false when the keypad has no such key or no device runs. */
  press(key: string): boolean {
    const device = this.device;
    if (!device) return false;
    const before = this.options.realNow();
    const pressed = device.press(key);
    this.lastKeyMs = this.options.realNow() - before;
    this.save();
    return pressed;
  }

  powerCut(): void {
    this.device?.powerCut();
    this.save();
  }

  stepSpeed(step: 1 | -1): void {
    if (this.device) this.speed = this.device.stepSpeed(step);
  }

  /** Starts the clock: every FRAME_MS, the real time since the last frame runs on the device. Idempotent. */
  run(onFrame: () => void): void {
    if (this.timer !== undefined) return;
    this.lastFrameAt = this.options.realNow();
    this.timer = setInterval(() => {
      const now = this.options.realNow();
      const elapsed = Math.min(MAX_FRAME_MS, now - this.lastFrameAt);
      this.lastFrameAt = now;
      this.device?.frame(elapsed);
      this.save();
      onFrame();
    }, FRAME_MS);
  }

  /** Stops the clock (the device keeps its state; nothing more runs). Idempotent. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private boot(stored: StoredDevice): void {
    const device = new LiveDevice(stored, {
      speed: this.speed,
      realNow: this.options.realNow,
      onEvent: this.options.onEvent,
    });
    this.device = device;
    device.powerOn();
    this.save();
  }

  /**
   * Stores the journal, then the OTP bits, if this task changed them (see FlashStore: a reload falls between tasks).
   * The journal first: a bit set after a record (an anchor step) then never names a record the store lacks.
   */
  private save(): void {
    const journal = this.device?.changedJournal();
    if (journal) this.flash.saveJournal(journal);
    const otp = this.device?.changedOtp();
    if (otp) this.flash.saveOtp(otp);
  }
}

/** Whether two images of one flash area hold the same bytes (an image's end reads erased, 0xFF, to the area's). */
function _sameArea(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0xff) !== (b[i] ?? 0xff)) return false;
  return true;
}
