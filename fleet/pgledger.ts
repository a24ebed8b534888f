// The issuing ledger on PostgreSQL: fleet/ledger.ts's rules (a payment reference yields one code, the next ID/count
// skips one an earlier code would also apply at, the acceptance window, no ID wipes) on the device's row locked FOR
// UPDATE, so one process at a time issues for a device, fleet-wide. PgStore issues payments' codes through it, the
// `provision`, `issue`, `explain` and `recover` commands through PgLedger.
import type { Pool, PoolClient } from "pg";
import {
  deviceSteps,
  fleetSaltSteps,
  provisionSteps,
  type BatchRequest,
  type FleetDevice,
  type ProvisionedDevice,
} from "./devices";
import {
  codeRecord,
  codeSteps,
  type CodeRecord,
  type CodeRow,
  type IssuedCode,
  type IssuedRow,
  type IssueRequest,
} from "./ledger";
import { UsageError } from "./errors";
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

/**
 * The device with this serial or decimal id (a number: only the id), opened with the fleet's key; `lock`: its row
 * FOR UPDATE.
 */
export function pgDevice(
  c: PoolClient,
  key: SecretKey,
  where: string,
  serialOrId: string | number,
  lock: boolean,
): Promise<FleetDevice> {
  return runPgSteps(c, deviceSteps({ key, where }, serialOrId, lock));
}

/** Issues `request` on `device` (its row locked by the caller): the code and its row's id. */
export function pgIssue(
  c: PoolClient,
  device: FleetDevice,
  request: Omit<IssueRequest, "device">,
  now: string,
): Promise<IssuedRow> {
  return runPgSteps(c, codeSteps(device, request, now));
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
