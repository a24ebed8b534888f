// Device secrets sealed at rest: each device's provisioning image (it holds the device key and the OpenPAYGO starting
// code) is stored in fleet.db encrypted with AES-256-GCM (NIST SP 800-38D) under a key given to the process, the
// device id as associated data, so a copy of the database alone gives no device secret, and an image moved to another
// device's row, or read with the wrong key, fails authentication instead of issuing wrong codes.
//
// Definitions: the secret key is 256 bits, from --secret-key-file FILE (64 hex digits) or $SOLKEY_SECRET_KEY (hex);
// it is not the master key (that one derives device keys and never touches the database). A sealed image is
// u8 format (1) ‖ 12-byte random nonce ‖ 64-byte ciphertext ‖ 16-byte tag; AAD = u8 format ‖ u32be(device id).
// The fleet records the key's fingerprint (meta `secret_key_fingerprint`) and the format (meta `secrets_format`).
//
// Rules: given neither, a file-backed SQLite fleet uses its key file beside it (`fleet.db` -> `fleet.secret-key`),
// creating one (mode 600) for a new or still-plaintext fleet; a fleet already sealed without its key, or with another
// key, is refused with one line naming the fix. A server database (PostgreSQL, issue 18) has no "beside": it calls
// keyBeside with `beside` null and so must be given the key, from the file or the environment.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "crypto";
import fs from "fs";
import path from "path";
import { RECORD_LENGTH } from "../firmware/provision/record";
import type { Db } from "./database";
import { SolkeyError, UsageError } from "./errors";

export const SECRET_KEY_ENV = "SOLKEY_SECRET_KEY";
/** The one sealing format so far; a later one gets the next number (in the first byte and in meta). */
const FORMAT = 1;
const NONCE_BYTES = 12; // GCM's native IV length (SP 800-38D 8.2): random, 2^-32 collision bound after 2^32 seals
const TAG_BYTES = 16;
export const SEALED_LENGTH = 1 + NONCE_BYTES + RECORD_LENGTH + TAG_BYTES;

/** Where the secret key comes from, as the command line and the environment give it. */
export interface SecretKeySource {
  /** --secret-key-file FILE */
  readonly secretKeyFile?: string;
  /** Default process.env ($SOLKEY_SECRET_KEY). */
  readonly env?: NodeJS.ProcessEnv;
  /** Told, in one line, when a key file is created (the command prints it). */
  readonly notice?: (line: string) => void;
}

/** A 256-bit sealing key; its bytes never leave this module. */
export class SecretKey {
  readonly fingerprint: string;
  private constructor(private readonly key: Buffer) {
    this.fingerprint = createHash("sha256")
      .update("solkey secret key fingerprint\0")
      .update(key)
      .digest("hex")
      .slice(0, 16);
  }

  static fromHex(text: string, where: string): SecretKey {
    const hex = text.trim();
    if (!/^[0-9a-fA-F]{64}$/.test(hex))
      throw new UsageError(
        `${where} must hold the secret key as 64 hex digits (256 bits), got ${hex.length} characters`,
      );
    return new SecretKey(Buffer.from(hex, "hex"));
  }

  static random(): SecretKey {
    return new SecretKey(randomBytes(32));
  }

  /** The key as a key file holds it. */
  hex(): string {
    return this.key.toString("hex");
  }

  seal(deviceId: number, image: Uint8Array): Uint8Array {
    if (image.length !== RECORD_LENGTH)
      throw new RangeError(`"image" expected ${RECORD_LENGTH} bytes, got ${image.length}`);
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    cipher.setAAD(_aad(deviceId));
    const body = Buffer.concat([cipher.update(image), cipher.final()]);
    return new Uint8Array(Buffer.concat([Buffer.of(FORMAT), nonce, body, cipher.getAuthTag()]));
  }

  /** The image, or undefined when the sealed bytes fail authentication (wrong key, wrong row, altered). */
  open(deviceId: number, sealed: Uint8Array): Uint8Array | undefined {
    if (sealed.length !== SEALED_LENGTH || sealed[0] !== FORMAT) return undefined;
    const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
    const tag = sealed.subarray(SEALED_LENGTH - TAG_BYTES);
    const decipher = createDecipheriv("aes-256-gcm", this.key, nonce);
    decipher.setAAD(_aad(deviceId));
    decipher.setAuthTag(tag);
    try {
      return new Uint8Array(
        Buffer.concat([decipher.update(sealed.subarray(1 + NONCE_BYTES, SEALED_LENGTH - TAG_BYTES)), decipher.final()]),
      );
    } catch {
      return undefined;
    }
  }
}

/** The key file a SQLite fleet uses when given none: beside the database, named so `fleet.db*` does not match it. */
export function keyFileBeside(dbFile: string): string {
  const parsed = path.parse(dbFile);
  return path.join(parsed.dir, `${parsed.name}.secret-key`);
}

/**
 * The secret key given to the process: the file, else the environment, else undefined. Read before a database file
 * is created or opened, so a bad key file changes nothing.
 */
export function givenSecretKey(source: SecretKeySource): SecretKey | undefined {
  const env = source.env ?? process.env;
  if (source.secretKeyFile !== undefined) return _readKeyFile(source.secretKeyFile, "--secret-key-file");
  if (env[SECRET_KEY_ENV] !== undefined) return SecretKey.fromHex(env[SECRET_KEY_ENV], `$${SECRET_KEY_ENV}`);
  return undefined;
}

