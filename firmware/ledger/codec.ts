// Binary encoding of the whole DeviceState: the payload of one journal record (issue 5), format version 1.
//
// Little-endian throughout. A record is a version byte, then fields: u8 tag, u16 length, `length` value bytes.
// Fields may come in any order, each at most once. Adding a field is routine: give it a new tag and a default for
// records that lack it (older firmware wrote them), so newer firmware reads older records. Tags 0x80 and up are
// optional: a reader that does not know one skips it. An unknown tag below 0x80 is a field this firmware must not
// ignore, so the record is unreadable. The version byte changes only if an existing field changes meaning.
//
// Version 1 layout, as encodeDevice writes it (offsets pinned by test/ledger-codec.test.ts):
//
//   off  size  field
//   0    1     version = 1
//   1    3     tag 0x01 PAYG, length 9
//   4    1       kind: 0 metered, 1 unlocked
//   5    4       creditSeconds (u32; 0 when unlocked)
//   9    4       testSeconds (u32; 0 when unlocked)
//   13   3     tag 0x02 LIMITER, length 9
//   16   1       kind: 0 bucket (Nexus), 1 lockout (OpenPAYGO)
//   17   4       bucket: bucketMs; lockout: lockoutMs
//   21   4       bucket: 0 (its failures are in LOCKOUT); lockout: failures
//   25   3     tag 0x03 PROTOCOL, length 4n
//   28   4n      the protocol's replay state, protocol.toWords(), n u32 words
//   28+4n 3    tag 0x04 LOCKOUT, length 8: Nexus only, and only while failures > 0 (absent: no failures, no lockout,
//              which is also how a record from before Nexus had a lockout reads)
//   31+4n 4      lockoutMs
//   35+4n 4      failures
//   ...   3    tag 0x80 DECAY, length 4 (optional tag): quiet uptime towards forgiving the next failure, only while
//              it is > 0 (absent: 0, as in every record before failures decayed; a reader that skips it only gets
//              stricter)
//   ...   4      decayMs
import { expectInt } from "../assert";
import type { KeycodeProtocol } from "../protocols/protocol";
import type { Mounted } from "../storage/journal";
import { initialLimiter, isLimiterState, type LimiterState, type Lockout } from "./limiter";
import { chargeMinutes, freshState, MAX_SECONDS, type DeviceState, type Payg } from "./state";

/** The format version encodeDevice writes. */
export const RECORD_VERSION = 1;

/** Field tags. Below 0x80 a reader must know the field; from 0x80 an unknown field is skipped. */
export const TAG = Object.freeze({ payg: 0x01, limiter: 0x02, protocol: 0x03, lockout: 0x04, decay: 0x80 } as const);

const _OPTIONAL_TAGS = 0x80;
const _HEADER = 3;
const _LOCKOUT_LENGTH = 8;

/** The record bytes for `device`. Throws RangeError if a value does not fit its field (a firmware bug). */
export function encodeDevice<S>(protocol: KeycodeProtocol<S>, device: DeviceState<S>): Uint8Array {
  const words = protocol.toWords(device.protocol);
  const limiter = device.limiter;
  // A lockout field only when it holds something: a Nexus record without failures keeps its older, shorter form.
  const lockout = limiter.kind === "bucket" && limiter.failures > 0;
  const decay = limiter.decayMs > 0;
  const optional = (lockout ? _HEADER + _LOCKOUT_LENGTH : 0) + (decay ? _HEADER + 4 : 0);
  const out = new Uint8Array(1 + _HEADER + 9 + _HEADER + 9 + _HEADER + 4 * words.length + optional);
  const view = new DataView(out.buffer);
  out[0] = RECORD_VERSION;
  let at = _field(view, 1, TAG.payg, 9);
  const payg = device.payg;
  out[at] = payg.kind === "unlocked" ? 1 : 0;
  if (payg.kind === "metered") {
    view.setUint32(at + 1, _u32(payg.creditSeconds, MAX_SECONDS, "creditSeconds"), true);
    view.setUint32(at + 5, _u32(payg.testSeconds, MAX_SECONDS, "testSeconds"), true);
  }
  at = _field(view, at + 9, TAG.limiter, 9);
  if (!isLimiterState(limiter)) throw new RangeError(`"limiter" expected a reachable state, got ${limiter.kind}`);
  out[at] = limiter.kind === "bucket" ? 0 : 1;
  view.setUint32(at + 1, limiter.kind === "bucket" ? limiter.bucketMs : limiter.lockoutMs, true);
  view.setUint32(at + 5, limiter.kind === "bucket" ? 0 : limiter.failures, true);
  at = _field(view, at + 9, TAG.protocol, 4 * words.length);
  for (let i = 0; i < words.length; i++) view.setUint32(at + 4 * i, _u32(words[i], 0xffff_ffff, "word"), true);
  if (lockout) {
    at = _field(view, at + 4 * words.length, TAG.lockout, _LOCKOUT_LENGTH);
    view.setUint32(at, limiter.lockoutMs, true);
    view.setUint32(at + 4, limiter.failures, true);
    at += _LOCKOUT_LENGTH;
  } else {
    at += 4 * words.length;
  }
  if (decay) view.setUint32(_field(view, at, TAG.decay, 4), limiter.decayMs, true);
  return out;
}

