// The power-fail-safe journal: a log of whole-state records over NOR flash (docs/SPEC.md, record format v1;
// docs/DESIGN.md for why it is shaped so).
//
// SPECIFICATION
//   mount(flash) reads the flash and nothing else, and returns one of
//     - "record": the payload of the newest valid record (the device state the ledger decodes);
//     - "fresh": every byte of the region reads erased (a factory-fresh, unprovisioned device);
//     - "corrupt": there is content but no valid record. The device must come up locked, load off, never as a
//       fresh device (it may have seen codes). Only `format` (an operator's recovery, ARCHITECTURE.md) leaves it.
//   append(payload) makes `payload` the state the next mount returns; it is the only way the state changes. If
//   power fails during append, the next mount returns the state before or the state after it, nothing else.
//   format(flash, payload) erases the whole region and writes `payload` as the first record (provisioning,
//   operator recovery). It is not power-fail-safe and is only run with an operator watching.
//
// DEFINITIONS
//   block    the erase unit (FlashStatus.blockLength, 4 KB on ESP32 and nRF52).
//   word     the program unit (FlashStatus.writeAlignment, 4 bytes).
//   record   header (magic, version, length, sequence), payload, zero padding, CRC-32 of all before it; a whole
//            number of words (SPEC.md, "Record").
//   valid    a record at a word-aligned offset whose magic, length and CRC check and that lies inside one block.
//            A payload never contains a valid record (device states carry no CRC-framed data).
//   newest   the valid record with the highest sequence number.
//   open     the block holding the newest record; appends go after it while its tail reads erased.
//
// PRECONDITIONS (the fault model)
//   P1 Erased reads as all ones and a write can only turn ones into zeros.        (NOR physics)
//   P2 An interrupted write changes any subset of the bits it meant to change, and those bits may read back
//      differently each time until the next erase; nothing outside its range.      (datasheets promise no more)
//   P3 An interrupted erase leaves any bits of its block set, possibly unstable; no other block changes.
//   P4 A word may be written maxWritesPerWord times between erases; the journal writes each word at most once
//      after an erase it made, and at most twice if an earlier write there was interrupted.   (nRF52 nWRITE = 2)
//   P5 Flash does not change by itself between writes.   (bit rot is outside the model: DESIGN.md, "Known limits")
//
// IMPLEMENTATION
//   Records go one after another from the start of a block. When the next record does not fit, or the open
//   block's tail does not read erased (an interrupted append left bits there), the next block in turn is erased
//   and the record goes to its start. Every record holds the whole state, so the block being erased never holds
//   the newest state: the newest record lives in the open block until a newer one is safely written elsewhere.
//   After writing, append reads the record back; a mismatch (unstable or worn bits) moves it to the next block,
//   skipping the block holding the newest record: once every other block has failed, append gives up (ERRORS).
//   Mount reads every block, takes every word-aligned header with the magic and a length that fits as a candidate,
//   and checks candidates by CRC from the highest sequence number down: the first that checks is the newest (one
//   CRC on most boots). It remembers whether the open block's tail is erased. It never writes and never erases.
//
// INVARIANTS
//   I1 Sequence numbers of valid records increase in append order; a record rewritten after a failed read-back
//      keeps its number and its payload.                             (the newest one is the latest state)
//   I2 The newest record is never in the block being erased.         (an erase cut loses nothing committed)
//   I3 A record is never written over bits that do not read erased.  (a torn record never corrupts the next)
//   I4 An interrupted append leaves at most one invalid record, the last thing in its block, which the next
//      append steps over by moving on.                               (a cut costs one erase, not a lost state)
//   I5 Mount is total: any byte image gives record, fresh or corrupt, without throwing.   (the device always boots)
//
// ERRORS
//   append on a corrupt journal throws JournalError: state unchanged, the device stays locked; recover with format.
//   append whose record cannot be written and verified in any block but the newest record's (its erased tail
//   included) throws JournalError: the flash is worn out; the previous state stays the newest and mounts again
//   (that block was not erased, I2), the caller keeps the device locked.
//   Any exception from the flash (the simulator's power cut) leaves the journal unusable: mount again.
import { expectBytes, expectInt } from "../assert";
import { crc32 } from "../provision/crc32";
import type { FlashStatus, NorFlash } from "./flash";

/** Record format version this firmware writes and reads (SPEC.md). */
export const FORMAT_VERSION = 1;
/** First byte of every record: 'J'. */
export const MAGIC = 0x4a;
/** Header bytes before the payload: magic, version, length (u16), sequence (u32). */
export const HEADER_BYTES = 8;
/** The CRC-32 word at the end of every record. */
export const CRC_BYTES = 4;
/** Largest payload a record holds; the device state codec stays well below it (wear: docs/DESIGN.md). */
export const MAX_PAYLOAD = 1024;

