// A device's flash from the files `solkey provision` writes (fleet/flashing.ts): ESP32 `SERIAL.bin` (the provisioning
// record) with `SERIAL.journal.bin` beside it, or one nRF52 Intel HEX `SERIAL.hex` holding both areas. Pure
// TypeScript: the web simulator reads dropped files with it, and tests run it under Node.
import { decodeProvision } from "../../firmware/provision/record";
import { readIntelHex } from "../ihex";
import { SIM_LAYOUTS } from "../node/simdevice";
import type { StoredDevice } from "./store";

/** A file a person chose or dropped. */
export interface ImageFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export type ImageRead =
  { readonly ok: true; readonly device: StoredDevice } | { readonly ok: false; readonly error: string };

const HINT = "choose the SERIAL.bin and SERIAL.journal.bin, or the SERIAL.hex, that `solkey provision` wrote";

/** The device in `files`, or one line saying what is wrong and what to choose instead. Never throws. */
export function deviceFromFiles(files: readonly ImageFile[]): ImageRead {
  if (files.length === 0) return { ok: false, error: `no file: ${HINT}` };
  const hex = files.filter((f) => /\.hex$/i.test(f.name));
  const journals = files.filter((f) => /\.journal\.bin$/i.test(f.name));
  const records = files.filter((f) => /\.bin$/i.test(f.name) && !journals.includes(f));
  const other = files.find((f) => !hex.includes(f) && !journals.includes(f) && !records.includes(f));
  if (other) return { ok: false, error: `${other.name} is neither a .bin nor a .hex image: ${HINT}` };
  if (hex.length + records.length !== 1 || journals.length > 1 || (hex.length === 1 && journals.length > 0))
    return { ok: false, error: `one device at a time: ${HINT}` };
  let device: StoredDevice;
  let from: string;
  if (hex.length === 1) {
    from = hex[0].name;
    try {
      device = nrf52Areas(hex[0].bytes);
    } catch (e) {
      return { ok: false, error: `${from}: ${(e as Error).message}` };
    }
  } else {
    from = records[0].name;
    const journal = journals[0];
    const size = SIM_LAYOUTS.esp32.journal.size;
    if (journal && journal.bytes.length !== size)
      return {
        ok: false,
        error: `${journal.name} expected ${size} bytes (the journal region), got ${journal.bytes.length}`,
      };
    device = { provision: records[0].bytes, journal: journal?.bytes };
  }
  const read = decodeProvision(device.provision);
  if (read.kind !== "provisioned") {
    const why = read.kind === "corrupt" ? read.reason : "blank";
    return { ok: false, error: `${from} holds no provisioning record (${why}): ${HINT}` };
  }
  return { ok: true, device };
}

/** The journal pages and the provisioning page in an nRF52 Intel HEX image; RangeError on a malformed line. */
export function nrf52Areas(hex: Uint8Array): StoredDevice {
  const areas = SIM_LAYOUTS.nrf52;
  const text = new TextDecoder().decode(hex);
  return {
    provision: readIntelHex(text, areas.provision.offset, areas.provision.size),
    journal: readIntelHex(text, areas.journal.offset, areas.journal.size),
  };
}