/**
 * The state a mounted journal gives the device at boot: a fresh journal is a factory-fresh device, a record its
 * state less the minutes charged since it was written (its tally and carry); undefined (the device stays locked)
 * for content without a state this firmware can read, which may have seen codes and so must never start afresh.
 */
export function mountedDevice<S>(protocol: KeycodeProtocol<S>, mounted: Mounted): DeviceState<S> | undefined {
  if (mounted.kind === "fresh") return freshState(protocol);
  if (mounted.kind !== "record") return undefined;
  const device = decodeDevice(protocol, mounted.payload);
  if (device === undefined || mounted.minutes === 0) return device;
  return { ...device, payg: chargeMinutes(device.payg, mounted.minutes) };
}

/** The state a record holds, or undefined for anything this firmware cannot read. Never throws. */
export function decodeDevice<S>(protocol: KeycodeProtocol<S>, record: unknown): DeviceState<S> | undefined {
  if (!(record instanceof Uint8Array) || record.length < 1 || record[0] !== RECORD_VERSION) return undefined;
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  let payg: Payg | undefined;
  let limiter: LimiterState | undefined;
  let words: number[] | undefined;
  let lockout: Omit<Lockout, "decayMs"> | undefined;
  let decayMs: number | undefined;
  for (let at = 1; at < record.length;) {
    if (at + _HEADER > record.length) return undefined;
    const tag = record[at];
    const length = view.getUint16(at + 1, true);
    const value = at + _HEADER;
    at = value + length;
    if (at > record.length) return undefined;
    if (tag === TAG.payg) {
      if (payg !== undefined || length !== 9) return undefined;
      payg = _payg(record[value], view.getUint32(value + 1, true), view.getUint32(value + 5, true));
      if (payg === undefined) return undefined;
    } else if (tag === TAG.limiter) {
      if (limiter !== undefined || length !== 9) return undefined;
      limiter = _limiter(record[value], view.getUint32(value + 1, true), view.getUint32(value + 5, true));
      if (limiter === undefined) return undefined;
    } else if (tag === TAG.protocol) {
      if (words !== undefined || length % 4 !== 0) return undefined;
      words = [];
      for (let i = value; i < at; i += 4) words.push(view.getUint32(i, true));
    } else if (tag === TAG.lockout) {
      if (lockout !== undefined || length !== _LOCKOUT_LENGTH) return undefined;
      lockout = { lockoutMs: view.getUint32(value, true), failures: view.getUint32(value + 4, true) };
      // Written only while failures are counted, so one without any is not a record this firmware wrote.
      if (lockout.failures === 0) return undefined;
    } else if (tag === TAG.decay) {
      // Written only while > 0 (isLimiterState checks the rest below).
      if (decayMs !== undefined || length !== 4) return undefined;
      decayMs = view.getUint32(value, true);
      if (decayMs === 0) return undefined;
    } else if (tag < _OPTIONAL_TAGS) {
      return undefined;
    }
  }
  if (payg === undefined || limiter === undefined || words === undefined) return undefined;
  // A record from another protocol's device (a reflashed unit) is not this device's state.
  if (limiter.kind !== initialLimiter(protocol.name).kind) return undefined;
  if (lockout !== undefined) {
    // Only a Nexus bucket keeps its lockout in a field of its own (OpenPAYGO's is the LIMITER field).
    if (limiter.kind !== "bucket") return undefined;
    limiter = { ...limiter, ...lockout };
    if (!isLimiterState(limiter)) return undefined;
  }
  if (decayMs !== undefined) {
    limiter = { ...limiter, decayMs };
    if (!isLimiterState(limiter)) return undefined;
  }
  const replay = protocol.fromWords(words);
  if (replay === undefined) return undefined;
  return { payg, protocol: replay, limiter };
}

function _field(view: DataView, at: number, tag: number, length: number): number {
  view.setUint8(at, tag);
  view.setUint16(at + 1, length, true);
  return at + _HEADER;
}

function _payg(kind: number, creditSeconds: number, testSeconds: number): Payg | undefined {
  if (kind === 0) return { kind: "metered", creditSeconds, testSeconds };
  if (kind === 1 && creditSeconds === 0 && testSeconds === 0) return { kind: "unlocked" };
  return undefined;
}

function _limiter(kind: number, a: number, b: number): LimiterState | undefined {
  let limiter: LimiterState;
  if (kind === 0 && b === 0) limiter = { kind: "bucket", bucketMs: a, failures: 0, lockoutMs: 0, decayMs: 0 };
  else if (kind === 1) limiter = { kind: "lockout", failures: b, lockoutMs: a, decayMs: 0 };
  else return undefined;
  return isLimiterState(limiter) ? limiter : undefined;
}

function _u32(value: number, max: number, name: string): number {
  expectInt(value, 0, max, name);
  return value;
}