/**
 * The key of a fleet given none: its key file `beside` it, created when the fleet is not sealed yet (`sealed` is the
 * recorded key fingerprint, undefined for a new or plaintext fleet). A server database has no `beside` (null): it
 * must be given its key.
 */
export function keyBeside(
  where: string,
  beside: string | null,
  sealed: string | undefined,
  notice: (line: string) => void = () => {},
): SecretKey {
  if (beside === null)
    throw new UsageError(
      `${where} is a server database: give its secret key with --secret-key-file FILE or $${SECRET_KEY_ENV}`,
    );
  if (fs.existsSync(beside)) return _readKeyFile(beside, "the key file");
  if (sealed !== undefined)
    throw new UsageError(
      `${where}'s device secrets are encrypted and its key file ${beside} is missing: pass --secret-key-file FILE ` +
        `or set ${SECRET_KEY_ENV} (key fingerprint ${sealed})`,
    );
  const key = SecretKey.random();
  try {
    fs.writeFileSync(beside, key.hex() + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return _readKeyFile(beside, "the key file"); // another solkey made it a moment ago
    throw new SolkeyError(`cannot create the secret key file ${beside} (${code}): check the directory's permissions`);
  }
  notice(
    `created ${beside} (mode 600): ${where}'s device secrets are encrypted under it; back it up apart from the database`,
  );
  return key;
}

/** Which key opens which open database: recorded by unlockFleet, read by the one reader and the one writer below. */
const _keys = new WeakMap<Db, SecretKey>();

/**
 * Binds `key` to the open fleet `db`: checks it against the recorded fingerprint, and seals a fleet that is not sealed
 * yet (a new one, or one written by solkey before sealing: the migration), all its images in one transaction.
 */
export function unlockFleet(db: Db, where: string, key: SecretKey): void {
  if (recordedFingerprint(db) !== key.fingerprint) _seal(db, where, key); // else sealed with this key: no write lock
  _keys.set(db, key);
}

function _seal(db: Db, where: string, key: SecretKey): void {
  db.transaction(() => {
    const recorded = recordedFingerprint(db);
    if (recorded !== undefined && recorded !== key.fingerprint)
      throw new UsageError(
        `this secret key (fingerprint ${key.fingerprint}) is not ${where}'s (${recorded}): pass the key file made ` +
          `with the fleet (--secret-key-file FILE or ${SECRET_KEY_ENV})`,
      );
    if (recorded !== undefined) return;
    const plain = db.prepare("SELECT device_id, image FROM devices WHERE length(image) = ?").all(RECORD_LENGTH) as {
      device_id: number;
      image: Uint8Array;
    }[];
    const update = db.prepare("UPDATE devices SET image = ? WHERE device_id = ?");
    for (const row of plain) update.run(key.seal(row.device_id, new Uint8Array(row.image)), row.device_id);
    const meta = db.prepare("INSERT INTO meta VALUES (?, ?)");
    meta.run("secret_key_fingerprint", key.fingerprint);
    meta.run("secrets_format", String(FORMAT));
    // An older solkey writing a plaintext image into a sealed fleet is stopped by the database itself.
    for (const op of ["INSERT", "UPDATE OF image"])
      db.exec(
        `CREATE TRIGGER IF NOT EXISTS devices_sealed_${op.split(" ")[0].toLowerCase()} BEFORE ${op} ON devices
         WHEN length(NEW.image) <> ${SEALED_LENGTH}
         BEGIN SELECT RAISE(ABORT, 'device images in this fleet are sealed: upgrade solkey'); END;`,
      );
  }).immediate();
}

/** The key fingerprint a sealed fleet recorded; undefined for a new or plaintext one. */
export function recordedFingerprint(db: Db): string | undefined {
  const row = db.prepare("SELECT value FROM meta WHERE name = 'secret_key_fingerprint'").get() as
    { value: string } | undefined;
  return row?.value;
}

/** Seals a device's image for its row: the one writer of secrets. */
export function sealImage(db: Db, deviceId: number, image: Uint8Array): Uint8Array {
  return keyOf(db).seal(deviceId, image);
}

/**
 * A device's image from its row, under the fleet's key (SQLite's from keyOf): the one reader of secrets (the device
 * reads of fleet/devices.ts, hence the ledger, recovery, exports and the hub), on both engines.
 */
export function openImage(key: SecretKey, where: string, deviceId: number, serial: string, stored: Uint8Array) {
  const image = key.open(deviceId, new Uint8Array(stored));
  if (image === undefined)
    throw new SolkeyError(
      `${serial}'s sealed image in ${where} fails authentication (altered, or moved from another device's row); ` +
        `restore ${where} from a backup`,
    );
  return image;
}

/** The key openFleet bound to this SQLite handle. */
export function keyOf(db: Db): SecretKey {
  const key = _keys.get(db);
  if (key === undefined) throw new Error("fleet database opened without its secret key (openFleet binds it): a bug");
  return key;
}

function _readKeyFile(file: string, what: string): SecretKey {
  let text: string;
  try {
    text = fs.readFileSync(file, "latin1");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === "ENOENT"
        ? `no secret key file ${file}; pass the one made with the fleet (${what})`
        : `cannot read the secret key file ${file} (${code}); pass a readable file`,
    );
  }
  return SecretKey.fromHex(text, file);
}

function _aad(deviceId: number): Buffer {
  const aad = Buffer.alloc(5);
  aad[0] = FORMAT;
  aad.writeUInt32BE(deviceId, 1);
  return aad;
}