/** What mount found. `payload` is a fresh copy; `sequence` is the record's sequence number. */
export type Mounted =
  | { readonly kind: "record"; readonly payload: Uint8Array; readonly sequence: number }
  | { readonly kind: "fresh" }
  | { readonly kind: "corrupt" };

/** A journal operation that cannot go ahead; the message says what state it leaves and what to do next. */
export class JournalError extends Error {
  override name = "JournalError";
}

/** Bytes a record with a `length`-byte payload takes on flash, for word size `writeAlignment`. */
export function recordBytes(length: number, writeAlignment: number): number {
  const bare = HEADER_BYTES + length + CRC_BYTES;
  return Math.ceil(bare / writeAlignment) * writeAlignment;
}

/** The record image of `payload` with number `sequence` (SPEC.md, "Record"). */
export function encodeRecord(payload: Uint8Array, sequence: number, writeAlignment: number): Uint8Array {
  const size = recordBytes(payload.length, writeAlignment);
  const record = new Uint8Array(size); // padding stays zero
  record[0] = MAGIC;
  record[1] = FORMAT_VERSION;
  record[2] = payload.length & 0xff;
  record[3] = payload.length >>> 8;
  _putU32(record, 4, sequence);
  record.set(payload, HEADER_BYTES);
  _putU32(record, size - CRC_BYTES, crc32(record, size - CRC_BYTES));
  return record;
}

/** A word-aligned header that could start a record: checked by CRC only if it is the newest so far. */
interface _Candidate {
  readonly block: number;
  readonly offset: number;
  readonly size: number;
  readonly sequence: number;
}

export class Journal {
  /** What mount found; after an append, the record just written. */
  private state: Mounted;
  /** Block the next record goes into when it fits, -1 before the first record. */
  private block: number;
  /** Offset of the next record in `block`. */
  private cursor: number;
  /** Whether everything from `cursor` to the end of `block` reads erased and may be written. */
  private clean: boolean;
  private readonly status: FlashStatus;

  private constructor(
    private readonly flash: NorFlash,
    status: FlashStatus,
    state: Mounted,
    block: number,
    cursor: number,
    clean: boolean,
  ) {
    this.status = status;
    this.state = state;
    this.block = block;
    this.cursor = cursor;
    this.clean = clean;
  }

  /** Reads the region and finds the newest valid record (SPECIFICATION above). Reads only; total over garbage. */
  static mount(flash: NorFlash): Journal {
    const status = _checkStatus(flash.status());
    const { blocks, blockLength, writeAlignment } = status;
    const candidates: _Candidate[] = [];
    const erasedFrom: number[] = [];
    for (let block = 0; block < blocks; block++) {
      const bytes = new Uint8Array(flash.read(blockLength, block * blockLength));
      erasedFrom.push(_erasedFrom(bytes));
      // Every word offset is looked at, not only where the previous record ends: damage to one record (a torn
      // header, bit rot) then cannot hide the records after it.
      for (let offset = 0; offset < erasedFrom[block]; offset += writeAlignment) {
        if (bytes[offset] !== MAGIC) continue;
        const length = bytes[offset + 2] | (bytes[offset + 3] << 8);
        const size = recordBytes(length, writeAlignment);
        if (length > MAX_PAYLOAD || offset + size > blockLength) continue;
        candidates.push({ block, offset, size, sequence: _getU32(bytes, offset + 4) });
      }
    }
    // Newest first; the first that checks is the newest valid record, so most boots compute one CRC.
    candidates.sort((a, b) => b.sequence - a.sequence);
    for (const candidate of candidates) {
      // Re-read and check in one buffer: weak bits may read differently each time, and the payload returned must be
      // the very bytes the CRC checked.
      const at = candidate.block * blockLength + candidate.offset;
      const record = new Uint8Array(flash.read(candidate.size, at));
      if (!_isRecord(record, writeAlignment)) continue;
      // A valid record of a format this firmware does not know is newer than anything it could write (a
      // downgrade): serving an older record would replay codes, so the device stays locked.
      if (record[1] !== FORMAT_VERSION) break;
      const length = record[2] | (record[3] << 8);
      const state: Mounted = {
        kind: "record",
        payload: record.slice(HEADER_BYTES, HEADER_BYTES + length),
        sequence: _getU32(record, 4),
      };
      const end = candidate.offset + candidate.size;
      // The open block takes more records only if nothing but erased bytes follows the newest one (I3).
      return new Journal(flash, status, state, candidate.block, end, erasedFrom[candidate.block] <= end);
    }
    const anyContent = erasedFrom.some((from) => from > 0);
    return new Journal(flash, status, anyContent ? { kind: "corrupt" } : { kind: "fresh" }, -1, 0, false);
  }

