// The issuing ledger: every code issued to a device, in the fleet database. Each issue is one transaction that
// reads the device's last ID/count, encodes the next code and records it, so no ID or count is ever issued twice.
// A payment reference yields its code once: asking again returns the same code. The ledger also knows what is known
// to have been entered, and refuses (unless told) a code the device's acceptance window would refuse.
import { WINDOW_BELOW, type NexusState } from "../firmware/protocols/nexus/window";
import type { TokenIssuer } from "../firmware/protocols/openpaygo/encoder";
import type { KeycodeProtocol } from "../firmware/protocols/protocol";
import { deviceProtocol } from "../firmware/provision/protocol";
import { SolkeyError, UsageError } from "./errors";
import { encodeCode, secretsOf, tokenIssuer, windowAbove, type CodeRequest, type Encoded } from "./codes";
import { inTransaction, type Db } from "./database";
import { deviceSteps, findDevice, sqliteFleet, type FleetDevice, type SealedFleet } from "./devices";
import { runSteps, type Steps } from "./sql";
import type { ProvisionRecord } from "../firmware/provision/record";
import { entryDigits } from "./recovery";

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

export class Ledger {
  constructor(
    private readonly db: Db,
    private readonly file: string,
  ) {}

  /** Issues one code in its own transaction. */
  issue(request: IssueRequest): IssuedCode {
    return inTransaction(this.db, this.file, () => this._issue(request));
  }

  /** Issues every request in one transaction: all are recorded, or none (the first failure names its line). */
  issueMany(requests: readonly IssueRequest[]): IssuedCode[] {
    return inTransaction(this.db, this.file, () =>
      requests.map((request, i) => {
        try {
          return this._issue(request);
        } catch (e) {
          if (e instanceof UsageError) throw new UsageError(`request ${i + 1} (${request.device}): ${e.message}`);
          if (e instanceof SolkeyError) throw new SolkeyError(`request ${i + 1} (${request.device}): ${e.message}`);
          throw e;
        }
      }),
    );
  }

  /**
   * Issues each request in its own savepoint inside one transaction: a refused request leaves the others issued.
   * The results, in order, are the codes or the errors. Group commit (`IssueQueue`) rests on this.
   */
  issueEach(requests: readonly IssueRequest[]): (IssuedCode | Error)[] {
    const one = this.db.transaction((request: IssueRequest) => this._issue(request));
    return inTransaction(this.db, this.file, () =>
      requests.map((request) => {
        try {
          return one(request);
        } catch (e) {
          if (e instanceof UsageError || e instanceof SolkeyError) return e;
          throw e;
        }
      }),
    );
  }

  /**
   * Records that the device applied the code with this keycode (or ID/count): the acceptance window then counts
   * from it. Returns the device's new highest known-applied ID/count.
   */
  markEntered(device: string, keycodeOrSeq: string): { serial: string; seq: number; enteredSeq: number } {
    return inTransaction(this.db, this.file, () => {
      const d = findDevice(this.db, this.file, device);
      const digits = keycodeOrSeq.replace(/[\s*#-]/g, "");
      const rows = this.db
        .prepare("SELECT * FROM codes WHERE device_id = ? AND seq IS NOT NULL")
        .all(d.deviceId) as CodeRow[];
      const row =
        rows.find((r) => r.keycode.replace(/[\s*#-]/g, "") === digits) ?? rows.find((r) => String(r.seq) === digits);
      if (row === undefined || row.seq === null)
        throw new UsageError(
          `no code ${keycodeOrSeq} was issued to ${d.serial}; see \`solkey issue ${d.serial} --history\``,
        );
      const now = new Date().toISOString();
      this.db
        .prepare("UPDATE codes SET entered_at = coalesce(entered_at, ?) WHERE device_id = ? AND seq = ?")
        .run(now, d.deviceId, row.seq);
      const enteredSeq = Math.max(d.enteredSeq, row.seq);
      this.db.prepare("UPDATE devices SET entered_seq = ? WHERE device_id = ?").run(enteredSeq, d.deviceId);
      return { serial: d.serial, seq: row.seq, enteredSeq };
    });
  }

  /** Every code issued to a device, oldest first. */
  history(device: string): { device: FleetDevice; codes: CodeRecord[] } {
    const d = findDevice(this.db, this.file, device);
    const rows = this.db
      .prepare("SELECT * FROM codes WHERE device_id = ? ORDER BY code_id")
      .all(d.deviceId) as CodeRow[];
    return { device: d, codes: rows.map(codeRecord) };
  }

  private _issue(request: IssueRequest): IssuedCode {
    return runSteps(this.db, issueSteps(sqliteFleet(this.db, this.file), request, new Date().toISOString())).issued;
  }
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
  const [row] = (yield { sql: `${INSERT_CODE} RETURNING code_id`, args: codeRow(device, request, encoded, now) }) as {
    code_id: number;
  }[];
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
export function shadowedBy(device: FleetDevice, seq: number, earlier: readonly { keycode: string }[]): boolean {
  if (device.record.protocol === "openpaygo") return false;
  const protocol = deviceProtocol(device.record).protocol as KeycodeProtocol<NexusState>;
  const window: NexusState = { ...protocol.initialState(), highest: Math.max(WINDOW_BELOW, seq) };
  return earlier.some(({ keycode }) => protocol.verify(window, entryDigits(device.record, keycode)).kind === "applied");
}

/** The code a payment reference already paid for, asked again: the same code, or refused when asked otherwise. */
export function replayOf(device: FleetDevice, request: IssueRequest, previous: CodeRow): IssuedCode {
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
export const INSERT_CODE = `INSERT INTO codes (device_id, seq, kind, request, units, seconds, keycode, payment_ref,
  issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** INSERT_CODE's values for a code encoded for `request`. */
export function codeRow(device: FleetDevice, request: Omit<IssueRequest, "device">, encoded: Encoded, now: string) {
  const { code, paymentRef } = request;
  const { seq, units, seconds, keycode } = encoded;
  return [device.deviceId, seq, code.kind, JSON.stringify(code), units, seconds, keycode, paymentRef ?? null, now];
}

/** A ledger never wipes message IDs (old codes would apply again). */
export function refuseIdWipe(code: CodeRequest): void {
  if (code.kind === "wipe" && code.target !== "credit" && code.target !== "restricted_flag")
    throw new UsageError(
      `a ledger never wipes message IDs: old codes would apply again. For support cases use \`solkey keycode\``,
    );
}

/**
 * The warning for a code at `seq` past the device's acceptance window (null inside it); refused unless the request
 * says `pastWindow`.
 */
export function windowWarning(device: FleetDevice, request: IssueRequest, seq: number | null): string | null {
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

export function issuedBase(device: FleetDevice): Pick<IssuedCode, "serial" | "deviceId" | "protocol"> {
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
