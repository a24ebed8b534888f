// The power-fail-safe journal: a log of whole-state records over NOR flash, with the credit clock's tally of charged
// minutes after the newest record and an OTP mark and anchor (docs/SPEC.md, format v2; docs/DESIGN.md for why).
//
// SPECIFICATION
//   mount(flash, { key, otp }) reads the flash and the OTP bits and nothing else, and returns one of
//     - "record": the payload of the newest valid record and `minutes`, the minutes charged since that payload was
//       written (its carry plus its tally): the device state is the payload less those minutes;
//     - "fresh": every byte of the region reads erased and the OTP mark is not set (a factory-fresh device);
//     - "corrupt": anything else without a valid record: content, or an erased region on a marked device (erased
//       by someone), or only records of an older anchor step (an older image restored). The device comes up
//       locked, load off, never fresh (it may have seen codes). Only `format` (operator recovery) leaves it.
//   append(payload, spend) makes `payload` the state the next mount returns, with no minutes charged; tick()
//   charges one more minute. They are the only ways the state changes. If power fails during either, the next
//   mount returns the state before or the state after it, nothing else.
//   setMark() sets OTP bit 0 once the newest record is v2; migrate(payload) writes `payload` as a v2 record unless
//   the newest already is one, then sets the mark (migration: SPEC.md); `migrated` says whether it is done.
//   format(flash, payload) erases the whole region and writes `payload` as the first record (provisioning,
//   operator recovery). It is not power-fail-safe and is only run with an operator watching.
//
// DEFINITIONS
//   block    the erase unit (FlashStatus.blockLength, 4 KB on ESP32 and nRF52).
//   word     the program unit (FlashStatus.writeAlignment, 4 bytes).
//   record   v2: header (magic, version, length, sequence, carry, anchor, codes, spent), payload, MAC, CRC-32,
//            packed 31 bits per word with the top bit of every word 1 (SPEC.md, "Record v2"). v1 records (no
//            carry, MAC or packing) still mount on an unmarked device.
//   valid    a record at a word-aligned offset whose magic, length, CRC and (v2) MAC and anchor check and that lies
//            inside one block. A payload never contains a valid record (device states carry no framed data).
//   newest   the valid record with the highest sequence number.
//   tally    the words after the newest record to the end of its block; each that reads 0x00000000 is a minute.
//   next     where the next tally word or record goes in the open block: after a mount two words past the last
//            word of the tally that does not read erased, within a session the word after the last one written.
//   open     the block holding the newest record.
//
// PRECONDITIONS (the fault model)
//   P1 Erased reads as all ones and a write can only turn ones into zeros.        (NOR physics)
//   P2 An interrupted write changes any subset of the bits it meant to change, and those bits may read back
//      differently each time until the next erase; nothing outside its range.      (datasheets promise no more)
//   P3 An interrupted erase leaves any bits of its block set, possibly unstable; no other block changes.
//   P4 A word may be written maxWritesPerWord times between erases (nRF52840 nWRITE = 2; nRF52832 181 writes per
//      512-byte block): the journal writes each word at most once after an erase, a word a cut may have written
//      included (the skip after a mount), so 128 writes per 512 bytes at most.
//   P6 An OTP bit whose programming is cut may read either way until set again; OTP bits never clear.
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
//   and checks candidates from the highest sequence number down: the first that checks is the newest (one CRC and
//   one MAC on most boots). It then counts the newest record's tally. It never writes and never erases.
//   A record goes at `next` when it fits before the block's end, else in the next block (erased first). A minute
//   goes in the word at `next` (read back), else (block end, a step due, a failed read-back) in a rollover record:
//   the same payload with the minute carried. The first attempt after a mount takes sequence newest + 1 + blocks,
//   every later attempt the next number. A step of the anchor is taken by writing the record at anchor + 1, then
//   setting that OTP bit.
//
// INVARIANTS
//   I1 Sequence numbers of valid records increase in append order, and no two attempts share one, across power
//      cuts too.                                      (a weak torn attempt can never tie with a committed record)
//   I2 The newest record is never in the block being erased.         (an erase cut loses nothing committed)
//   I3 Nothing is written over bits that do not read erased, nor in the word after them.   (a torn write never
//      corrupts the next, and no word is written twice)
//   I4 No record word reads 0x00000000, whole or torn, so a tally counts minutes and nothing else.  (packing)
//   I5 Mount is total: any byte image gives record, fresh or corrupt, without throwing.   (the device always boots)
//   I6 Every powered minute follows a tally word or record that read back: minutes charged >= minutes powered.
//   I7 A record's anchor is the OTP count or one above it; a step's record is written before its bit.   (an image
//      from before a step never mounts, and a cut between the two loses nothing)
//
// ERRORS
//   append or tick on a corrupt journal throws JournalError: state unchanged, the device stays locked; recover with
//   format.
//   append whose record cannot be written and verified in any block but the newest record's (its erased tail
//   included) throws JournalError: the flash is worn out; the previous state stays the newest and mounts again
//   (that block was not erased, I2), the caller keeps the device locked.
//   Any exception from the flash or the OTP (the simulator's power cut) leaves the journal unusable: mount again.
import { expectBytes, expectInt } from "../assert";
import { sipKey, siphash24, type SipKey } from "../crypto/siphash";
import { crc32 } from "../provision/crc32";
import type { FlashStatus, NorFlash } from "./flash";
import { anchorCount, type Otp } from "./otp";

