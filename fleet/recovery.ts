// Recovering a device whose journal mounts corrupt (ARCHITECTURE.md, Journal, "Recovering a corrupt device", steps
// 2-4): from the fleet database, a new first record that moves the protocol's replay state past every code ever
// issued to the device, holds the credit the operator says is owed and a fresh attempt limiter; its journal image;
// and a row in `recoveries`, all in one transaction.
import { encodeDevice } from "../firmware/ledger/codec";
import { initialLimiter } from "../firmware/ledger/limiter";
import type { DeviceState, Payg } from "../firmware/ledger/state";
import { FRAMES } from "../firmware/io/framing";
import { deviceProtocol } from "../firmware/provision/protocol";
import { markThrough, type NexusState } from "../firmware/protocols/nexus/window";
import { afterApplying, type OpenPaygoState } from "../firmware/protocols/openpaygo/replay";
import type { KeycodeProtocol } from "../firmware/protocols/protocol";
import type { ProvisionRecord } from "../firmware/provision/record";
import { deviceSteps, type FleetDevice, type SealedFleet } from "./devices";
import type { Steps } from "./sql";
import { journalImage } from "./journal";

/** What the device is owed from now on, by the operator's account: powered seconds of credit, or unlocked. */
export type Owed = { readonly kind: "credit"; readonly seconds: number } | { readonly kind: "unlocked" };

export interface RecoveryRequest {
  /** Serial or device id. */
  readonly device: string;
  readonly owed: Owed;
  /** Free text for the failure report (ticket number, what the customer said). */
  readonly note?: string;
  /**
   * The device's OTP anchor count, read off the chip (docs/SPEC.md, "Anchor and mark"; 0 on a device that never
   * took a step): the recovery record must carry it, or the device mounts it as an older image and stays locked.
   */
  readonly anchor?: number;
}

export interface Recovery {
  readonly recoveryId: number;
  readonly serial: string;
  readonly deviceId: number;
  readonly record: ProvisionRecord;
  /** The highest Nexus message ID / OpenPAYGO count ever issued: every code up to it is void on the device. */
  readonly issuedSeq: number;
  /** The highest known to be entered before the recovery (the ledger's window now counts from `issuedSeq`). */
  readonly enteredSeqBefore: number;
  readonly owed: Owed;
  /** Codes issued above the highest one known entered (void on the device now), and the credit they carried. */
  readonly outstanding: { readonly codes: number; readonly seconds: number };
  /** When this device was recovered before, or null: a second corruption without an operator means failing flash. */
  readonly previousRecovery: string | null;
  /** The whole journal region to write: record 1 holding the recovery state, the rest erased. */
  readonly journal: Uint8Array;
}

/**
 * Nexus lifetime test counts (QC, allow-test and short-test) after a recovery: spent. The device's own counts are
 * lost with its journal, and test codes are the same for every device, so counts of zero would hand a recovered
 * unit free test power again.
 */
const QC_SPENT = 0xff;

/**
 * The device state a recovery writes: the protocol's replay state moved past `issuedSeq` by the protocol's own
 * transitions (Nexus: `markThrough`, the window at `issuedSeq` with every ID up to it used, as after a set-credit
 * code; OpenPAYGO: `afterApplying` a set-time count `issuedSeq`, every older count used), `owed` as the credit,
 * and the limiter of a factory-fresh device.
 */
export function recoveryState<S>(protocol: KeycodeProtocol<S>, issuedSeq: number, owed: Owed): DeviceState<S> {
  const fresh = protocol.initialState();
  let replay: unknown;
  if (protocol.name === "openpaygo") {
    replay = afterApplying(fresh as OpenPaygoState, issuedSeq, "set_time");
  } else {
    const window = markThrough(fresh as NexusState, issuedSeq);
    // Every lifetime flag spent too: the small keypad's three wipe codes (IDs, credit and IDs, credit) are one
    // constant code each per device, so an unspent flag would let a wipe typed before apply again after the
    // recovery (issue 12 #5; test/recover.test.ts types each on the recovered simulated device).
    replay = {
      ...window,
      qcShort: QC_SPENT,
      qcLong: QC_SPENT,
      shortTests: QC_SPENT,
      smallWipeIds: true,
      smallWipeCreditAndIds: true,
      smallWipeCredit: true,
    } satisfies NexusState;
  }
  // Back through the protocol's own words: a state this firmware could not read would leave the device locked.
  const words = protocol.toWords(replay as S);
  const checked = protocol.fromWords(words);
  if (checked === undefined) throw new Error(`recovery state at ${issuedSeq} is not a ${protocol.name} state: a bug`);
  const payg: Payg =
    owed.kind === "unlocked" ? { kind: "unlocked" } : { kind: "metered", creditSeconds: owed.seconds, testSeconds: 0 };
  return { payg, protocol: checked, limiter: initialLimiter(protocol.name) };
}

