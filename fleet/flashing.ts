// What a factory or a service bench writes into a device's flash, per board: the image files and the command that
// writes them (esptool for ESP32, an Intel HEX for any nRF52 programmer). Offsets: firmware/provision/board.ts for
// the provisioning record, fleet/journal.ts JOURNAL_AREAS for the journal region.
import fs from "fs";
import path from "path";
import { BOARDS, type BoardName } from "../firmware/provision/board";
import { SolkeyError, UsageError } from "./errors";
import { segmentsToIntelHex, type HexSegment } from "../hosts/ihex";
import { JOURNAL_AREAS } from "./journal";

/** A device's images: its journal region always, its provisioning record at the factory (not at a recovery). */
export interface DeviceImages {
  readonly provision?: Uint8Array;
  readonly journal: Uint8Array;
}

/** Why the images are written: a new device, or a corrupt journal being replaced. */
export type FlashPurpose = "provision" | "recover";

/**
 * The files of one device, named after its serial. ESP32: raw images, `<serial>.bin` (provisioning) and
 * `<serial>.journal.bin`, for esptool's offsets. nRF52: one Intel HEX with every region it writes, `<serial>.hex`
 * (journal pages and provisioning page) or `<serial>.journal.hex` (journal pages only, at a recovery).
 */
export function imageFiles(serial: string, board: BoardName, images: DeviceImages): [string, string | Uint8Array][] {
  const journal = JOURNAL_AREAS[board];
  if (board === "nrf52") {
    const segments: HexSegment[] = [{ address: journal.offset, data: images.journal }];
    if (images.provision === undefined) return [[`${serial}.journal.hex`, segmentsToIntelHex(segments)]];
    segments.push({ address: BOARDS.nrf52.provisionOffset, data: images.provision });
    return [[`${serial}.hex`, segmentsToIntelHex(segments)]];
  }
  const files: [string, string | Uint8Array][] = [];
  if (images.provision !== undefined) files.push([`${serial}.bin`, images.provision]);
  files.push([`${serial}.journal.bin`, images.journal]);
  return files;
}

/**
 * How to write one device's files (`<serial>` stands for its serial). The journal image covers the whole journal
 * region, so a chip provisioned before (or a failed one) gets every other journal block erased too.
 */
export function flashInstructions(board: BoardName, out: string, purpose: FlashPurpose): string {
  const prov = `0x${BOARDS[board].provisionOffset.toString(16)}`;
  const { offset, size } = JOURNAL_AREAS[board];
  const jrnl = `0x${offset.toString(16)}`;
  const file = (name: string) => path.join(out, name);
  if (board === "esp32") {
    if (purpose === "recover")
      return (
        `esptool.py --chip esp32 read_flash ${jrnl} 0x${size.toString(16)} <serial>.failed.bin   (keep it for the ` +
        `failure report), then esptool.py --chip esp32 write_flash ${jrnl} ${file("<serial>.journal.bin")}   ` +
        `(partition solkey_jrnl at ${jrnl})`
      );
    return (
      `esptool.py --chip esp32 write_flash ${prov} ${file("<serial>.bin")} ${jrnl} ${file("<serial>.journal.bin")}` +
      `   (partitions solkey_prov at ${prov}, solkey_jrnl at ${jrnl})`
    );
  }
  if (purpose === "recover")
    return (
      `nrfjprog -f NRF52 --readcode <serial>.failed.hex   (keep it for the failure report), then ` +
      `nrfjprog -f NRF52 --program ${file("<serial>.journal.hex")} --sectorerase --verify   ` +
      `(Intel HEX of the journal pages at ${jrnl}; the provisioning page stays)`
    );
  return (
    `nrfjprog -f NRF52 --program ${file("<serial>.hex")} --sectorerase --verify   ` +
    `(Intel HEX of the journal pages at ${jrnl} and the provisioning page at ${prov}; any programmer that reads HEX ` +
    `places them there)`
  );
}

/** The journal image `solkey provision` wrote beside a provisioning image file (`X.bin` -> `X.journal.bin`). */
export function journalFileBeside(provisionFile: string): string {
  const ext = path.extname(provisionFile);
  return provisionFile.slice(0, provisionFile.length - ext.length) + ".journal" + (ext || ".bin");
}

/**
 * Refuses an `--out` that cannot become a directory of images (it, or a folder above it, is a file) before anything
 * is written: no database row, no folder.
 */
export function checkOutDir(out: string, flag = "--out"): void {
  let dir = path.resolve(out);
  while (!fs.existsSync(dir)) dir = path.dirname(dir);
  if (fs.statSync(dir).isDirectory()) return;
  const which = dir === path.resolve(out) ? `${out} is` : `${dir} (above ${out}) is`;
  throw new UsageError(`${flag} expected a directory, but ${which} a file; pass another ${flag}`);
}

/** Creates `--out` and a staging directory inside it, where a command's images wait until its database commits. */
export function stagingDir(out: string): string {
  checkOutDir(out);
  try {
    fs.mkdirSync(out, { recursive: true, mode: 0o700 }); // holds device secrets: owner only
    return fs.mkdtempSync(path.join(out, ".staging-"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e;
    throw new SolkeyError(
      `cannot write images in ${out} (${code}): check its permissions and free space, or pass another --out`,
    );
  }
}
