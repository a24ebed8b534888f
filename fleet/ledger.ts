// The issuing ledger: every code issued to a device, in the fleet database, SQLite or PostgreSQL alike: its rules are
// written once as Steps (fleet/sql.ts) that either engine runs inside one transaction. An issue locks the device,
// reads its last ID/count, encodes the next code and records it, so no ID or count is ever issued twice. A payment
// reference yields its code once: asking again returns the same code. The ledger also knows what is known to have
// been entered, and refuses (unless told) a code the device's acceptance window would refuse.
import { WINDOW_BELOW, type NexusState } from "../firmware/protocols/nexus/window";
import type { TokenIssuer } from "../firmware/protocols/openpaygo/encoder";
import type { KeycodeProtocol } from "../firmware/protocols/protocol";
import { deviceProtocol } from "../firmware/provision/protocol";
import { SolkeyError, UsageError } from "./errors";
import { encodeCode, secretsOf, tokenIssuer, windowAbove, type CodeRequest, type Encoded } from "./codes";
import type { Db, OpenOptions } from "./database";
import {
  deviceSteps,
  eachDeviceSteps,
  fleetSaltSteps,
  provisionSteps,
  sqliteFleet,
  type BatchRequest,
  type FleetDevice,
  type KdfSalt,
  type ProvisionedDevice,
  type SealedFleet,
} from "./devices";
import { definePackageSteps, packagesSteps, type Packages } from "./amounts";
import { isUniqueViolation, openRunner, sqliteRunner, type StepRunner, type Steps } from "./sql";
import type { ProvisionRecord } from "../firmware/provision/record";
import { entryDigits, recoverySteps, type Recovery, type RecoveryRequest } from "./recovery";

export interface IssueRequest {
  /** Serial or device id. */
  readonly device: string;
  readonly code: CodeRequest;
  /**
   * The payment's reference; the same reference always yields the same code. Compared exactly: a receipt a person
   * typed is normalised by the caller first (fleet/references.ts), a provider's transaction id is not (the hub keys
   * payments on the id as sent; ids differing only in case are two payments).
   */
  readonly paymentRef?: string;
  /** Issue even past the acceptance window (the operator has read the warning). */
  readonly pastWindow?: boolean;
}

export interface IssuedCode {
  readonly serial: string;
  readonly deviceId: number;
  readonly protocol: string;
  readonly kind: string;
  /** The Nexus message ID or OpenPAYGO count this code spends; null for codes without one (tests). */
  readonly seq: number | null;
  readonly keycode: string;
  readonly units: number | null;
  readonly seconds: number | null;
  readonly paymentRef: string | null;
  /** True when this payment reference had already been issued: the code is the one issued then. */
  readonly replayed: boolean;
  /** Set when the code was issued past the acceptance window. */
  readonly warning: string | null;
}

export interface CodeRecord {
  readonly seq: number | null;
  readonly kind: string;
  readonly units: number | null;
  readonly seconds: number | null;
  readonly keycode: string;
  readonly paymentRef: string | null;
  readonly issuedAt: string;
  readonly enteredAt: string | null;
}

/** A row of the codes table as SQLite returns it. */
export interface CodeRow {
  device_id: number;
  seq: number | null;
  kind: string;
  request: string;
  units: number | null;
  seconds: number | null;
  keycode: string;
  payment_ref: string | null;
  issued_at: string;
  entered_at: string | null;
}

/** A code of the fleet with its device's serial (explain). */
export type SerialCodeRow = CodeRow & { serial: string };

/**
 * The ledger on a fleet database, SQLite file or postgres:// URL alike: what the operator's commands ask of it, each
 * one transaction of the Steps below run by the engine's StepRunner (fleet/sql.ts, the one place engines differ).
 */
export class Ledger {
  constructor(
    private readonly runner: StepRunner,
    private readonly fleet: SealedFleet,
  ) {}

