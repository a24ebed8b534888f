// The NOR-flash interface the journal runs on, shaped like ECMA-419 `embedded:storage/flash` (read, write,
// eraseBlock, status), plus the chip profiles the journal and the simulator are built for (docs/DESIGN.md, "Hardware").

/**
 * What the chip promises, in ECMA-419's `status()` shape with the NOR limits added. The journal reads it once at
 * mount and lays its records out from it; nothing else about the chip is assumed.
 */
export interface FlashStatus {
  /** Bytes in the region the journal owns: `blocks * blockLength`. */
  readonly size: number;
  /** Bytes in one erase block (sector, page). */
  readonly blockLength: number;
  /** Erase blocks in the region; the journal needs at least 2. */
  readonly blocks: number;
  /** Offset and length of every write are multiples of this (the program word). */
  readonly writeAlignment: number;
  /** What an erased byte reads as; NOR flash erases to all ones. */
  readonly erasedValue: 0xff;
  /** Writes a word may take between erases (nRF52 nWRITE = 2); Infinity when the datasheet sets no limit. */
  readonly maxWritesPerWord: number;
  /** Erase cycles per block the datasheet guarantees; used for wear projections only. */
  readonly eraseCycles: number;
}

/**
 * A region of NOR flash. Offsets are relative to the region. `write` can only clear bits (a 1 written over a 0
 * leaves the 0); `eraseBlock` sets a whole block to `erasedValue`. Any call may be the last one before power fails:
 * the journal's fault model (journal.ts, "Preconditions") says what an interrupted call may leave.
 */
export interface NorFlash {
  status(): FlashStatus;
  /** `byteLength` bytes from `byteOffset`, as a fresh buffer (ECMA-419 argument order). */
  read(byteLength: number, byteOffset: number): ArrayBuffer;
  /** Programs `buffer` at `byteOffset`; both aligned to `writeAlignment`. */
  write(buffer: Uint8Array, byteOffset: number): void;
  /** Erases block number `block` (not a byte offset). */
  eraseBlock(block: number): void;
}

/** The chip facts of a profile; `blocks` is the region's choice, not the chip's. */
export type ChipProfile = Omit<FlashStatus, "size" | "blocks">;

/**
 * ESP32 with external SPI NOR (e.g. GD25Q32, W25Q32): 4 KB sectors, 100k erase cycles. SPI NOR can program a
 * byte more than once, but the journal only relies on 4-byte words written once (esp_partition_write alignment with
 * flash encryption off).
 */
export const ESP32: ChipProfile = Object.freeze({
  blockLength: 4096,
  writeAlignment: 4,
  erasedValue: 0xff,
  maxWritesPerWord: Infinity,
  eraseCycles: 100_000,
});

/**
 * nRF52832/nRF52840 internal flash (NVMC): 4 KB pages, 32-bit word writes, at most 2 writes per word between
 * erases (product specification, nWRITE), 10k erase cycles (tENDURANCE).
 */
export const NRF52: ChipProfile = Object.freeze({
  blockLength: 4096,
  writeAlignment: 4,
  erasedValue: 0xff,
  maxWritesPerWord: 2,
  eraseCycles: 10_000,
});

export const CHIPS: Readonly<Record<"esp32" | "nrf52", ChipProfile>> = Object.freeze({ esp32: ESP32, nrf52: NRF52 });

/** The status of a region of `blocks` blocks of `chip`. */
export function regionStatus(chip: ChipProfile, blocks: number): FlashStatus {
  return { ...chip, blocks, size: blocks * chip.blockLength };
}
