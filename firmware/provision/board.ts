// The boards solkey is provisioned for, with where each keeps its provisioning record in flash. The factory tool
// writes the image at `provisionOffset`; the firmware reads the record from the same place at boot.
//
// For the device port (hosts/moddable, firmware/main.ts): these offsets are the contract. The ESP32 partitions file
// must hold a data partition `solkey_prov` of `provisionSize` bytes at `provisionOffset`, and the nRF52 linker
// layout must leave that page out of the application image.
import type { FlashArea } from "../io/norflash";

/** Re-exported for the tools that place images (fleet/journal.ts): the type lives with the flash it opens. */
export type { FlashArea };

/** Board names as the tools spell them; the record stores the board's `id` byte. */
export type BoardName = "esp32" | "nrf52";

export interface Board {
  readonly name: BoardName;
  /** The byte stored in the provisioning record (0 and 0xFF are never used: blank flash must not name a board). */
  readonly id: number;
  /** Absolute flash address of the provisioning area: its own erase unit, nothing else in it. */
  readonly provisionOffset: number;
  /** Size of that area: one sector (ESP32) or page (nRF52), the erase unit. */
  readonly provisionSize: number;
}

export const BOARDS: Readonly<Record<BoardName, Board>> = Object.freeze({
  // ESP32 with 4 MB flash: the last 4 KB sector, above the app, xs and journal partitions (ESP-IDF partition
  // tables need 4 KB-aligned data partitions; the last sector is the one an app partition never grows into).
  esp32: Object.freeze({ name: "esp32", id: 1, provisionOffset: 0x3ff000, provisionSize: 0x1000 }),
  // nRF52840 (1 MB flash), Moddable's layout (build/devices/nrf52/config/xsproj.ld): the application runs from
  // 0x27000 to 0xEF000; above it sit BLE peer data (0xEF000-0xF1FFF), the `preference` module's pages (0xF2000-
  // 0xF3FFF, erased on first use) and the bootloader, so solkey takes the top three pages of the application region:
  // the journal at 0xEC000-0xEDFFF and this record at 0xEE000. The manifest sizes Moddable's "storage" partition
  // (MODDEF_FILE_LFS_PARTITION_SIZE) to exactly those 12 KB, so neither the app image nor XS mods are placed there.
  nrf52: Object.freeze({ name: "nrf52", id: 2, provisionOffset: 0xee000, provisionSize: 0x1000 }),
});

/** The board whose record byte is `id`, or undefined. */
export function boardById(id: number): Board | undefined {
  if (id === BOARDS.esp32.id) return BOARDS.esp32;
  if (id === BOARDS.nrf52.id) return BOARDS.nrf52;
  return undefined;
}

/**
 * The provisioning and journal areas per board. ESP32: partitions by label (hosts/moddable/esp32/partitions.csv);
 * nRF52: address ranges, the journal's two pages just below the provisioning page.
 */
export const AREAS: Readonly<Record<BoardName, { readonly provision: FlashArea; readonly journal: FlashArea }>> =
  Object.freeze({
    esp32: Object.freeze({
      provision: Object.freeze({ partition: "solkey_prov" }),
      journal: Object.freeze({ partition: "solkey_jrnl" }),
    }),
    nrf52: Object.freeze({
      provision: Object.freeze({ offset: BOARDS.nrf52.provisionOffset, size: BOARDS.nrf52.provisionSize }),
      journal: Object.freeze({ offset: BOARDS.nrf52.provisionOffset - 0x2000, size: 0x2000 }),
    }),
  });