  /** The fleet `db` names: an SQLite file (created when `options.create`) or a migrated postgres:// database. */
  static async open(db: string, options: OpenOptions = {}): Promise<Ledger> {
    const { runner, key } = await openRunner(db, options);
    return new Ledger(runner, { key, where: runner.where });
  }

  /** The ledger on an open SQLite fleet (`close` closes it). */
  static sqlite(db: Db, file: string): Ledger {
    return new Ledger(sqliteRunner(db, file), sqliteFleet(db, file));
  }

  /** Issues one code in its own transaction. */
  async issue(request: IssueRequest): Promise<IssuedCode> {
    return (await this.runner.transaction(issueSteps(this.fleet, request, _now()))).issued;
  }

  /** Issues every request in one transaction: all are recorded, or none (the first failure names its line). */
  issueMany(requests: readonly IssueRequest[]): Promise<IssuedCode[]> {
    const { fleet } = this;
    return this.runner.transaction(
      (function* () {
        const issued: IssuedCode[] = [];
        for (const [i, request] of requests.entries()) {
          try {
            issued.push((yield* issueSteps(fleet, request, _now())).issued);
          } catch (e) {
            throw _numbered(e, `request ${i + 1} (${request.device})`);
          }
        }
        return issued;
      })(),
    );
  }

  /**
   * Records that the device applied the code with this keycode (or ID/count): the acceptance window then counts
   * from it. Returns the device's new highest known-applied ID/count.
   */
  markEntered(device: string, keycodeOrSeq: string): Promise<{ serial: string; seq: number; enteredSeq: number }> {
    return this.runner.transaction(enteredSteps(this.fleet, device, keycodeOrSeq));
  }

  /** Every code issued to a device, oldest first. */
  history(device: string): Promise<{ device: FleetDevice; codes: CodeRecord[] }> {
    const { fleet } = this;
    return this.runner.read(
      (function* () {
        const d = yield* deviceSteps(fleet, device);
        const rows = (yield {
          sql: "SELECT * FROM codes WHERE device_id = ? ORDER BY code_id",
          args: [d.deviceId],
        }) as CodeRow[];
        return { device: d, codes: rows.map(codeRecord) };
      })(),
    );
  }

  /** The device, and every code of the fleet whose digits are `digits` (explain). */
  codesLike(device: string, digits: string): Promise<{ device: FleetDevice; rows: SerialCodeRow[] }> {
    const { fleet } = this;
    return this.runner.read(
      (function* () {
        const d = yield* deviceSteps(fleet, device);
        // Spaces, *, # and - only group a keycode's digits (replace() is the same function on both engines).
        const rows = (yield {
          sql: `SELECT codes.*, devices.serial FROM codes JOIN devices USING (device_id)
                WHERE replace(replace(replace(replace(keycode, ' ', ''), '*', ''), '#', ''), '-', '') = ?
                ORDER BY code_id`,
          args: [digits],
        }) as SerialCodeRow[];
        return { device: d, rows };
      })(),
    );
  }

  /** The device (a wrong serial refused before anything is written). */
  device(serialOrId: string): Promise<FleetDevice> {
    return this.runner.read(deviceSteps(this.fleet, serialOrId));
  }

  /** recoverySteps (fleet/recovery.ts) on the locked device row: `each` runs inside the transaction. */
  recover(request: RecoveryRequest, each: (recovery: Recovery) => void = () => {}): Promise<Recovery> {
    return this.runner.transaction(recoverySteps(this.fleet, request, each));
  }

  /**
   * A batch of devices (fleet/devices.ts provisionSteps) in one transaction, its images sealed under the fleet's key,
   * and the fleet's key-derivation salt; provisioners take turns (PostgreSQL: an advisory lock), hubs are not held up.
   */
  provision(
    request: BatchRequest,
    each: (device: ProvisionedDevice, index: number) => void = () => {},
  ): Promise<{ devices: ProvisionedDevice[]; salt: KdfSalt }> {
    const { fleet } = this;
    return this.runner.transaction(
      (function* () {
        const seal = (id: number, image: Uint8Array) => fleet.key.seal(id, image);
        const { devices } = yield* provisionSteps(fleet.where, request, seal, each);
        return { devices, salt: yield* fleetSaltSteps() };
      })(),
    );
  }