/** Record format version this firmware writes (SPEC.md); it also reads version 1 on an unmarked device. */
export const FORMAT_VERSION = 2;
/** First byte of every record: 'J'. */
export const MAGIC = 0x4a;
/** v1 header bytes before the payload: magic, version, length (u16), sequence (u32). */
export const HEADER_BYTES = 8;
/** v2 logical header: v1's, then carry (u32), anchor (u16), codes (u16), spent (u32). */
export const HEADER_V2_BYTES = 20;
/** The SipHash-2-4 tag after a v2 payload. */
export const MAC_BYTES = 8;
/** The CRC-32 word at the end of every record. */
export const CRC_BYTES = 4;
/** Largest payload a record holds; the device state codec stays well below it (wear: docs/DESIGN.md). */
export const MAX_PAYLOAD = 1024;
/** Powered load one tally word pays for (SPEC.md, "Tally"). */
export const MINUTE_MS = 60_000;

/** What mount found. `payload` is a fresh copy. */
export type Mounted =
  | {
      readonly kind: "record";
      readonly payload: Uint8Array;
      readonly sequence: number;
      /** Minutes charged since `payload` was written (carry + tally): the state is the payload less these. */
      readonly minutes: number;
    }
  | { readonly kind: "fresh" }
  | { readonly kind: "corrupt" };

/** What the journal needs besides the flash: the record key and the chip's OTP bits. */
export interface JournalOptions {
  /** The journal key, `journalKey(deviceKey)` (16 bytes). */
  readonly key: Uint8Array;
  /** Bit 0 the mark, bits 1.. the anchor; `NO_OTP` on a chip that lends none. */
  readonly otp: Otp;
}

/** What a v2 record's header holds besides magic, version and length (SPEC.md, "Record v2"). */
export interface RecordHeader {
  readonly sequence: number;
  readonly carry: number;
  readonly anchor: number;
  readonly codes: number;
  readonly spent: number;
}

/**
 * What an append spends toward the anchor's step (SPEC.md, "Anchor and mark"): codes applied by it, and minutes
 * charged in the payload itself since the last record or tally word (a record that deducts them instead of tally
 * words: without them a rollback could regain minutes no step counted).
 */
export interface Spend {
  readonly codes: number;
  readonly minutes: number;
}

/** A journal operation that cannot go ahead; the message says what state it leaves and what to do next. */
export class JournalError extends Error {
  override name = "JournalError";
}

const _LABEL = [0x73, 0x6f, 0x6c, 0x6b, 0x65, 0x79, 0x2d, 0x6a, 0x6f, 0x75, 0x72, 0x6e, 0x61, 0x6c, 0x2d]; // "solkey-journal-"

/** K_j = SipHash-2-4(deviceKey, "solkey-journal-0") || SipHash-2-4(deviceKey, "solkey-journal-1") (SPEC.md). */
export function journalKey(deviceKey: Uint8Array): Uint8Array {
  expectBytes(deviceKey, 16, "deviceKey");
  const key = new Uint8Array(16);
  for (const half of [0, 1]) key.set(siphash24(deviceKey, Uint8Array.from([..._LABEL, 0x30 + half])), 8 * half);
  return key;
}

