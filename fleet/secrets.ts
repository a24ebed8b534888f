// Device secrets: 128-bit keys derived from the factory master key with HKDF-SHA-256 (RFC 5869) or drawn at random,
// OpenPAYGO starting codes from the OS's cryptographic generator, and the master key's loading rules (a file or the
// environment, never a command-line argument: arguments end up in shell history and in `ps` for every user).
import { randomBytes, randomInt } from "crypto";
import fs from "fs";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { hexToBytes } from "../firmware/hex";
import { MAX_STARTING_CODE } from "../firmware/provision/record";
import { UsageError } from "./errors";

/** The environment variable that may hold the master key as hex. */
export const MASTER_KEY_ENV = "SOLKEY_MASTER_KEY";

/**
 * Derivation v1's salt, one for every fleet: one master key used for two fleets gave both the same device keys.
 * Fleets provisioned before keep it (their devices hold those keys); a new fleet draws its own salt (v2, fleetSalt).
 */
export const SALT_V1 = new TextEncoder().encode("solkey fleet v1");
const SALT = SALT_V1;
const INFO_DEVICE_KEY = new TextEncoder().encode("solkey device key");
const INFO_FINGERPRINT = new TextEncoder().encode("solkey master fingerprint");

/** The master key from `file` (hex text, or 32 raw bytes) or else $SOLKEY_MASTER_KEY (hex); at least 128 bits. */
export function readMasterKey(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Uint8Array {
  let text: string;
  let where: string;
  if (file !== undefined) {
    if (!fs.existsSync(file)) throw new UsageError(`no master key file ${file}; create one with --new-master-key`);
    let raw: Buffer;
    try {
      raw = fs.readFileSync(file);
    } catch (e) {
      throw new UsageError(`cannot read the master key file ${file} (${(e as NodeJS.ErrnoException).code})`);
    }
    if (raw.length === 32 && !/^[0-9a-fA-F\s]*$/.test(raw.toString("latin1"))) return new Uint8Array(raw);
    text = raw.toString("latin1").trim();
    where = file;
  } else if (env[MASTER_KEY_ENV] !== undefined) {
    text = env[MASTER_KEY_ENV].trim();
    where = `$${MASTER_KEY_ENV}`;
  } else {
    throw new UsageError(
      `no master key: pass --master-key-file FILE or set ${MASTER_KEY_ENV} (hex), or provision with --random-keys`,
    );
  }
  if (!/^([0-9a-fA-F]{2}){16,64}$/.test(text))
    throw new UsageError(`${where} must hold the master key as 32-128 hex digits (16-64 bytes)`);
  return hexToBytes(text);
}

/** Writes a fresh 256-bit master key as hex to `file`, readable by its owner only; refuses to overwrite. */
export function writeNewMasterKey(file: string): void {
  try {
    fs.writeFileSync(file, randomBytes(32).toString("hex") + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new UsageError(`${file} exists; a master key is never overwritten`);
    throw new UsageError(`cannot write ${file}: ${code}`);
  }
}

/** A new fleet's derivation salt (v2): 128 random bits, kept in its database beside the master key's fingerprint. */
export function newFleetSalt(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

/** The device key: HKDF-SHA-256(ikm = master, salt = the fleet's salt, info = label ‖ u32be(deviceId), L = 16). */
export function deriveDeviceKey(master: Uint8Array, deviceId: number, salt: Uint8Array = SALT_V1): Uint8Array {
  const info = new Uint8Array(INFO_DEVICE_KEY.length + 4);
  info.set(INFO_DEVICE_KEY);
  new DataView(info.buffer).setUint32(INFO_DEVICE_KEY.length, deviceId);
  return hkdf(sha256, master, salt, info, 16);
}

/** A public 8-byte tag of the master key, kept in the database so one fleet never mixes two master keys. */
export function masterFingerprint(master: Uint8Array): string {
  return Buffer.from(hkdf(sha256, master, SALT, INFO_FINGERPRINT, 8)).toString("hex");
}

export function randomDeviceKey(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

/** A uniformly random OpenPAYGO starting code, 0..999,999,999 (crypto.randomInt rejects modulo bias). */
export function randomStartingCode(): number {
  return randomInt(0, MAX_STARTING_CODE + 1);
}
