// The browser host's flash: a device's provisioning and journal areas, and its chip's OTP bits (the journal's mark and
// anchor), kept in the browser's Web Storage (localStorage), so closing or reloading the page is a power cut and
// opening it again a power-on of the same chip. The NOR rules
// (erase to 0xFF, a write only clears bits) are the simulated board's, hosts/node/flash.ts: this only keeps its bytes.
import { bytesToHex, hexToBytes } from "../../firmware/hex";
import { CHIP_OTP_BITS } from "../node/otp";
import { boardOf } from "../node/simdevice";

/** The part of the DOM's `Storage` this uses (localStorage in the page; a Map in Node tests). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** A device as stored: its provisioning area, its journal area (undefined: erased), its OTP bits (undefined: none set). */
export interface StoredDevice {
  readonly provision: Uint8Array;
  readonly journal?: Uint8Array;
  /** One byte a bit, as hosts/node/otp.ts OtpSim.snapshot gives them (0, 1, or 2 for a cut one). */
  readonly otp?: Uint8Array;
}

const PROVISION = "solkey.sim.provision";
const JOURNAL = "solkey.sim.journal";
const OTP = "solkey.sim.otp";

/**
 * A device's flash in a KeyValueStore, as hex text. Saving happens at the end of the page task that changed the
 * flash: a page runs one task at a time and a reload or a closed tab falls between tasks, so what is stored is
 * always the flash as the firmware left it after a whole step (its record committed before anything was shown).
 */
export class FlashStore {
  constructor(private readonly store: KeyValueStore) {}

  /** The stored device, or undefined when there is none (or what is there is not hex: then it is dropped). */
  load(): StoredDevice | undefined {
    const provision = this.read(PROVISION);
    return provision === undefined
      ? undefined
      : { provision, journal: this.read(JOURNAL), otp: this.readOtp(provision) };
  }

  /** Stores a device: its record, journal (undefined: erased) and OTP bits (undefined: a new chip's). */
  replace(images: StoredDevice): void {
    this.store.setItem(PROVISION, bytesToHex(images.provision));
    if (images.journal === undefined) this.store.removeItem(JOURNAL);
    else this.saveJournal(images.journal);
    if (images.otp === undefined) this.store.removeItem(OTP);
    else this.saveOtp(images.otp);
  }

  saveJournal(journal: Uint8Array): void {
    this.store.setItem(JOURNAL, bytesToHex(journal));
  }

  saveOtp(otp: Uint8Array): void {
    this.store.setItem(OTP, bytesToHex(otp));
  }

  /** The kept OTP bits when they are the board's count of bit states; anything else is dropped (a new chip's). */
  private readOtp(provision: Uint8Array): Uint8Array | undefined {
    const otp = this.read(OTP);
    if (otp === undefined || (otp.length === CHIP_OTP_BITS[boardOf(provision)] && otp.every((bit) => bit <= 2)))
      return otp;
    this.store.removeItem(OTP);
    return undefined;
  }

  private read(key: string): Uint8Array | undefined {
    const text = this.store.getItem(key);
    if (text === null) return undefined;
    try {
      return hexToBytes(text);
    } catch {
      this.store.removeItem(key); // not ours, or cut short by a full storage: as if erased
      return undefined;
    }
  }
}