/** Minutes and codes in one anchor step for `anchorBits` bits lasting 10 years (DESIGN.md, "Flash attacker"). */
export function anchorStep(anchorBits: number): { readonly minutes: number; readonly codes: number } {
  // 10 years of 24 h load and of 10 codes a day, each given half the bits.
  return {
    minutes: Math.ceil((2 * 5_259_600) / anchorBits),
    codes: Math.min(0xffff, Math.ceil((2 * 36_525) / anchorBits)),
  };
}

/** Bytes a v1 record with a `length`-byte payload takes on flash, for word size `writeAlignment`. */
export function recordBytes(length: number, writeAlignment: number): number {
  const bare = HEADER_BYTES + length + CRC_BYTES;
  return Math.ceil(bare / writeAlignment) * writeAlignment;
}

/** Bytes a v2 record with a `length`-byte payload takes on flash: 31 logical bits per 4-byte word. */
export function packedBytes(length: number): number {
  return 4 * Math.ceil((8 * (HEADER_V2_BYTES + length + MAC_BYTES + CRC_BYTES)) / 31);
}

/** The v1 record image of `payload` with number `sequence` (SPEC.md, "Record"): what v1 firmware wrote. */
export function encodeRecordV1(payload: Uint8Array, sequence: number, writeAlignment: number): Uint8Array {
  const size = recordBytes(payload.length, writeAlignment);
  const record = new Uint8Array(size); // padding stays zero
  record[0] = MAGIC;
  record[1] = 1;
  record[2] = payload.length & 0xff;
  record[3] = payload.length >>> 8;
  _putU32(record, 4, sequence);
  record.set(payload, HEADER_BYTES);
  _putU32(record, size - CRC_BYTES, crc32(record, size - CRC_BYTES));
  return record;
}

/** The packed v2 record image of `payload` (SPEC.md, "Record v2"), MAC'd under `key` (a journal key). */
export function encodeRecordV2(payload: Uint8Array, header: RecordHeader, key: SipKey): Uint8Array {
  const length = payload.length;
  const logical = new Uint8Array(HEADER_V2_BYTES + length + MAC_BYTES + CRC_BYTES);
  logical[0] = MAGIC;
  logical[1] = FORMAT_VERSION;
  logical[2] = length & 0xff;
  logical[3] = length >>> 8;
  _putU32(logical, 4, header.sequence);
  _putU32(logical, 8, header.carry);
  _putU16(logical, 12, header.anchor);
  _putU16(logical, 14, header.codes);
  _putU32(logical, 16, header.spent);
  logical.set(payload, HEADER_V2_BYTES);
  const macAt = HEADER_V2_BYTES + length;
  logical.set(siphash24(key, logical.subarray(0, macAt)), macAt);
  _putU32(logical, macAt + MAC_BYTES, crc32(logical, macAt + MAC_BYTES));
  return _pack(logical);
}

/** The header and payload of a packed v2 record image, or undefined unless packing, CRC and MAC all check. */
export function decodeRecordV2(
  image: Uint8Array,
  key: SipKey,
): { readonly header: RecordHeader; readonly payload: Uint8Array } | undefined {
  if (image.length < 4 || image.length % 4 !== 0 || image[0] !== MAGIC || image[1] !== FORMAT_VERSION) return undefined;
  for (let at = 3; at < image.length; at += 4) if ((image[at] & 0x80) === 0) return undefined;
  const length = image[2] | ((image[3] & 0x7f) << 8);
  if (length > MAX_PAYLOAD || packedBytes(length) !== image.length) return undefined;
  const macAt = HEADER_V2_BYTES + length;
  const logical = _unpack(image, macAt + MAC_BYTES + CRC_BYTES);
  if (crc32(logical, macAt + MAC_BYTES) !== _getU32(logical, macAt + MAC_BYTES)) return undefined;
  const mac = siphash24(key, logical.subarray(0, macAt));
  let differ = 0;
  for (let i = 0; i < MAC_BYTES; i++) differ |= mac[i] ^ logical[macAt + i];
  if (differ !== 0) return undefined;
  const header: RecordHeader = {
    sequence: _getU32(logical, 4),
    carry: _getU32(logical, 8),
    anchor: logical[12] | (logical[13] << 8),
    codes: logical[14] | (logical[15] << 8),
    spent: _getU32(logical, 16),
  };
  return { header, payload: logical.slice(HEADER_V2_BYTES, macAt) };
}

/** A word-aligned header that could start a record: checked only if it is the newest so far. */
interface _Candidate {
  readonly block: number;
  readonly offset: number;
  readonly size: number;
  readonly sequence: number;
  readonly version: number;
}

