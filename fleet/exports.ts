// Secrets exports (issue 14): the device CSV leaves the fleet encrypted to the operator's public keys in the age
// format (https://age-encryption.org/v1: X25519 recipient stanzas, HKDF-SHA-256, header MAC, ChaCha20-Poly1305 STREAM
// in 64 KiB chunks), written by typage (`age-encryption`, the age author's TypeScript implementation) rather than our
// own copy of the format. The operator reads it with the `age` tool: `age -d -i key.txt devices.csv.age`.
import type { Encrypter } from "age-encryption";
import { UsageError } from "./errors";

/** How an export is written: to age recipients, or in the clear because the operator asked by name. */
export type ExportSeal = { kind: "age"; recipients: readonly string[] } | { kind: "plaintext" };

// An X25519 recipient: "age1" and 32 bytes in bech32 (58 characters). The post-quantum and tag kinds typage also
// takes are left out: age before 1.3 (Debian's) cannot read them, and they may not be mixed with X25519 in one file.
const X25519_RECIPIENT = /^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/;

/**
 * Refuses, before anything is written, a recipient that is not an age X25519 public key: an export nobody can read,
 * or one that would fail after the database committed. `shown` names it in the error line (where it came from,
 * control characters escaped).
 */
export function checkRecipients(recipients: readonly string[], shown: (r: string) => string): void {
  for (const r of recipients)
    if (!X25519_RECIPIENT.test(r) || !_parses(r))
      throw new UsageError(
        `${shown(r)} is not an age X25519 public key (age1..., as \`age-keygen -y key.txt\` prints it)`,
      );
}

/** typage's own check: the bech32 checksum and the point's length. */
function _parses(recipient: string): boolean {
  try {
    _encrypter().addRecipient(recipient);
    return true;
  } catch {
    return false;
  }
}

/** The bytes of the export file holding `text`. */
export async function sealExport(seal: ExportSeal, text: string): Promise<Uint8Array> {
  if (seal.kind === "plaintext") return new TextEncoder().encode(text);
  const e = _encrypter();
  for (const r of seal.recipients) e.addRecipient(r);
  return e.encrypt(text);
}

/**
 * typage, evaluated at the first export rather than at every start of the command line (it is bundled into
 * dist/solkey.js; a call-time require keeps its module body out of `solkey help`'s start).
 */
function _encrypter(): Encrypter {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const age = require("age-encryption") as typeof import("age-encryption");
  return new age.Encrypter();
}

/** The line the commands print about an export's protection. */
export function sealDescription(seal: ExportSeal): string {
  return seal.kind === "plaintext"
    ? "PLAINTEXT, holds every device secret"
    : `age-encrypted to ${seal.recipients.length} recipient${seal.recipients.length === 1 ? "" : "s"}`;
}
