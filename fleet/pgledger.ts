// The issuing ledger on PostgreSQL: fleet/ledger.ts's rules (a payment reference yields one code, the next ID/count
// skips one an earlier code would also apply at, the acceptance window, no ID wipes) on the device's row locked FOR
// UPDATE, so one process at a time issues for a device, fleet-wide. PgStore issues payments' codes through it, the
// `provision`, `issue`, `explain` and `recover` commands through PgLedger.
import type { Pool, PoolClient } from "pg";
import { decodeProvision } from "../firmware/provision/record";
import { encodeCode, secretsOf } from "./codes";
import { fleetSaltSteps, provisionSteps, type BatchRequest, type FleetDevice, type ProvisionedDevice } from "./devices";
import { SolkeyError, UsageError } from "./errors";
import {
  codeRecord,
  codeRow,
  INSERT_CODE,
  issuedBase,
  refuseIdWipe,
  replayOf,
  shadowedBy,
  windowWarning,
  type CodeRecord,
  type CodeRow,
  type IssuedCode,
  type IssueRequest,
} from "./ledger";
import { checkPgFleet, inPgTransaction, pgPool, redacted, withClient } from "./pgdb";
import {
  planRecovery,
  PREVIOUS_RECOVERY,
  RECORD_RECOVERY,
  RECOVERED,
  RECOVERY_CODES,
  type Recovery,
  type RecoveryCode,
  type RecoveryRequest,
} from "./recovery";
import type { SecretKey, SecretKeySource } from "./sealing";
import { numbered, runPgSteps } from "./sql";

/** Any number: every provisioning process takes it. */
const PROVISION_LOCK = 0x70726f76; // "prov"

interface DeviceRow {
  device_id: number;
  serial: string;
  image: Buffer;
  issued_seq: number;
  entered_seq: number;
}

/**
 * The device with this serial or decimal id (a number: only the id), opened with the fleet's key; `lock`: its row
 * FOR UPDATE.
 */
export async function pgDevice(
  c: PoolClient,
  key: SecretKey,
  where: string,
  serialOrId: string | number,
  lock: boolean,
): Promise<FleetDevice> {
  const text = String(serialOrId);
  const byId = typeof serialOrId === "number" ? serialOrId : /^\d+$/.test(text) ? Number(text) : -1;
  const rows = (
    await c.query(
      `SELECT device_id, serial, image, issued_seq, entered_seq FROM devices WHERE serial = $1 OR device_id = $2
       ORDER BY device_id${lock ? " FOR UPDATE" : ""}`,
      [typeof serialOrId === "number" ? null : text, byId],
    )
  ).rows as DeviceRow[];
  if (rows.length === 0) throw new UsageError(`device ${serialOrId} is not in ${where}. Provision it first`);
  if (rows.length > 1)
    throw new UsageError(`${serialOrId} names two devices in ${where}: a serial and an id; give the serial`);
  const row = rows[0];
  const image = key.open(row.device_id, new Uint8Array(row.image));
  if (image === undefined)
    throw new SolkeyError(
      `${row.serial}'s sealed image in ${where} fails authentication (altered, or moved from another ` +
        `device's row); restore ${where} from a backup`,
    );
  const read = decodeProvision(image);
  if (read.kind !== "provisioned")
    throw new SolkeyError(`${row.serial}'s provisioning image in ${where} is damaged (${read.kind}); restore a backup`);
  return {
    deviceId: row.device_id,
    serial: row.serial,
    record: read.record,
    image,
    issuedSeq: row.issued_seq,
    enteredSeq: row.entered_seq,
  };
}

/** Issues `request` on `device` (its row locked by the caller): the code and its row's id. */
export async function pgIssue(
  c: PoolClient,
  device: FleetDevice,
  request: Omit<IssueRequest, "device">,
  now: string,
): Promise<{ issued: IssuedCode; codeId: number }> {
  const full = { ...request, device: device.serial };
  if (request.paymentRef !== undefined) {
    const previous = (await c.query("SELECT * FROM codes WHERE payment_ref = $1", [request.paymentRef])).rows[0] as
      (CodeRow & { code_id: number }) | undefined;
    if (previous !== undefined) return { issued: replayOf(device, full, previous), codeId: previous.code_id };
  }
  const { code } = request;
  refuseIdWipe(code);
  const secrets = secretsOf(device.record);
  let encoded = encodeCode(secrets, code, device.issuedSeq);
  while (encoded.seq !== null && (await _shadowed(c, device, encoded.seq)))
    encoded = encodeCode(secrets, code, encoded.seq);
  const warning = windowWarning(device, full, encoded.seq);
  const r = await c.query(`${numbered(INSERT_CODE)} RETURNING code_id`, codeRow(device, request, encoded, now));
  if (encoded.seq !== null)
    await c.query("UPDATE devices SET issued_seq = $1 WHERE device_id = $2", [encoded.seq, device.deviceId]);
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
  return { issued, codeId: (r.rows[0] as { code_id: number }).code_id };
}

async function _shadowed(c: PoolClient, device: FleetDevice, seq: number): Promise<boolean> {
  if (device.record.protocol === "openpaygo") return false;
  const earlier = await c.query("SELECT keycode FROM codes WHERE device_id = $1 AND seq < $2 AND seq % 64 = $3", [
    device.deviceId,
    seq,
    seq % 64,
  ]);
  return shadowedBy(device, seq, earlier.rows as { keycode: string }[]);
}

/** A code of the fleet with its device's serial (explain). */
export type SerialCodeRow = CodeRow & { serial: string };