/** The newest record as the journal keeps it: where it ends, its header fields and its tally. */
interface _Newest {
  readonly version: 1 | 2;
  readonly payload: Uint8Array;
  readonly header: RecordHeader;
  /** Tally words that read 0x00000000 (v1: always 0). */
  readonly used: number;
}

export class Journal {
  private state: Mounted;
  private newest: _Newest | undefined;
  /** The block holding the newest record, -1 before the first record. */
  private block: number;
  /** Offset in `block` of the next tally word or record; everything from it to the block's end reads erased. */
  private next: number;
  /** Sequence number of the next attempt. */
  private sequence: number;
  /** OTP anchor count as last read or set, and whether bit 0 (the mark) is set. */
  private count: number;
  private marked: boolean;
  /** Trailing one-minute sessions in the tally at mount (the brown-out back-off, SPEC.md "Tally"). */
  readonly shortSessions: number;
  private readonly key: SipKey;
  private readonly otp: Otp;
  private readonly status: FlashStatus;
  private readonly flash: NorFlash;

  private constructor(
    flash: NorFlash,
    status: FlashStatus,
    options: { key: SipKey; otp: Otp; count: number; marked: boolean },
    found: { newest: _Newest | undefined; state: Mounted; block: number; next: number; shortSessions: number },
  ) {
    this.flash = flash;
    this.status = status;
    this.key = options.key;
    this.otp = options.otp;
    this.count = options.count;
    this.marked = options.marked;
    this.newest = found.newest;
    this.state = found.state;
    this.block = found.block;
    this.next = found.next;
    this.shortSessions = found.shortSessions;
    // Past every attempt the last session may have made (at most one per block) and left torn: I1.
    this.sequence = found.newest === undefined ? 1 : found.newest.header.sequence + 1 + status.blocks;
  }

  /** Reads the region and the OTP bits and finds the newest valid record and its tally. Total over garbage. */
  static mount(flash: NorFlash, options: JournalOptions): Journal {
    const status = _checkStatus(flash.status());
    expectBytes(options.key, 16, "key");
    const otp = options.otp;
    const key = sipKey(options.key);
    const marked = otp.size > 0 && otp.read(0);
    const count = anchorCount(otp);
    const anchorBits = Math.max(0, otp.size - 1);
    const { blocks, blockLength, writeAlignment } = status;
    const candidates: _Candidate[] = [];
    let anyContent = false;
    for (let block = 0; block < blocks; block++) {
      const bytes = new Uint8Array(flash.read(blockLength, block * blockLength));
      const end = _erasedFrom(bytes);
      anyContent ||= end > 0;
      // Every word offset is looked at, not only where the previous record ends: damage to one record (a torn
      // header, bit rot) then cannot hide the records after it.
      for (let offset = 0; offset < end; offset += writeAlignment) {
        if (bytes[offset] !== MAGIC) continue;
        const version = bytes[offset + 1];
        let length: number;
        let size: number;
        let sequence: number;
        if (version === FORMAT_VERSION) {
          if ((bytes[offset + 3] & 0x80) === 0) continue;
          length = bytes[offset + 2] | ((bytes[offset + 3] & 0x7f) << 8);
          size = packedBytes(length);
          if (offset + size > blockLength) continue;
          sequence = _getU32(_unpack(bytes.subarray(offset, offset + 12), 8), 4);
        } else {
          // v1, or an unknown version in v1's frame (a newer format: the device stays locked, rule 4).
          if (version === 1 && marked) continue; // a marked device has written v2; v1 is a forgery or an old image
          length = bytes[offset + 2] | (bytes[offset + 3] << 8);
          size = recordBytes(length, writeAlignment);
          sequence = _getU32(bytes, offset + 4);
        }
        if (length > MAX_PAYLOAD || offset + size > blockLength) continue;
        candidates.push({ block, offset, size, sequence, version });
      }
    }
    const base = { key, otp, count, marked };
    // Newest first; the first that checks is the newest valid record, so most boots check one.
    candidates.sort((a, b) => b.sequence - a.sequence);
    for (const candidate of candidates) {
      // Re-read and check in one buffer: weak bits may read differently each time, and the payload returned must be
      // the very bytes the CRC checked.
      const at = candidate.block * blockLength + candidate.offset;
      const record = new Uint8Array(flash.read(candidate.size, at));
      let newest: _Newest;
      if (candidate.version === FORMAT_VERSION) {
        const decoded = decodeRecordV2(record, key);
        if (decoded === undefined) continue;
        const anchor = decoded.header.anchor;
        // I7: an older step's record is an older image; more than one step ahead was never written by a device.
        if (anchorBits === 0 ? anchor !== 0 : anchor !== count && !(anchor === count + 1 && anchor <= anchorBits))
          continue;
        newest = { version: 2, payload: decoded.payload, header: decoded.header, used: 0 };
      } else {
        if (!_isRecordV1(record, writeAlignment)) continue;
        // A valid record of a format this firmware does not know is newer than anything it could write (a
        // downgrade): serving an older record would replay codes, so the device stays locked.
        if (record[1] !== 1) break;
        const length = record[2] | (record[3] << 8);
        const header = { sequence: _getU32(record, 4), carry: 0, anchor: count, codes: 0, spent: 0 };
        newest = { version: 1, payload: record.slice(HEADER_BYTES, HEADER_BYTES + length), header, used: 0 };
      }
      const end = candidate.offset + candidate.size;
      const tally = _readTally(flash, candidate.block * blockLength + end, blockLength - end);
      if (newest.version === 2) newest = { ...newest, used: tally.used };
      const state: Mounted = {
        kind: "record",
        payload: newest.payload.slice(),
        sequence: newest.header.sequence,
        minutes: newest.header.carry + newest.used,
      };
      const next = end + tally.skipTo;
      const shortSessions = newest.version === 2 ? tally.shortSessions : 0;
      return new Journal(flash, status, base, { newest, state, block: candidate.block, next, shortSessions });
    }
    // No valid record: erased is a factory-fresh device only while the mark is not set (never fresh twice).
    const state: Mounted = anyContent || marked ? { kind: "corrupt" } : { kind: "fresh" };
    return new Journal(flash, status, base, { newest: undefined, state, block: -1, next: 0, shortSessions: 0 });
  }

