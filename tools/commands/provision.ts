// `solkey provision`: creates a batch of devices in the fleet database, each with its secret, its provisioning image
// (firmware/provision/record.ts) and its journal image (first record: the fresh device state, fleet/journal.ts)
// ready for its board's flash offsets, plus the CSV a PAYG platform imports: encrypted to the operator's age
// recipients (fleet/exports.ts), in the clear only with --plaintext-csv.
// All or nothing: images are staged beside the output and moved in only once the database has committed.
import type { Command } from "commander";
import fs from "fs";
import path from "path";
import { bytesToHex } from "../../firmware/hex";
import { UsageError } from "../../fleet/errors";
import { Ledger } from "../../fleet/ledger";
import { fleetAccess, SECRET_KEY_OPTION } from "../store";
import {
  csvHeader,
  csvLine,
  type BatchRequest,
  type KdfSalt,
  type NewDevice,
  type ProvisionedDevice,
} from "../../fleet/devices";
import { checkOutDir, flashInstructions, imageFiles, stagingDir } from "../../fleet/flashing";
import { HARDENING_FILE, hardeningSteps } from "../../fleet/hardening";
import { makeProfile, parseWhole, type ProfileOptions } from "../../fleet/profile";
import { progressBar } from "../progress";
import { checkRecipients, sealDescription, sealExport, type ExportSeal } from "../../fleet/exports";
import { readInput } from "../files";
import { printable } from "../printable";
import { masterFingerprint, MASTER_KEY_ENV, readMasterKey, writeNewMasterKey } from "../../fleet/secrets";

export const DEFAULT_DB = "fleet.db";
const MAX_BATCH = 1_000_000;

export interface ProvisionOptions extends ProfileOptions {
  count?: string;
  firstId?: string;
  db: string;
  out: string;
  csv?: string;
  randomKeys?: boolean;
  masterKeyFile?: string;
  newMasterKey?: string;
  exportCsv?: string;
  recipient?: string[];
  recipientsFile?: string;
  plaintextCsv?: boolean;
  showSecrets?: boolean;
  progress: boolean;
  json?: boolean;
}