/** The ledger on a PostgreSQL fleet, for the operator's commands (`issue`, `explain`): one transaction each. */
export class PgLedger {
  private constructor(
    private readonly pool: Pool,
    private readonly key: SecretKey,
    readonly where: string,
  ) {}

  static async open(url: string, source: SecretKeySource): Promise<PgLedger> {
    const pool = pgPool(url, 2);
    try {
      return new PgLedger(pool, await checkPgFleet(pool, url, source), redacted(url));
    } catch (e) {
      await pool.end();
      throw e;
    }
  }

  issue(request: IssueRequest): Promise<IssuedCode> {
    return this._tx(async (c) => {
      const device = await pgDevice(c, this.key, this.where, request.device, true);
      return (await pgIssue(c, device, request, new Date().toISOString())).issued;
    });
  }

  /** Records that the device applied this code (keycode or ID/count); its new highest known-applied ID/count. */
  markEntered(device: string, keycodeOrSeq: string): Promise<{ serial: string; seq: number; enteredSeq: number }> {
    return this._tx(async (c) => {
      const d = await pgDevice(c, this.key, this.where, device, true);
      const digits = keycodeOrSeq.replace(/[\s*#-]/g, "");
      const rows = (await c.query("SELECT * FROM codes WHERE device_id = $1 AND seq IS NOT NULL", [d.deviceId]))
        .rows as CodeRow[];
      const row =
        rows.find((r) => r.keycode.replace(/[\s*#-]/g, "") === digits) ?? rows.find((r) => String(r.seq) === digits);
      if (row === undefined || row.seq === null)
        throw new UsageError(
          `no code ${keycodeOrSeq} was issued to ${d.serial}; see \`solkey issue ${d.serial} --history\``,
        );
      await c.query("UPDATE codes SET entered_at = coalesce(entered_at, $1) WHERE device_id = $2 AND seq = $3", [
        new Date().toISOString(),
        d.deviceId,
        row.seq,
      ]);
      const enteredSeq = Math.max(d.enteredSeq, row.seq);
      await c.query("UPDATE devices SET entered_seq = $1 WHERE device_id = $2", [enteredSeq, d.deviceId]);
      return { serial: d.serial, seq: row.seq, enteredSeq };
    });
  }

  /** Every code issued to a device, oldest first. */
  history(device: string): Promise<{ device: FleetDevice; codes: CodeRecord[] }> {
    return withClient(this.pool, this.where, async (c) => {
      const d = await pgDevice(c, this.key, this.where, device, false);
      const rows = (await c.query("SELECT * FROM codes WHERE device_id = $1 ORDER BY code_id", [d.deviceId]))
        .rows as CodeRow[];
      return { device: d, codes: rows.map(codeRecord) };
    });
  }

  /** The device, and every code of the fleet whose digits are `digits` (explain). */
  codesLike(device: string, digits: string): Promise<{ device: FleetDevice; rows: SerialCodeRow[] }> {
    return withClient(this.pool, this.where, async (c) => {
      const d = await pgDevice(c, this.key, this.where, device, false);
      const rows = (
        await c.query(
          `SELECT codes.*, devices.serial FROM codes JOIN devices USING (device_id)
           WHERE regexp_replace(keycode, '[[:space:]*#-]', '', 'g') = $1 ORDER BY code_id`,
          [digits],
        )
      ).rows as SerialCodeRow[];
      return { device: d, rows };
    });
  }

  /**
   * A batch of devices (fleet/devices.ts provisionSteps) in one transaction, its images sealed under the fleet's key;
   * provisioners take turns (an advisory lock: the next free id is read, then taken), hubs are not held up.
   */
  provision(
    request: BatchRequest,
    each: (device: ProvisionedDevice, index: number) => void,
  ): Promise<{ devices: ProvisionedDevice[]; salt: { version: 1 | 2; salt: Uint8Array } }> {
    return this._tx(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock($1)", [PROVISION_LOCK]);
      const seal = (id: number, image: Uint8Array) => this.key.seal(id, image);
      const { devices } = await runPgSteps(c, provisionSteps(this.where, request, seal, each));
      return { devices, salt: await runPgSteps(c, fleetSaltSteps()) };
    });
  }

  /** The device (a wrong serial refused before anything is written). */
  device(serialOrId: string): Promise<FleetDevice> {
    return withClient(this.pool, this.where, (c) => pgDevice(c, this.key, this.where, serialOrId, false));
  }

  /** recoverDevice (fleet/recovery.ts) on the locked device row: `each` runs inside the transaction. */
  recover(request: RecoveryRequest, each: (recovery: Recovery) => void): Promise<Recovery> {
    return this._tx(async (c) => {
      const device = await pgDevice(c, this.key, this.where, request.device, true);
      const codes = (await c.query(numbered(RECOVERY_CODES), [device.deviceId])).rows as RecoveryCode[];
      const previous = (await c.query(numbered(PREVIOUS_RECOVERY), [device.deviceId])).rows[0] as
        { recovered_at: string } | undefined;
      const planned = planRecovery(device, codes, previous?.recovered_at ?? null, request);
      const row = (await c.query(numbered(RECORD_RECOVERY), planned.row)).rows[0] as { recovery_id: number };
      await c.query(numbered(RECOVERED), [device.deviceId]);
      const recovery: Recovery = { recoveryId: row.recovery_id, ...planned.recovery };
      each(recovery);
      return recovery;
    });
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  private _tx<T>(work: (c: PoolClient) => Promise<T>): Promise<T> {
    return inPgTransaction(this.pool, this.where, work);
  }
}