  /**
   * Erases the whole region and writes `payload` as record 1 at anchor step `anchor` (the device's OTP count: 0 at
   * the factory, read off the chip for a recovery), then mounts. Power must not fail during it (a cut leaves
   * "fresh" or "corrupt": run it again).
   */
  static format(flash: NorFlash, payload: Uint8Array, options: JournalOptions, anchor = 0): Journal {
    const status = _checkStatus(flash.status());
    expectBytes(options.key, 16, "key");
    expectInt(anchor, 0, 0xffff, "anchor");
    for (let block = 0; block < status.blocks; block++) flash.eraseBlock(block);
    const header = { sequence: 1, carry: 0, anchor, codes: 0, spent: 0 };
    const image = encodeRecordV2(_checkPayload(payload), header, sipKey(options.key));
    if (image.length > status.blockLength)
      throw new RangeError(`"payload" expected a record of at most ${status.blockLength} bytes, got ${image.length}`);
    flash.write(image, 0);
    return Journal.mount(flash, options);
  }

  /** What the last mount found, or the state after the last append or tick since. */
  get mounted(): Mounted {
    return this.state;
  }

  /** Whether the newest record is v2 and the OTP mark is set (or the chip has no OTP): SPEC.md, "Migration". */
  get migrated(): boolean {
    return this.newest?.version === 2 && (this.marked || this.otp.size === 0);
  }

  /** Sets the OTP mark once the newest record is v2 (SPEC.md, "Migration"). Throws JournalError before that. */
  setMark(): void {
    if (this.newest?.version !== 2)
      throw new JournalError("the mark needs a v2 record first: append the state, then set the mark");
    if (this.otp.size === 0 || this.marked) return;
    this.otp.set(0);
    this.marked = true;
  }

  /**
   * Migration (SPEC.md): unless done, writes `payload` (the mounted state) as a v2 record when the newest record is
   * not one already (a v1 record, or none on a device that never had a journal), then sets the OTP mark. A factory
   * v2 record thus costs the first boot one OTP bit and no flash write. A cut in between: the next boot finishes.
   */
  migrate(payload: Uint8Array): void {
    if (this.migrated) return;
    if (this.newest?.version !== 2) this.append(payload);
    this.setMark();
  }

