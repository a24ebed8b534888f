// Provisioning a batch of devices into the fleet database: ids, serials, secrets, each device's provisioning image and
// the journal image holding its first record (ARCHITECTURE.md, Journal), in one transaction. The image is the record of truth for a device's secrets: the ledger and the CSV export read
// them back through the firmware's own reader, so what the tools use is exactly what the device mounts. It is stored
// sealed (fleet/sealing.ts): written through sealImage, read through openImage, nowhere else.
import { bytesToHex, hexToBytes } from "../firmware/hex";
import { freshState } from "../firmware/ledger/state";
import { decodeProvision, encodeProvision, type ProvisionRecord } from "../firmware/provision/record";
import { SolkeyError, UsageError } from "./errors";
import { inTransaction, type Db } from "./database";
import { isUniqueViolation, runSteps, type Steps } from "./sql";
import { initialSeq } from "./codes";
import { expectJournal, journalImage, protocolOf } from "./journal";
import { recordFor, serialOf, type Profile } from "./profile";
import { keyOf, openImage, sealImage, type SecretKey } from "./sealing";
import {
  deriveDeviceKey,
  masterFingerprint,
  newFleetSalt,
  randomDeviceKey,
  randomStartingCode,
  SALT_V1,
} from "./secrets";

export const MAX_DEVICE_ID = 0xffffffff;

/** Any number: every provisioning process takes it on PostgreSQL (the next free id is read, then taken). */
const PROVISION_LOCK = 0x70726f76; // "prov"

/** The fleet's key-derivation salt, and which derivation it belongs to. */
export interface KdfSalt {
  readonly version: 1 | 2;
  readonly salt: Uint8Array;
}

export interface BatchRequest {
  readonly profile: Profile;
  readonly count: number;
  /** First device id; default one above the fleet's highest (1 in an empty fleet). */
  readonly firstId?: number;
  /** The factory master key (keys by HKDF), or null for random per-device keys. */
  readonly master: Uint8Array | null;
}

export interface NewDevice {
  readonly deviceId: number;
  readonly serial: string;
  readonly record: ProvisionRecord;
  /** The 64-byte provisioning image, as written to flash. */
  readonly image: Uint8Array;
}

/** A device just provisioned, with what the factory writes besides its record. */
export interface ProvisionedDevice extends NewDevice {
  /**
   * Its whole journal region: record 1 holding the protocol's fresh device state, the rest erased. Written at the
   * factory so that the device's first code appends record 2: a power cut during it leaves record 1, never a
   * corrupt journal. Shared by the devices of a batch (a fresh state holds no secret).
   */
  readonly journal: Uint8Array;
}

/** A provisioned device as the database holds it. */
export interface FleetDevice extends NewDevice {
  /** Highest ID/count issued to it, and highest known to be applied on it. */
  readonly issuedSeq: number;
  readonly enteredSeq: number;
}

/**
 * Creates `request.count` devices in one transaction; `each` runs inside it for every device (write its files,
 * advance a progress bar): if `each` or anything else throws, no device is recorded.
 */
export function provisionBatch(
  db: Db,
  file: string,
  request: BatchRequest,
  each: (device: ProvisionedDevice, index: number) => void = () => {},
): { batchId: number; devices: ProvisionedDevice[] } {
  _checkCount(request.count);
  return inTransaction(db, file, () =>
    runSteps(
      db,
      provisionSteps(file, request, (id, image) => sealImage(db, id, image), each),
    ),
  );
}

function _checkCount(count: number): void {
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`--count expected a whole number >= 1, got ${count}`);
}

/**
 * provisionBatch's statements, the same on both engines (fleet/ledger.ts's Ledger runs them on either): `seal`
 * encrypts an image under the fleet's key.
 */