  /**
   * Erases the whole region and writes `payload` as record 1, then mounts. For provisioning and for an operator
   * recovering a corrupt device; power must not fail during it (a cut leaves "fresh" or "corrupt": run it again).
   */
  static format(flash: NorFlash, payload: Uint8Array): Journal {
    const status = _checkStatus(flash.status());
    for (let block = 0; block < status.blocks; block++) flash.eraseBlock(block);
    const journal = new Journal(flash, status, { kind: "fresh" }, 0, 0, true);
    journal.append(payload);
    return Journal.mount(flash);
  }

  /** What the last mount found, or the last record appended since. */
  get mounted(): Mounted {
    return this.state;
  }

  /**
   * Makes `payload` the newest state (SPECIFICATION). Throws RangeError for a payload over MAX_PAYLOAD,
   * JournalError on a corrupt journal or worn-out flash (state unchanged either way).
   */
  append(payload: Uint8Array): void {
    expectBytes(payload, -1, "payload");
    expectInt(payload.length, 0, MAX_PAYLOAD, "payload.length");
    if (this.state.kind === "corrupt")
      throw new JournalError(
        "journal is corrupt (content but no valid record): state unchanged, the device stays locked; " +
          "an operator recovers it with Journal.format (ARCHITECTURE.md, Journal)",
      );
    const { blockLength, blocks, writeAlignment } = this.status;
    const sequence = this.state.kind === "record" ? this.state.sequence + 1 : 1;
    if (sequence > 0xffffffff) throw new JournalError("journal sequence exhausted: state unchanged; format the device");
    const record = encodeRecord(payload, sequence, writeAlignment);
    if (record.length > blockLength)
      throw new RangeError(`"payload" expected a record of at most ${blockLength} bytes, got ${record.length}`);
    // Block `open + step` for step 0, 1, ...: the open block takes the record in place if it fits and reads erased;
    // any other block is erased first. The block holding the newest record is never erased (I2): after a failed
    // read-back the record moves on to the next block, and when every other block has failed the newest record is
    // still where it was. (A block erased and failed in this pass is not erased again: the flash is worn out.)
    const open = this.block;
    const cursor = this.cursor;
    const newest = this.state.kind === "record" ? open : -1;
    for (let step = 0; step < blocks; step++) {
      const target = ((open < 0 ? 0 : open) + step) % blocks;
      if (target !== this.block || !this.clean || this.cursor + record.length > blockLength) {
        if (target === newest) continue;
        this.clean = false; // until the erase has finished (a cut leaves the object unusable anyway)
        this.flash.eraseBlock(target);
        this.block = target;
        this.cursor = 0;
        this.clean = true;
      }
      const at = this.block * blockLength + this.cursor;
      this.clean = false; // the bits after the cursor are no longer known to be erased until verified
      this.flash.write(record, at);
      this.cursor += record.length;
      if (_equal(new Uint8Array(this.flash.read(record.length, at)), record)) {
        this.clean = true;
        this.state = { kind: "record", payload: payload.slice(), sequence };
        return;
      }
    }
    // Back to the block of the newest record, as mount would find it; its tail is not trusted (a failed write may
    // have left bits there), so the next append moves on and erases another block.
    this.block = open;
    this.cursor = cursor;
    this.clean = false;
    throw new JournalError(
      `record ${sequence} did not read back in any block it may use: the flash is worn out; ` +
        "the previous state stays the newest, keep the device locked and replace the controller",
    );
  }
}

/** Whether `record` (read from flash, `recordBytes` of its own length) is a whole record with a matching CRC. */
function _isRecord(record: Uint8Array, writeAlignment: number): boolean {
  if (record.length < HEADER_BYTES + CRC_BYTES || record[0] !== MAGIC) return false;
  const length = record[2] | (record[3] << 8);
  if (length > MAX_PAYLOAD || recordBytes(length, writeAlignment) !== record.length) return false;
  return crc32(record, record.length - CRC_BYTES) === _getU32(record, record.length - CRC_BYTES);
}

/** Index from which every byte reads 0xFF (bytes.length when the last byte is not erased). */
function _erasedFrom(bytes: Uint8Array): number {
  let i = bytes.length;
  while (i > 0 && bytes[i - 1] === 0xff) i--;
  return i;
}

function _checkStatus(status: FlashStatus): FlashStatus {
  const { blocks, blockLength, writeAlignment } = status;
  expectInt(blocks, 2, 0xffff, "status.blocks"); // two blocks at least: one holds the newest while one is erased
  expectInt(writeAlignment, 1, 256, "status.writeAlignment");
  expectInt(blockLength, 64, 1 << 20, "status.blockLength");
  if (blockLength % writeAlignment !== 0)
    throw new RangeError(`"status.blockLength" expected a multiple of ${writeAlignment}, got ${blockLength}`);
  return status;
}

function _equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function _putU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = (value >>> 16) & 0xff;
  bytes[offset + 3] = value >>> 24;
}

function _getU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0;
}