  /**
   * Makes `payload` the newest state, no minutes charged (SPECIFICATION). Throws RangeError for a payload over
   * MAX_PAYLOAD, JournalError on a corrupt journal or worn-out flash (state unchanged either way).
   */
  append(payload: Uint8Array, spend: Spend = { codes: 0, minutes: 0 }): void {
    _checkPayload(payload);
    expectInt(spend.codes, 0, 0xffff, "spend.codes");
    expectInt(spend.minutes, 0, 0xffffff, "spend.minutes");
    const newest = this.expectWritable();
    this.write(payload.slice(), 0, (newest === undefined ? 0 : newest.used) + spend.minutes, spend.codes);
  }

  /**
   * Charges one minute: a tally word, or a rollover record when the block is full, a read-back fails or an anchor
   * step is due. The load may run that minute only after this returns. JournalError as for append.
   */
  tick(): void {
    const newest = this.expectWritable();
    if (newest === undefined) throw new JournalError("no record to charge a minute against: append a state first");
    const { blockLength } = this.status;
    if (newest.version === 2 && !this.stepDue(newest, newest.used + 1, 0) && this.next + 4 <= blockLength) {
      const at = this.block * blockLength + this.next;
      this.next += 4; // written or torn, this word is never written again (P4)
      this.flash.write(_TALLY_WORD, at);
      if (_getU32(new Uint8Array(this.flash.read(4, at)), 0) === 0) {
        this.newest = { ...newest, used: newest.used + 1 };
        this.state = {
          ...(this.state as Mounted & { kind: "record" }),
          minutes: newest.header.carry + newest.used + 1,
        };
        return;
      }
    }
    // Rollover: the same payload, this minute and the tally so far carried (SPEC.md, "Tally").
    this.write(newest.payload, newest.header.carry + newest.used + 1, newest.used + 1, 0);
  }

  private expectWritable(): _Newest | undefined {
    if (this.state.kind === "corrupt")
      throw new JournalError(
        "journal is corrupt (no valid record of this device's anchor step): state unchanged, the device stays " +
          "locked; an operator recovers it with Journal.format (ARCHITECTURE.md, Journal)",
      );
    return this.newest;
  }

  /** Whether charging `minutes` more and spending `codes` more completes the anchor's step (SPEC.md). */
  private stepDue(newest: _Newest, minutes: number, codes: number): boolean {
    const anchorBits = this.otp.size - 1;
    if (!this.marked || anchorBits < 1 || this.count >= anchorBits) return false;
    const step = anchorStep(anchorBits);
    const spent = newest.header.spent + minutes;
    const spentCodes = newest.header.codes + codes;
    return spent * step.codes + spentCodes * step.minutes >= step.minutes * step.codes;
  }

  /**
   * Writes a record of `payload` with `carry` minutes, where `minutes` more were charged since the newest record's
   * header and `codes` codes are spent by it; takes an anchor step when one is due (I7).
   */
  private write(payload: Uint8Array, carry: number, minutes: number, codes: number): void {
    const newest = this.newest;
    // A step whose record was written but whose bit did not read set: finish it before anything else (I7).
    if (newest !== undefined && newest.header.anchor === this.count + 1) {
      this.otp.set(newest.header.anchor);
      this.count = newest.header.anchor;
    }
    const step = newest !== undefined && this.stepDue(newest, minutes, codes);
    const spent = newest === undefined ? 0 : newest.header.spent + minutes;
    const spentCodes = newest === undefined ? codes : Math.min(0xffff, newest.header.codes + codes);
    const anchor = step ? this.count + 1 : this.count;
    const { blockLength, blocks } = this.status;
    const open = this.block;
    const newestBlock = newest === undefined ? -1 : open;
    // Block `open + step` for step 0, 1, ...: the open block takes the record at `next` if it fits; any other block
    // is erased first. The block holding the newest record is never erased (I2): after a failed read-back the
    // record moves on, and when every other block has failed the newest record is still where it was.
    for (let attempt = 0; attempt < blocks; attempt++) {
      const target = ((open < 0 ? 0 : open) + attempt) % blocks;
      const header = {
        sequence: this.sequence,
        carry,
        anchor,
        codes: step ? 0 : spentCodes,
        spent: step ? 0 : spent,
      };
      const image = encodeRecordV2(payload, header, this.key);
      if (image.length > blockLength)
        throw new RangeError(`"payload" expected a record of at most ${blockLength} bytes, got ${image.length}`);
      if (target !== this.block || this.next + image.length > blockLength) {
        if (target === newestBlock) continue;
        this.block = -1; // until the erase has finished (a cut leaves the object unusable anyway)
        this.flash.eraseBlock(target);
        this.block = target;
        this.next = 0;
      }
      if (this.sequence >= 0xffffffff) throw new JournalError("journal sequence exhausted: state unchanged; format");
      this.sequence++;
      const at = this.block * blockLength + this.next;
      this.next += image.length + 4; // written or torn, nothing goes here or in the word after it again (I3)
      this.flash.write(image, at);
      if (_equal(new Uint8Array(this.flash.read(image.length, at)), image)) {
        this.next -= 4; // read back whole: the next word is known erased and may follow at once
        this.newest = { version: 2, payload, header, used: 0 };
        this.state = { kind: "record", payload: payload.slice(), sequence: header.sequence, minutes: carry };
        if (step) {
          this.otp.set(anchor);
          this.count = anchor;
        }
        return;
      }
    }
    // Back to the block of the newest record; its `next` is past whatever a failed write left there.
    if (this.block !== open) {
      this.block = open;
      this.next = blockLength; // unknown: the next write moves on to another block
    }
    throw new JournalError(
      `record ${this.sequence - 1} did not read back in any block it may use: the flash is worn out; ` +
        "the previous state stays the newest, keep the device locked and replace the controller",
    );
  }
}