/** The digits a keypad hands the ledger for a printed keycode: no spaces, no start or end key. */
export function entryDigits(record: ProvisionRecord, keycode: string): string {
  const spec = FRAMES[deviceProtocol(record).frame];
  let digits = keycode.replace(/\s/g, "");
  if (spec.start !== undefined && digits.startsWith(spec.start)) digits = digits.slice(spec.start.length);
  if (spec.end !== undefined && digits.endsWith(spec.end)) digits = digits.slice(0, -spec.end.length);
  return digits;
}

/** A code the ledger gave the device, as a recovery reads it. */
interface RecoveryCode {
  /** null for codes that spend no ID (tests, small wipes). */
  seq: number | null;
  keycode: string;
  seconds: number | null;
}

/**
 * A device's recovery from what the fleet knows (its codes, its last recovery), checked to refuse every code the
 * ledger ever gave it, those without an ID (tests, small wipes) included; and the arguments of its row in recoveries. Pure: each engine reads and
 * records it in one transaction.
 */
function planRecovery(
  device: FleetDevice,
  codes: readonly RecoveryCode[],
  previous: string | null,
  request: RecoveryRequest,
): { recovery: Omit<Recovery, "recoveryId">; row: unknown[] } {
  const { record, issuedSeq } = device;
  const protocol = deviceProtocol(record).protocol;
  const state = recoveryState(protocol, issuedSeq, request.owed);
  for (const code of codes) {
    const verdict = protocol.verify(state.protocol, entryDigits(record, code.keycode));
    if (verdict.kind === "applied")
      throw new Error(`recovery state of ${device.serial} would apply ${code.keycode} again: a solkey bug`);
  }
  const journal = journalImage(record.board, protocol, state, record.key, request.anchor ?? 0);
  const unentered = codes.filter((c) => c.seq !== null && c.seq > device.enteredSeq);
  const row = [
    device.deviceId,
    new Date().toISOString(),
    issuedSeq,
    device.enteredSeq,
    request.owed.kind === "unlocked" ? 1 : 0,
    request.owed.kind === "unlocked" ? 0 : request.owed.seconds,
    encodeDevice(protocol, state),
    request.note ?? null,
  ];
  const recovery = {
    serial: device.serial,
    deviceId: device.deviceId,
    record,
    issuedSeq,
    enteredSeqBefore: device.enteredSeq,
    owed: request.owed,
    outstanding: { codes: unentered.length, seconds: unentered.reduce((sum, c) => sum + (c.seconds ?? 0), 0) },
    previousRecovery: previous,
    journal,
  };
  return { recovery, row };
}

/**
 * Builds and records a recovery inside the caller's transaction, on the device's locked row; `each` runs inside it
 * (stage the image file): if it or anything else throws, nothing is recorded. Before anything is recorded, the
 * recovery state is checked to refuse every code the ledger ever issued, and its image to mount as exactly that
 * state. Then the device holds every ID/count up to issuedSeq as used: the acceptance window counts from there.
 */
export function* recoverySteps(
  fleet: SealedFleet,
  request: RecoveryRequest,
  each: (recovery: Recovery) => void,
): Steps<Recovery> {
  const device = yield* deviceSteps(fleet, request.device, true);
  const codes = (yield {
    sql: "SELECT seq, keycode, seconds FROM codes WHERE device_id = ?",
    args: [device.deviceId],
  }) as RecoveryCode[];
  const [previous] = (yield {
    sql: "SELECT recovered_at FROM recoveries WHERE device_id = ? ORDER BY recovery_id DESC LIMIT 1",
    args: [device.deviceId],
  }) as { recovered_at: string }[];
  const planned = planRecovery(device, codes, previous?.recovered_at ?? null, request);
  const [row] = (yield {
    sql: `INSERT INTO recoveries (device_id, recovered_at, issued_seq, entered_seq_before, unlocked, credit_seconds,
          record, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING recovery_id`,
    args: planned.row,
  }) as { recovery_id: number }[];
  yield { sql: "UPDATE devices SET entered_seq = issued_seq WHERE device_id = ?", args: [device.deviceId] };
  const recovery: Recovery = { recoveryId: row.recovery_id, ...planned.recovery };
  each(recovery);
  return recovery;
}