export function* provisionSteps(
  where: string,
  request: BatchRequest,
  seal: (deviceId: number, image: Uint8Array) => Uint8Array,
  each: (device: ProvisionedDevice, index: number) => void,
): Steps<{ batchId: number; devices: ProvisionedDevice[] }> {
  const { profile, count, master } = request;
  _checkCount(count);
  yield { advisoryLock: PROVISION_LOCK };
  const salt = master === null ? null : yield* _checkMaster(master);
  const firstId = request.firstId ?? (yield* _nextFreeId());
  const lastId = firstId + count - 1;
  if (lastId > MAX_DEVICE_ID) throw new UsageError(`device ids ${firstId}..${lastId} pass the 32-bit limit`);
  const [taken] = (yield {
    sql: "SELECT min(device_id) AS id FROM devices WHERE device_id BETWEEN ? AND ?",
    args: [firstId, lastId],
  }) as { id: number | null }[];
  if (taken.id !== null)
    throw new UsageError(`device id ${taken.id} is already in ${where}; choose another --first-id`);
  const now = new Date().toISOString();
  const [batch] = (yield {
    sql: "INSERT INTO batches (created_at, key_source, profile, device_count) VALUES (?, ?, ?, ?) RETURNING batch_id",
    args: [now, master === null ? "random" : "hkdf", JSON.stringify(profile), count],
  }) as { batch_id: number }[];
  const batchId = batch.batch_id;
  const seq = initialSeq(profile.protocol);
  const devices: ProvisionedDevice[] = [];
  for (let i = 0; i < count; i++) {
    const deviceId = firstId + i;
    const key = master === null || salt === null ? randomDeviceKey() : deriveDeviceKey(master, deviceId, salt);
    const startingCode = profile.protocol === "openpaygo" ? randomStartingCode() : 0;
    const record = recordFor(profile, deviceId, key, startingCode);
    const image = encodeProvision(record);
    _expectMounts(image, record);
    // The journal mounts, with this device's own protocol, as exactly its fresh state, or nothing is committed.
    const protocol = protocolOf(record);
    const fresh = freshState(protocol);
    // One image per device: its record is MAC'd under the device's own journal key (docs/SPEC.md, v2).
    const journal = journalImage(record.board, protocol, fresh, key);
    expectJournal(record.board, journal, protocol, fresh, key);
    const device = { deviceId, serial: serialOf(profile, deviceId), record, image, journal };
    try {
      yield {
        sql: `INSERT INTO devices (device_id, serial, batch_id, protocol, image, issued_seq, entered_seq, created_at)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        args: [deviceId, device.serial, batchId, profile.protocol, seal(deviceId, image), seq, seq, now],
      };
    } catch (e) {
      if (isUniqueViolation(e))
        throw new UsageError(`serial ${device.serial} is already in ${where}; choose another --serial-prefix`);
      throw e;
    }
    devices.push(device);
    each(device, i);
  }
  return { batchId, devices };
}

/** A device's row: its sealed image and its counts. */
export interface DeviceRow {
  device_id: number;
  serial: string;
  image: Uint8Array;
  issued_seq: number;
  entered_seq: number;
}

/** A fleet's devices as either engine reads them: the key their images are sealed under, its name in messages. */
export interface SealedFleet {
  readonly key: SecretKey;
  /** The SQLite file, or the URL without its password. */
  readonly where: string;
}

/** The SQLite fleet open on `db` (its key bound by openFleet). */
export function sqliteFleet(db: Db, file: string): SealedFleet {
  return { key: keyOf(db), where: file };
}

const DEVICE_COLUMNS = "SELECT device_id, serial, image, issued_seq, entered_seq FROM devices";

/**
 * The device with this serial or decimal id (a number: only the id); a UsageError naming the fix when there is none,
 * or two. `lock`: its row held until the transaction ends (PostgreSQL; SQLite's writer holds the file), so one
 * issuer at a time works on it, fleet-wide.
 */
export function* deviceSteps(fleet: SealedFleet, serialOrId: string | number, lock = false): Steps<FleetDevice> {
  const text = String(serialOrId);
  const byId = typeof serialOrId === "number" ? serialOrId : /^\d+$/.test(text) ? Number(text) : -1;
  const rows = (yield {
    sql: `${DEVICE_COLUMNS} WHERE serial = ? OR device_id = ?`,
    args: [typeof serialOrId === "number" ? null : text, byId],
    ...(lock && { forUpdate: true as const }),
  }) as DeviceRow[];
  const { where } = fleet;
  if (rows.length === 0) throw new UsageError(`device ${text} is not in ${where}. Run \`solkey provision\` first`);
  // A serial prefix may be digits: "100000002" can be device 2's serial (prefix "1") and device 100000002's id.
  if (rows.length > 1)
    throw new UsageError(
      `${text} names two devices in ${where}: a serial, and the id of ` +
        `${rows.find((r) => r.serial !== text)?.serial}; give that device's serial to mean it (this fleet ` +
        `was provisioned with an all-digit --serial-prefix, which solkey now refuses)`,
    );
  return openedDevice(fleet, rows[0]);
}

/** The device with this serial (or decimal device id) on an open SQLite fleet. */
export function findDevice(db: Db, file: string, serialOrId: string): FleetDevice {
  return runSteps(db, deviceSteps(sqliteFleet(db, file), serialOrId));
}

/** Devices read per statement by eachDeviceSteps: a page, never the whole fleet in memory at once. */
const PAGE = 1000;

/** Hands every device to `each`, in id order (the CSV export), a page of rows per statement. */
export function* eachDeviceSteps(fleet: SealedFleet, each: (device: FleetDevice) => void): Steps<number> {
  let after = -1;
  let n = 0;
  for (;;) {
    const rows = (yield {
      sql: `${DEVICE_COLUMNS} WHERE device_id > ? ORDER BY device_id LIMIT ?`,
      args: [after, PAGE],
    }) as DeviceRow[];
    for (const row of rows) each(openedDevice(fleet, row));
    n += rows.length;
    if (rows.length < PAGE) return n;
    after = rows[rows.length - 1].device_id;
  }
}

/** Every device of an open SQLite fleet, in id order. */
export function allDevices(db: Db, file: string): FleetDevice[] {
  const devices: FleetDevice[] = [];
  runSteps(
    db,
    eachDeviceSteps(sqliteFleet(db, file), (d) => devices.push(d)),
  );
  return devices;
}

interface Opened {
  /** The sealed bytes it was opened from: a row whose bytes differ is opened again. */
  readonly sealed: Buffer;
  readonly record: ProvisionRecord;
  readonly image: Uint8Array;
}

/**
 * Images opened under each key (one per open fleet), by device id: the hub looks a device up several times per
 * payment, and opening (AES-256-GCM, then the image's own checks) cost about 40 us each time. An entry is used only
 * for the very sealed bytes it was opened from, under the key that opened them, so it never outlives what the row
 * holds; it keeps in memory secrets this process could open at will anyway. Bounded: the oldest entries go first.
 */
const _opened = new WeakMap<SecretKey, Map<number, Opened>>();
const OPENED_CACHE = 65_536;

/** The device a row holds, its image opened under the fleet's key (cached). */
export function openedDevice(fleet: SealedFleet, row: DeviceRow): FleetDevice {
  let cache = _opened.get(fleet.key);
  if (cache === undefined) _opened.set(fleet.key, (cache = new Map()));
  const sealed = Buffer.from(row.image.buffer, row.image.byteOffset, row.image.byteLength);
  let opened = cache.get(row.device_id);
  if (opened === undefined || !opened.sealed.equals(sealed)) {
    const image = openImage(fleet.key, fleet.where, row.device_id, row.serial, row.image);
    const read = decodeProvision(image);
    if (read.kind !== "provisioned")
      throw new SolkeyError(
        `${row.serial}'s provisioning image in ${fleet.where} is damaged (${read.kind}); restore a backup`,
      );
    opened = { sealed: Buffer.from(sealed), record: read.record, image };
    if (cache.size >= OPENED_CACHE) cache.delete(cache.keys().next().value as number);
    cache.set(row.device_id, opened);
  }
  return {
    deviceId: row.device_id,
    serial: row.serial,
    record: opened.record,
    image: opened.image,
    issuedSeq: row.issued_seq,
    enteredSeq: row.entered_seq,
  };
}

/** The CSV a PAYG platform imports: one device per line. Holds secrets: the caller asked for them by name. */
export function csvHeader(): string {
  return "serial,device_id,protocol,key,starting_code,time_divider,extended,restricted\n";
}

export function csvLine(d: NewDevice): string {
  const r = d.record;
  const opg = r.protocol === "openpaygo";
  const fields: (string | number | boolean)[] = [d.serial, d.deviceId, r.protocol, bytesToHex(r.key)];
  fields.push(
    opg ? String(r.startingCode) : "",
    opg ? r.timeDivider : "",
    opg ? r.extended : "",
    opg ? r.restricted : "",
  );
  return fields.join(",") + "\n";
}

/** Every image must mount in the firmware's reader with the very fields it was made from. */
function _expectMounts(image: Uint8Array, record: ProvisionRecord): void {
  const read = decodeProvision(image);
  if (read.kind !== "provisioned" || JSON.stringify(_plain(read.record)) !== JSON.stringify(_plain(record)))
    throw new Error(`provisioning image of device ${record.deviceId} does not mount as written (${read.kind})`);
}

function _plain(r: ProvisionRecord): object {
  return { ...r, key: bytesToHex(r.key) };
}

function* _nextFreeId(): Steps<number> {
  const [row] = (yield { sql: "SELECT max(device_id) AS id FROM devices", args: [] }) as { id: number | null }[];
  return row.id === null ? 1 : row.id + 1;
}

/**
 * The fleet's key-derivation salt: a fleet's first master-keyed batch records the master key's fingerprint and draws
 * the fleet's own salt (derivation v2); a fleet that recorded a fingerprint before salts existed keeps v1's.
 */
export function fleetSalt(db: Db): KdfSalt {
  return runSteps(db, fleetSaltSteps());
}

export function* fleetSaltSteps(): Steps<KdfSalt> {
  const [row] = (yield { sql: "SELECT value FROM meta WHERE name = 'kdf_salt'", args: [] }) as { value: string }[];
  return row === undefined ? { version: 1, salt: SALT_V1 } : { version: 2, salt: hexToBytes(row.value) };
}

function* _checkMaster(master: Uint8Array): Steps<Uint8Array> {
  const fingerprint = masterFingerprint(master);
  const [row] = (yield { sql: "SELECT value FROM meta WHERE name = 'master_fingerprint'", args: [] }) as {
    value: string;
  }[];
  if (row === undefined) {
    yield { sql: "INSERT INTO meta VALUES ('master_fingerprint', ?)", args: [fingerprint] };
    yield {
      sql: "INSERT INTO meta VALUES ('kdf_salt', ?) ON CONFLICT (name) DO NOTHING",
      args: [bytesToHex(newFleetSalt())],
    };
  } else if (row.value !== fingerprint)
    throw new UsageError(
      `this master key (fingerprint ${fingerprint}) is not the one this fleet was provisioned with (${row.value})`,
    );
  return (yield* fleetSaltSteps()).salt;
}