/** The programmed value of a tally word. */
const _TALLY_WORD = new Uint8Array(4);

/**
 * Reads the tally after the newest record (`length` bytes from `at`): minutes charged (words reading 0x00000000),
 * where the next write may go (two words past the last word not reading erased: the word between may hold a cut
 * write, P4), and the trailing one-minute sessions.
 */
function _readTally(
  flash: NorFlash,
  at: number,
  length: number,
): { used: number; skipTo: number; shortSessions: number } {
  const words = new Uint8Array(flash.read(length, at));
  let used = 0;
  let last = -4; // byte offset of the last word not reading erased (none: the skip starts at the record's end)
  let run = 0;
  const runs: number[] = [];
  for (let w = 0; w + 4 <= words.length; w += 4) {
    const value = _getU32(words, w);
    if (value === 0) {
      used++;
      run++;
    } else if (run > 0) {
      runs.push(run);
      run = 0;
    }
    if (value !== 0xffffffff) last = w;
  }
  if (run > 0) runs.push(run);
  let shortSessions = 0;
  for (let i = runs.length - 1; i >= 0 && runs[i] === 1; i--) shortSessions++;
  return { used, skipTo: Math.min(length, last + 8), shortSessions };
}

/** Logical bytes into words of 31 bits with the top bit 1 (SPEC.md, "Packing"). */
function _pack(logical: Uint8Array): Uint8Array {
  const bits = logical.length * 8;
  const out = new Uint8Array(4 * Math.ceil(bits / 31)).fill(0xff);
  for (let i = 0; i < bits; i++) {
    if ((logical[i >> 3] >> (i & 7)) & 1) continue;
    const b = i % 31;
    out[4 * ((i - b) / 31) + (b >> 3)] &= ~(1 << (b & 7));
  }
  return out;
}

/** The first `count` logical bytes of packed words. */
function _unpack(packed: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count * 8; i++) {
    const b = i % 31;
    if ((packed[4 * ((i - b) / 31) + (b >> 3)] >> (b & 7)) & 1) out[i >> 3] |= 1 << (i & 7);
  }
  return out;
}

/** Whether `record` (read from flash, `recordBytes` of its own length) is a whole v1-framed record whose CRC checks. */
function _isRecordV1(record: Uint8Array, writeAlignment: number): boolean {
  if (record.length < HEADER_BYTES + CRC_BYTES || record[0] !== MAGIC) return false;
  const length = record[2] | (record[3] << 8);
  if (length > MAX_PAYLOAD || recordBytes(length, writeAlignment) !== record.length) return false;
  return crc32(record, record.length - CRC_BYTES) === _getU32(record, record.length - CRC_BYTES);
}

function _checkPayload(payload: Uint8Array): Uint8Array {
  expectBytes(payload, -1, "payload");
  expectInt(payload.length, 0, MAX_PAYLOAD, "payload.length");
  return payload;
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
  if (writeAlignment !== 4)
    throw new RangeError(`"status.writeAlignment" expected 4 (v2 packs 32-bit words), got ${writeAlignment}`);
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

function _putU16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
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