  /** Hands every device to `each` in id order (the CSV export); how many there were. */
  eachDevice(each: (device: FleetDevice) => void): Promise<number> {
    return this.runner.read(eachDeviceSteps(this.fleet, each));
  }

  /** The fleet's named packages (amounts, fleet/amounts.ts). */
  packages(): Promise<Packages> {
    return this.runner.read(packagesSteps());
  }

  /** `NAME=7d` or `NAME=12h`: adds or replaces a package. */
  definePackage(text: string): Promise<{ name: string; seconds: number }> {
    return this.runner.transaction(definePackageSteps(text));
  }

  close(): Promise<void> {
    return this.runner.close();
  }
}

function _now(): string {
  return new Date().toISOString();
}

/** An error of one request of many, saying which. */
function _numbered(e: unknown, which: string): unknown {
  if (e instanceof UsageError) return new UsageError(`${which}: ${e.message}`);
  if (e instanceof SolkeyError) return new SolkeyError(`${which}: ${e.message}`);
  return e;
}

function* enteredSteps(
  fleet: SealedFleet,
  device: string,
  keycodeOrSeq: string,
): Steps<{ serial: string; seq: number; enteredSeq: number }> {
  const d = yield* deviceSteps(fleet, device, true);
  const digits = keycodeOrSeq.replace(/[\s*#-]/g, "");
  const rows = (yield {
    sql: "SELECT * FROM codes WHERE device_id = ? AND seq IS NOT NULL",
    args: [d.deviceId],
  }) as CodeRow[];
  const row =
    rows.find((r) => r.keycode.replace(/[\s*#-]/g, "") === digits) ?? rows.find((r) => String(r.seq) === digits);
  if (row === undefined || row.seq === null)
    throw new UsageError(
      `no code ${keycodeOrSeq} was issued to ${d.serial}; see \`solkey issue ${d.serial} --history\``,
    );
  yield {
    sql: "UPDATE codes SET entered_at = coalesce(entered_at, ?) WHERE device_id = ? AND seq = ?",
    args: [_now(), d.deviceId, row.seq],
  };
  const enteredSeq = Math.max(d.enteredSeq, row.seq);
  yield { sql: "UPDATE devices SET entered_seq = ? WHERE device_id = ?", args: [enteredSeq, d.deviceId] };
  return { serial: d.serial, seq: row.seq, enteredSeq };
}

/** A code the ledger issued (or replayed), with its row's id (the payment or SMS that carries it points at it). */
export interface IssuedRow {
  readonly issued: IssuedCode;
  readonly codeId: number;
}

/**
 * Issues one code inside the caller's transaction, on either engine: the device's row locked (PostgreSQL: FOR
 * UPDATE, so one issuer per device fleet-wide), then codeSteps.
 */
export function* issueSteps(fleet: SealedFleet, request: IssueRequest, now: string): Steps<IssuedRow> {
  const device = yield* deviceSteps(fleet, request.device, true);
  return yield* codeSteps(device, request, now);
}

/**
 * The ledger's rules for a device the caller read and locked in this transaction: a payment reference yields its
 * code once (asked again, the same code; asked for another, refused), no ID wipes, the next ID/count skipping one an
 * earlier code would also apply at, the acceptance window (refused past it unless `pastWindow`), the code's row and
 * the device's issued ID/count.
 */
export function* codeSteps(device: FleetDevice, request: Omit<IssueRequest, "device">, now: string): Steps<IssuedRow> {
  const full = { ...request, device: device.serial };
  if (request.paymentRef !== undefined) {
    const [previous] = (yield {
      sql: "SELECT * FROM codes WHERE payment_ref = ?",
      args: [request.paymentRef],
    }) as (CodeRow & { code_id: number })[];
    if (previous !== undefined) return { issued: replayOf(device, full, previous), codeId: previous.code_id };
  }
  const { code } = request;
  refuseIdWipe(code);
  // The window check takes the ID the encoder chose: it skips one it refuses (codes.ts, `_usableId`), and one at
  // which an earlier code of the device would also apply (`shadowedBy`).
  const secrets = secretsOf(device.record);
  const issuer = issuerOf(device.record);
  let encoded = encodeCode(secrets, code, device.issuedSeq, issuer);
  while (encoded.seq !== null && (yield* _shadowed(device, encoded.seq)))
    encoded = encodeCode(secrets, code, encoded.seq, issuer);
  const warning = windowWarning(device, full, encoded.seq);
  let row: { code_id: number };
  try {
    [row] = (yield { sql: INSERT_CODE_RETURNING, args: codeRow(device, request, encoded, now) }) as {
      code_id: number;
    }[];
  } catch (e) {
    // Only another device's transaction (this device's row is locked) can have taken the reference since the
    // look-up above: another PostgreSQL process paying for a different device with the same receipt.
    if (request.paymentRef !== undefined && isUniqueViolation(e))
      throw new UsageError(
        `payment reference ${request.paymentRef} was just used for a code on another device; one receipt cannot ` +
          `pay for two codes`,
      );
    throw e;
  }
  if (encoded.seq !== null)
    yield { sql: "UPDATE devices SET issued_seq = ? WHERE device_id = ?", args: [encoded.seq, device.deviceId] };
  const issued: IssuedCode = {
    ...issuedBase(device),
    kind: code.kind,
    seq: encoded.seq,
    keycode: encoded.keycode,
    units: encoded.units,
    seconds: encoded.seconds,
    paymentRef: request.paymentRef ?? null,
    replayed: false,
    warning,
  };
  return { issued, codeId: row.code_id };
}

/**
 * Whether a code issued earlier to this Nexus device would also apply at ID `seq`. A Nexus code carries its ID's
 * low 6 bits, so one re-entered after the window passed its ID is read at ID + 64k and applies there when its MAC
 * matches by chance (1 in 4,096 on the small keypad, 1 in 10^6 on the full; the same code at a later ID is then
 * the same keycode). Issued, `seq` could be voided by that stale code before the customer enters it: the ledger
 * skips such an ID instead (the device takes the next one as any ID in its window). docs/CONFORMANCE.md.
 */
function* _shadowed(device: FleetDevice, seq: number): Steps<boolean> {
  if (device.record.protocol === "openpaygo") return false;
  const earlier = (yield {
    sql: "SELECT keycode FROM codes WHERE device_id = ? AND seq < ? AND seq % 64 = ?",
    args: [device.deviceId, seq, seq % 64],
  }) as { keycode: string }[];
  return shadowedBy(device, seq, earlier);
}

/**
 * OpenPAYGO issuers by the device record they were made from (fleet/devices.ts keeps one record object per device
 * and key while its sealed bytes are unchanged), so a repeated value costs a few hashes at any count; each goes with
 * its record.
 */
const _issuers = new WeakMap<ProvisionRecord, TokenIssuer>();

function issuerOf(record: ProvisionRecord): TokenIssuer | undefined {
  if (record.protocol !== "openpaygo") return undefined;
  let issuer = _issuers.get(record);
  if (issuer === undefined) _issuers.set(record, (issuer = tokenIssuer(secretsOf(record))));
  return issuer;
}

/** Whether any of `earlier` (the device's codes below `seq` with its low 6 bits) would also apply at `seq`. */
function shadowedBy(device: FleetDevice, seq: number, earlier: readonly { keycode: string }[]): boolean {
  if (device.record.protocol === "openpaygo") return false;
  const protocol = deviceProtocol(device.record).protocol as KeycodeProtocol<NexusState>;
  const window: NexusState = { ...protocol.initialState(), highest: Math.max(WINDOW_BELOW, seq) };
  return earlier.some(({ keycode }) => protocol.verify(window, entryDigits(device.record, keycode)).kind === "applied");
}

/** The code a payment reference already paid for, asked again: the same code, or refused when asked otherwise. */
function replayOf(device: FleetDevice, request: IssueRequest, previous: CodeRow): IssuedCode {
  if (previous.device_id !== device.deviceId || previous.request !== JSON.stringify(request.code)) {
    const what = `${previous.kind}${previous.seq === null ? "" : ` #${previous.seq}`}`;
    throw new UsageError(
      `payment reference ${request.paymentRef} already paid for ${previous.keycode} (${what}) on device ` +
        `${previous.device_id}; one receipt cannot pay for two codes`,
    );
  }
  const { seq, kind, units, seconds, keycode } = codeRecord(previous);
  const paymentRef = previous.payment_ref;
  return { ...issuedBase(device), seq, kind, units, seconds, keycode, paymentRef, replayed: true, warning: null };
}

/** A code's row (`?` placeholders, both engines). */
const INSERT_CODE = `INSERT INTO codes (device_id, seq, kind, request, units, seconds, keycode, payment_ref,
  issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const INSERT_CODE_RETURNING = `${INSERT_CODE} RETURNING code_id`;

/** INSERT_CODE's values for a code encoded for `request`. */
function codeRow(device: FleetDevice, request: Omit<IssueRequest, "device">, encoded: Encoded, now: string) {
  const { code, paymentRef } = request;
  const { seq, units, seconds, keycode } = encoded;
  return [device.deviceId, seq, code.kind, JSON.stringify(code), units, seconds, keycode, paymentRef ?? null, now];
}

/** A ledger never wipes message IDs (old codes would apply again). */
function refuseIdWipe(code: CodeRequest): void {
  if (code.kind === "wipe" && code.target !== "credit" && code.target !== "restricted_flag")
    throw new UsageError(
      `a ledger never wipes message IDs: old codes would apply again. For support cases use \`solkey keycode\``,
    );
}

/**
 * The warning for a code at `seq` past the device's acceptance window (null inside it); refused unless the request
 * says `pastWindow`.
 */
function windowWarning(device: FleetDevice, request: IssueRequest, seq: number | null): string | null {
  if (seq === null) return null;
  const limit = device.enteredSeq + windowAbove(device.record.protocol, request.code.kind);
  if (seq <= limit) return null;
  const warning = _pastWindow(device, seq, limit);
  if (!request.pastWindow) throw new SolkeyError(`${warning}; or pass --past-window to issue anyway`);
  return warning;
}

function _pastWindow(device: FleetDevice, seq: number, limit: number): string {
  const opg = device.record.protocol === "openpaygo";
  const what = opg ? "count" : "ID";
  const above = limit - device.enteredSeq;
  return (
    `${device.serial}: ${what} ${seq} is more than ${above} above ${device.enteredSeq}, the highest ${what} known to ` +
    `be applied, and the device refuses it unless a later code was entered. Recovery: have the customer enter the ` +
    `outstanding codes oldest first (\`solkey issue ${device.serial} --history\`), record the newest applied one ` +
    `with \`solkey issue ${device.serial} --entered KEYCODE\`, then issue`
  );
}

function issuedBase(device: FleetDevice): Pick<IssuedCode, "serial" | "deviceId" | "protocol"> {
  return { serial: device.serial, deviceId: device.deviceId, protocol: device.record.protocol };
}

export function codeRecord(row: Omit<CodeRow, "device_id" | "request">): CodeRecord {
  return {
    seq: row.seq,
    kind: row.kind,
    units: row.units,
    seconds: row.seconds,
    keycode: row.keycode,
    paymentRef: row.payment_ref,
    issuedAt: row.issued_at,
    enteredAt: row.entered_at,
  };
}
