// Journal-region images for the factory and for operator recovery (ARCHITECTURE.md, Journal: the first record is
// written at the factory; "Recovering a corrupt device"). An image is the device's whole journal region: record 1
// (format v2, MAC'd under the device's journal key, so one image per device) holding a device state at offset 0,
// every other byte erased, made by the firmware's own `Journal.format` on a strict NOR simulator and mounted back
// before anyone may write it to a chip.
import { decodeDevice, encodeDevice } from "../firmware/ledger/codec";
import type { DeviceState } from "../firmware/ledger/state";
import { AREAS, type BoardName, type FlashArea } from "../firmware/provision/board";
import { deviceProtocol } from "../firmware/provision/protocol";
import type { KeycodeProtocol } from "../firmware/protocols/protocol";
import type { ProvisionRecord } from "../firmware/provision/record";
import { CHIPS } from "../firmware/storage/flash";
import { Journal, journalKey, type JournalOptions } from "../firmware/storage/journal";
import type { Otp } from "../firmware/storage/otp";
import { NorSim } from "../hosts/node/nor";

/** Where each board's journal region lies in its flash address map, and how big it is. */
export interface JournalArea {
  readonly offset: number;
  readonly size: number;
}

/**
 * ESP32: partition `solkey_jrnl` of hosts/moddable/esp32/partitions.csv (the firmware finds it by label, so the
 * address is the partition table's; test/provision-journal.test.ts pins it to the file). nRF52: the two pages below
 * the provisioning page, as firmware/main.ts AREAS opens them.
 */
export const JOURNAL_AREAS: Readonly<Record<BoardName, JournalArea>> = Object.freeze({
  esp32: Object.freeze({ offset: 0x3f0000, size: 0x4000 }),
  nrf52: Object.freeze(_addressed(AREAS.nrf52.journal)),
});

/** The device's protocol, as the firmware builds it from its provisioning record. */
export function protocolOf(record: ProvisionRecord): KeycodeProtocol<unknown> {
  return deviceProtocol(record).protocol;
}

/**
 * The whole journal region of `board` holding `device` as record 1 and nothing else, MAC'd under `deviceKey`'s
 * journal key at anchor step `anchor` (0 at the factory; for a recovery, the anchor count read off the chip):
 * `Journal.format` on an erased simulated region with the board's chip rules, then checked by `expectJournal`.
 * Throws (a bug) if it does not mount.
 */
export function journalImage<S>(
  board: BoardName,
  protocol: KeycodeProtocol<S>,
  device: DeviceState<S>,
  deviceKey: Uint8Array,
  anchor = 0,
): Uint8Array {
  const flash = _region(board);
  Journal.format(flash, encodeDevice(protocol, device), _options(deviceKey, anchor), anchor);
  const image = flash.image.bytes.slice();
  expectJournal(board, image, protocol, device, deviceKey, anchor);
  return image;
}

/**
 * Mounts `image` as the firmware will (`Journal.mount`, on a chip whose anchor count is `anchor`) and throws unless
 * it is exactly one record, number 1, whose payload is `device` as `protocol` encodes it and decodes back to it.
 */
export function expectJournal<S>(
  board: BoardName,
  image: Uint8Array,
  protocol: KeycodeProtocol<S>,
  device: DeviceState<S>,
  deviceKey: Uint8Array,
  anchor = 0,
): void {
  const mounted = Journal.mount(_region(board, image), _options(deviceKey, anchor)).mounted;
  const want = encodeDevice(protocol, device);
  if (mounted.kind !== "record" || mounted.sequence !== 1 || !_same(mounted.payload, want))
    throw new Error(`journal image does not mount as the state written (${mounted.kind}): a solkey bug`);
  const back = decodeDevice(protocol, mounted.payload);
  if (back === undefined || !_same(encodeDevice(protocol, back), want))
    throw new Error("journal image's record does not decode to the state written: a solkey bug");
}

/** The journal options of a device whose OTP reads `anchor` anchor bits set (bit 0, the mark, set when anchor > 0). */
function _options(deviceKey: Uint8Array, anchor: number): JournalOptions {
  const otp: Otp = {
    size: anchor + 2,
    read: (index) => (index > 0 ? index <= anchor : anchor > 0),
    set: () => {
      throw new Error("a journal image is only formatted and mounted, never written: a solkey bug");
    },
  };
  return { key: journalKey(deviceKey), otp };
}

function _addressed(area: FlashArea): JournalArea {
  if (!("offset" in area)) throw new Error("nRF52 journal area has no address: firmware/main.ts AREAS changed");
  return { offset: area.offset, size: area.size };
}

/** The board's journal region on a strict NOR simulator: erased, or holding `bytes`. */
function _region(board: BoardName, bytes?: Uint8Array): NorSim {
  const chip = CHIPS[board];
  const { size } = JOURNAL_AREAS[board];
  const blocks = size / chip.blockLength;
  if (bytes === undefined) return new NorSim({ chip, blocks });
  if (bytes.length !== size) throw new RangeError(`"image" expected ${size} bytes, got ${bytes.length}`);
  const words = size / chip.writeAlignment;
  const image = {
    bytes,
    unstable: new Uint8Array(size),
    wordWrites: new Uint8Array(words),
    blockErases: new Uint32Array(blocks),
  };
  return new NorSim({ chip, blocks, image });
}

function _same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
