// The journal's NorFlash interface (firmware/storage/flash.ts, ECMA-419 flash shape) over Moddable's `flash`
// module: one partition (ESP32, by label) or address range (nRF52), with the chip's NOR limits from its profile.
import Flash from "flash";
import { regionStatus, type ChipProfile, type FlashStatus, type NorFlash } from "../storage/flash";

/** Where a flash area lives: an ESP32 partition label, or an absolute range on chips without a partition table. */
export type FlashArea = { readonly partition: string } | { readonly offset: number; readonly size: number };

/** Opens `area` with Moddable's Flash class. */
export function openFlash(area: FlashArea): Flash {
  return "partition" in area ? new Flash(area.partition) : new Flash(area.offset, area.size);
}

/** A Moddable flash area as NOR flash. Offsets are relative to the area; blocks are the chip's erase unit. */
export class ModdableNor implements NorFlash {
  private readonly info: FlashStatus;

  constructor(
    private readonly flash: Flash,
    chip: ChipProfile,
  ) {
    if (flash.blockSize !== chip.blockLength)
      throw new RangeError(`"blockSize" expected ${chip.blockLength}, got ${flash.blockSize}`);
    this.info = regionStatus(chip, Math.floor(flash.byteLength / chip.blockLength));
  }

  status(): FlashStatus {
    return this.info;
  }

  read(byteLength: number, byteOffset: number): ArrayBuffer {
    return this.flash.read(byteOffset, byteLength) as ArrayBuffer;
  }

  write(buffer: Uint8Array, byteOffset: number): void {
    const align = this.info.writeAlignment;
    if (byteOffset % align !== 0 || buffer.length % align !== 0)
      throw new RangeError(`"write" expected ${align}-byte alignment, got ${buffer.length} bytes at ${byteOffset}`);
    this.flash.write(byteOffset, buffer.length, buffer);
  }

  eraseBlock(block: number): void {
    this.flash.erase(block);
  }
}