export async function runProvision(o: ProvisionOptions, write: (text: string) => void): Promise<void> {
  if (o.newMasterKey !== undefined) return _newMasterKey(o, write);
  if (o.exportCsv !== undefined) return _exportCsv(o, write);
  if (o.count === undefined)
    throw new UsageError("--count N is required (or --export-csv FILE, --new-master-key FILE)");
  const count = parseWhole(o.count, 1, MAX_BATCH, "--count");
  const firstId = o.firstId === undefined ? undefined : parseWhole(o.firstId, 0, 0xffffffff, "--first-id");
  const profile = makeProfile(o);
  if (o.randomKeys && o.masterKeyFile !== undefined)
    throw new UsageError("--random-keys and --master-key-file conflict");
  const master = o.randomKeys ? null : readMasterKey(o.masterKeyFile);
  if (o.csv !== undefined) checkNewFile(o.csv, "--csv");
  const seal = _exportSeal(o);

  checkOutDir(o.out);
  const bar = progressBar("provisioning [{bar}] {value}/{total} devices, {eta}s left");
  const files: string[] = [];
  let csv = "";
  // Made once the fleet is open (its first device): a fleet that cannot be opened leaves no --out behind.
  let staging: string | undefined;
  try {
    if (o.progress && !o.json) bar.start(count, 0);
    const { devices, salt } = await _batch(o, { profile, count, firstId, master }, (device, i) => {
      for (const [name, data] of imageFiles(device.serial, device.record.board, {
        provision: device.image,
        journal: device.journal,
      })) {
        if (fs.existsSync(path.join(o.out, name)))
          throw new UsageError(`${path.join(o.out, name)} exists; use another --out`);
        staging ??= stagingDir(o.out);
        fs.writeFileSync(path.join(staging, name), data, { mode: 0o600 }); // device secrets: owner only
        files.push(name);
      }
      if (o.csv !== undefined) csv += csvLine(device);
      if (i % 64 === 63 || i === count - 1) bar.update(i + 1);
    });
    bar.stop();
    const csvFile = seal === undefined ? undefined : await sealExport(seal, csvHeader() + csv);
    for (const name of files) fs.renameSync(path.join(staging!, name), path.join(o.out, name));
    fs.writeFileSync(path.join(o.out, HARDENING_FILE), hardeningSteps(profile.board), { mode: 0o600 });
    if (csvFile !== undefined) fs.writeFileSync(o.csv as string, csvFile, { mode: 0o600, flag: "wx" });
    _report(o, devices, master, salt, seal, write);
  } finally {
    bar.stop();
    if (staging !== undefined) fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** The batch recorded in the fleet `--db` names (a file, created if new, or a migrated postgres:// database). */
async function _batch(
  o: ProvisionOptions,
  request: BatchRequest,
  each: (device: ProvisionedDevice, index: number) => void,
): Promise<{ devices: ProvisionedDevice[]; salt: KdfSalt }> {
  const ledger = await Ledger.open(o.db, { create: true, ...fleetAccess(o) });
  try {
    return await ledger.provision(request, each);
  } finally {
    await ledger.close();
  }
}

function _report(
  o: ProvisionOptions,
  devices: NewDevice[],
  master: Uint8Array | null,
  kdf: KdfSalt,
  seal: ExportSeal | undefined,
  write: (t: string) => void,
): void {
  const board = devices[0].record.board;
  const first = devices[0];
  const last = devices[devices.length - 1];
  const secrets = (d: NewDevice) =>
    o.showSecrets
      ? {
          key: bytesToHex(d.record.key),
          startingCode: d.record.protocol === "openpaygo" ? d.record.startingCode : null,
        }
      : {};
  if (o.json) {
    write(
      JSON.stringify({
        db: o.db,
        protocol: first.record.protocol,
        board,
        count: devices.length,
        keys: master === null ? "random" : "hkdf",
        ...(master !== null && { kdf: { version: kdf.version, salt: bytesToHex(kdf.salt) } }),
        images: o.out,
        csv: o.csv ?? null,
        ...(seal !== undefined && { csvSeal: seal }),
        flash: flashInstructions(board, o.out, "provision"),
        devices: devices.map((d) => ({ serial: d.serial, deviceId: d.deviceId, ...secrets(d) })),
      }) + "\n",
    );
    return;
  }
  write(
    `provisioned ${devices.length} ${first.record.protocol} devices for ${board}: ${first.serial} .. ${last.serial}\n` +
      `  keys: ${master === null ? "random per device" : `HKDF-SHA-256 from master key ${masterFingerprint(master)} and this fleet's salt ${bytesToHex(kdf.salt)} (derivation v${kdf.version}, kept in ${o.db}: back both up together)`}\n` +
      `  images: ${o.out}/ (provisioning records and first journal records, each mounted by the firmware's readers)\n` +
      (seal === undefined ? "" : `  CSV for the PAYG platform (${sealDescription(seal)}): ${o.csv}\n`) +
      `  flash each device: ${flashInstructions(board, o.out, "provision")}\n`,
  );
  if (o.showSecrets) for (const d of devices) write(`${d.serial} key ${bytesToHex(d.record.key)}${_startingCode(d)}\n`);
  else write(`  secrets are in ${o.db}; --show-secrets prints them, --csv FILE exports them\n`);
}

function _startingCode(d: NewDevice): string {
  return d.record.protocol === "openpaygo" ? ` starting code ${d.record.startingCode}` : "";
}

function _newMasterKey(o: ProvisionOptions, write: (t: string) => void): void {
  const file = o.newMasterKey as string;
  writeNewMasterKey(file);
  write(
    `wrote a new 256-bit master key to ${file} (mode 600), fingerprint ${masterFingerprint(readMasterKey(file))}\n`,
  );
}

async function _exportCsv(o: ProvisionOptions, write: (t: string) => void): Promise<void> {
  const file = o.exportCsv as string;
  checkNewFile(file, "--export-csv");
  const seal = _exportSeal(o) as ExportSeal;
  const ledger = await Ledger.open(o.db, fleetAccess(o));
  try {
    let text = csvHeader();
    const n = await ledger.eachDevice((device) => (text += csvLine(device)));
    fs.writeFileSync(file, await sealExport(seal, text), { mode: 0o600, flag: "wx" });
    write(`exported ${n} devices to ${file} (${sealDescription(seal)})\n`);
  } finally {
    await ledger.close();
  }
}

/**
 * How the CSV export is protected, or undefined when none is asked for. Every device secret is in it and it travels
 * to the PAYG platform's operator, so it is encrypted to their age public keys unless they ask for plaintext by name.
 */
function _exportSeal(o: ProvisionOptions): ExportSeal | undefined {
  const flag = o.exportCsv !== undefined ? "--export-csv" : "--csv";
  const shown = (r: string) => `"${printable(r.length > 90 ? r.slice(0, 90) + "..." : r)}"`;
  const given = o.recipient ?? [];
  checkRecipients(given, (r) => `--recipient ${shown(r)}`);
  const file = o.recipientsFile;
  const listed = file === undefined ? [] : _recipientsFile(file);
  checkRecipients(listed, (r) => `${shown(r)} in recipients file ${file}`);
  const recipients = [...given, ...listed];
  if (o.csv === undefined && o.exportCsv === undefined)
    if (recipients.length > 0 || file !== undefined || o.plaintextCsv)
      throw new UsageError("--recipient, --recipients-file and --plaintext-csv go with --csv or --export-csv");
    else return undefined;
  if (o.plaintextCsv && recipients.length > 0)
    throw new UsageError("--plaintext-csv and --recipient conflict: encrypt the CSV, or write it in the clear");
  if (o.plaintextCsv) return { kind: "plaintext" };
  if (recipients.length === 0)
    throw new UsageError(
      `${flag} writes every device's secret: encrypt it with --recipient age1... (the operator's ` +
        "`age-keygen -y key.txt`) or --recipients-file FILE, or write it in the clear with --plaintext-csv",
    );
  return { kind: "age", recipients };
}

/** A recipients file as `age -R` reads it: one public key a line, blank lines and `#` comments skipped. */
function _recipientsFile(file: string): string[] {
  const text = readInput(file, "recipients file").toString("utf8");
  const recipients = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  if (recipients.length === 0)
    throw new UsageError(`recipients file ${file} holds no recipient; write one age1... public key a line`);
  return recipients;
}

/**
 * Refuses, before anything is written, a secrets file that could not be created: it exists (never overwritten), is
 * empty, or its folder is missing or a file. A failure after the database commits would leave devices whose secrets
 * file was never written, and a retry would provision more.
 */
function checkNewFile(file: string, flag: string): void {
  if (file === "") throw new UsageError(`${flag} expected a file name, got an empty one`);
  if (fs.existsSync(file))
    throw new UsageError(
      `${file} exists${fs.statSync(file).isDirectory() ? " (a directory)" : ""}; ${flag} writes a new file and ` +
        `never overwrites one`,
    );
  const folder = path.dirname(path.resolve(file));
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory())
    throw new UsageError(`${flag} ${file}: no folder ${path.dirname(file)}; create it, or pass another path`);
}

export function register(program: Command): void {
  program
    .command("provision")
    .description(
      "create devices: secrets, provisioning and journal images to flash, fleet rows, CSV for PAYG platforms",
    )
    .option("--protocol <name>", "openpaygo, nexus-full or nexus-small")
    .option("--count <n>", "devices to create")
    .option("--board <name>", "esp32 or nrf52", "esp32")
    .option("--keypad <type>", "matrix-4x3, buttons-4 (OpenPAYGO restricted) or buttons-5 (Nexus small)")
    .option("--pins <map>", "KEYPAD_GPIOS/LOAD/LED[/BUZZER], e.g. 13,12,14,27,26,25,33/23/2 (default: dev kit)")
    .option("--time-divider <n>", "OpenPAYGO value units per day, 1-255 (default 1: days)")
    .option("--extended", "OpenPAYGO 12-digit extended tokens")
    .option("--restricted", "OpenPAYGO restricted digits (keys 1-4)")
    .option("--extended-small-message", "Nexus small: accept the extended set+clear-restricted message")
    .option("--serial-prefix <text>", "serial prefix, serial = prefix + 8-digit id", "SK-")
    .option("--first-id <n>", "first device id (default: one above the fleet's highest)")
    .option(
      "--db <file|url>",
      "fleet database: a SQLite file (created if new) or a migrated postgres:// URL",
      process.env.SOLKEY_DB ?? DEFAULT_DB,
    )
    .option(...SECRET_KEY_OPTION)
    .option("--out <dir>", "where the images go", "images")
    .option("--csv <file>", "also write the PAYG platform CSV (serial, key, starting code, protocol) to FILE")
    .option("--master-key-file <file>", `factory master key (hex); default: $${MASTER_KEY_ENV}`)
    .option("--random-keys", "random keys per device instead of HKDF from the master key")
    .option("--new-master-key <file>", "write a fresh master key to FILE and stop")
    .option("--export-csv <file>", "write the CSV of every device in the database to FILE and stop")
    .option("--recipient <age1...>", "encrypt the CSV to this age public key (repeatable)", _collect, [])
    .option("--recipients-file <file>", "encrypt the CSV to the age public keys in FILE, one a line")
    .option("--plaintext-csv", "write the CSV in the clear (it holds every device secret)")
    .option("--show-secrets", "print keys and starting codes")
    .option("--no-progress", "no progress bar")
    .option("--json", "one JSON object on stdout")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  solkey provision --new-master-key master.key\n" +
        "  solkey provision --protocol nexus-full --count 1000 --master-key-file master.key \\\n" +
        "      --csv batch1.csv.age --recipient age1...   (read it: age -d -i key.txt batch1.csv.age)\n" +
        "  solkey provision --protocol openpaygo --time-divider 24 --board nrf52 --count 10 --random-keys\n" +
        "The master key never goes on the command line: a file, or $SOLKEY_MASTER_KEY.",
    )
    .action((o: ProvisionOptions) => runProvision(o, (text) => process.stdout.write(text)));
}

function _collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
