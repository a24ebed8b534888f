// The browser host's flash: a device's provisioning and journal areas kept in the browser's Web Storage
// (localStorage), so closing or reloading the page is a power cut and opening it again a power-on. The NOR rules
// (erase to 0xFF, a write only clears bits) are the simulated board's, hosts/node/flash.ts: this only keeps its bytes.
import { bytesToHex, hexToBytes } from "../../firmware/hex";

/** The part of the DOM's `Storage` this uses (localStorage in the page; a Map in Node tests). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** A device as stored: its provisioning area, and its journal area (undefined: erased). */
export interface StoredDevice {
  readonly provision: Uint8Array;
  readonly journal?: Uint8Array;
}

const PROVISION = "solkey.sim.provision";
const JOURNAL = "solkey.sim.journal";

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
    return provision === undefined ? undefined : { provision, journal: this.read(JOURNAL) };
  }

  /** Stores a new device: its record and journal (undefined: erased). */
  replace(images: StoredDevice): void {
    this.store.setItem(PROVISION, bytesToHex(images.provision));
    if (images.journal === undefined) this.store.removeItem(JOURNAL);
    else this.saveJournal(images.journal);
  }

  saveJournal(journal: Uint8Array): void {
    this.store.setItem(JOURNAL, bytesToHex(journal));
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
