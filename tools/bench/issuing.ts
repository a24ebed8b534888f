// Factory and operator tools (issue 7): keycodes issued per second per protocol, by the encoder alone and through
// the fleet ledger (one durable transaction per code, and batches); and 10,000 devices provisioned through
// `solkey provision` with every image read back from disk by the firmware's provisioning reader.
// Targets: with the ledger, >= 5,000 codes/s for Nexus and for OpenPAYGO at count 1,000 with a repeated value.
import fs from "fs";
import os from "os";
import path from "path";
import { BOARDS } from "../../firmware/provision/board";
import { decodeProvision, RECORD_LENGTH } from "../../firmware/provision/record";
import { runProvision } from "../commands/provision";
import { encodeCode, tokenIssuer, type CodeRequest, type DeviceSecrets } from "../../fleet/codes";
import { openFleet, type Db } from "../../fleet/database";
import { allDevices, provisionBatch } from "../../fleet/devices";
import { Ledger } from "../../fleet/ledger";
import { readIntelHex } from "../../hosts/ihex";
import { IssueQueue } from "../../fleet/queue";
import { makeProfile } from "../../fleet/profile";
import { printTable, type Cell } from "./table";

export const name = "issuing";

const DEVICES = 100;
const CODES = 20_000;
const BATCH = 1_000;
const START_COUNT = 1_000;
const MASTER = new Uint8Array(32).fill(0x42);
/** A repeated value: operators sell a few fixed packages (here a week). */
const WEEK: CodeRequest = { kind: "add", seconds: 7 * 86400 };

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-bench-"));
  try {
    const rows: Cell[][] = [];
    for (const protocol of ["nexus-full", "nexus-small", "openpaygo"] as const)
      rows.push(await _protocolRow(dir, protocol));
    printTable(
      "Keycodes issued per second (fleet/): encoder alone, and through the SQLite ledger",
      ["protocol", "encoder only", "ledger, 1 tx/code", "ledger, group commit", "ledger, batches of 1,000"],
      rows,
      [
        `${DEVICES} devices round-robin, the same value (7 days) each time; OpenPAYGO from count ${START_COUNT}`,
        "1 tx/code: synchronous=FULL in WAL mode, an fsync per code, as `solkey issue` runs (a code is on disk before",
        "  it is printed), after a warm-up (the WAL at its steady size); group commit: IssueQueue, 20,000 concurrent",
        "  requests, each settled after its own durable commit; batches: `solkey issue --batch` (one transaction).",
        "Target: >= 5,000/s with the ledger.",
        `fsync-bound ceiling on this disk: ${_format(_fsyncRate(dir))} one-row durable transactions/s`,
      ],
    );
    await _provisionTable(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function _protocolRow(dir: string, protocol: "nexus-full" | "nexus-small" | "openpaygo"): Promise<Cell[]> {
  const file = path.join(dir, `${protocol}.db`);
  const db = openFleet(file, { create: true });
  try {
    provisionBatch(db, file, { profile: makeProfile({ protocol }), count: DEVICES, master: MASTER });
    if (protocol === "openpaygo")
      db.prepare("UPDATE devices SET issued_seq = ?, entered_seq = ?").run(START_COUNT, START_COUNT);
    const serials = [...allDevices(db, file)].map((d) => d.serial);
    return [
      protocol,
      _encoderRate(db, file),
      await _ledgerRate(db, file, serials, 1),
      await _groupCommitRate(db, file, serials),
      await _ledgerRate(db, file, serials, BATCH),
    ];
  } finally {
    db.close();
  }
}

/** The encoder alone: each device's next code after its last, chain caches kept as the ledger keeps them. */
function _encoderRate(db: Db, file: string): number {
  const devices = [...allDevices(db, file)].map((d) => {
    const r = d.record;
    const opg = r.protocol === "openpaygo";
    const secrets: DeviceSecrets = {
      deviceId: d.deviceId,
      protocol: r.protocol,
      key: r.key,
      startingCode: opg ? r.startingCode : 0,
      timeDivider: opg ? r.timeDivider : 1,
      extended: false,
      restricted: false,
    };
    const issuer = opg ? tokenIssuer(secrets) : undefined;
    return { secrets, issuer, last: d.issuedSeq };
  });
  for (const d of devices) d.last = encodeCode(d.secrets, WEEK, d.last, d.issuer).seq as number; // warm the caches
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CODES; i++) {
    const d = devices[i % DEVICES];
    d.last = encodeCode(d.secrets, WEEK, d.last, d.issuer).seq as number;
  }
  return CODES / _seconds(t0);
}

/** Through the ledger, `perTx` codes per transaction. */
async function _ledgerRate(db: Db, file: string, serials: string[], perTx: number): Promise<number> {
  const ledger = Ledger.sqlite(db, file);
  const request = (i: number) => ({ device: serials[i % DEVICES], code: WEEK, pastWindow: true });
  await ledger.issueMany(serials.map((_, i) => request(i))); // warm the chain caches
  // measured: the first ~2,000 single-code commits of a process run at a third of the steady rate (the WAL file
  // still growing); a fleet database in service is past that.
  if (perTx === 1) for (let i = 0; i < 2000; i++) await ledger.issue(request(i));
  const n = perTx === 1 ? CODES / 4 : CODES;
  const t0 = process.hrtime.bigint();
  if (perTx === 1) for (let i = 0; i < n; i++) await ledger.issue(request(i));
  else
    for (let i = 0; i < n; i += perTx) await ledger.issueMany(Array.from({ length: perTx }, (_, j) => request(i + j)));
  return n / _seconds(t0);
}

/** Concurrent requests through IssueQueue: each settles after the durable commit of the group it joined. */
async function _groupCommitRate(db: Db, file: string, serials: string[]): Promise<number> {
  const queue = new IssueQueue(db, file);
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CODES }, (_, i) =>
      queue.issue({ device: serials[i % DEVICES], code: WEEK, pastWindow: true }),
    ),
  );
  return CODES / _seconds(t0);
}

function _fsyncRate(dir: string): number {
  const file = path.join(dir, "fsync.db");
  const db = openFleet(file, { create: true });
  const n = 2000;
  const t0 = process.hrtime.bigint();
  const write = db.prepare("INSERT OR REPLACE INTO meta VALUES ('bench', ?)");
  for (let i = 0; i < n; i++) db.transaction(() => write.run(String(i))).immediate();
  const rate = n / _seconds(t0);
  db.close();
  return rate;
}

/** 10,000 devices through the command itself (progress bar on stderr), then every image read back and mounted. */
async function _provisionTable(dir: string): Promise<void> {
  const count = 10_000;
  const rows: Cell[][] = [];
  for (const [protocol, board] of [
    ["nexus-full", "esp32"],
    ["openpaygo", "nrf52"],
  ] as const) {
    const out = path.join(dir, `images-${protocol}`);
    const db = path.join(dir, `provision-${protocol}.db`);
    // Nexus devices get HKDF keys from a master key file, OpenPAYGO ones random keys: both paths are timed.
    const keys = protocol === "nexus-full" ? { masterKeyFile: _masterFile(dir) } : { randomKeys: true };
    const t0 = process.hrtime.bigint();
    await runProvision({ protocol, board, count: String(count), db, out, progress: true, ...keys }, () => {});
    const seconds = _seconds(t0);
    const t1 = process.hrtime.bigint();
    let mounted = 0;
    const { provisionOffset } = BOARDS[board];
    for (const file of fs.readdirSync(out)) {
      if (file.endsWith(".journal.bin")) continue; // the ESP32's second image; the nRF52 HEX holds both
      const bytes = fs.readFileSync(path.join(out, file));
      const image = file.endsWith(".hex")
        ? readIntelHex(bytes.toString("latin1"), provisionOffset, RECORD_LENGTH)
        : new Uint8Array(bytes);
      if (decodeProvision(image).kind === "provisioned") mounted++;
    }
    rows.push([`${protocol} on ${board}`, count, seconds, count / seconds, mounted, _seconds(t1)]);
  }
  printTable(
    "Provisioning through `solkey provision` (HKDF or random keys, images written, one transaction)",
    ["batch", "devices", "seconds", "devices/s", "images mounted", "mount check s"],
    rows,
    ["every image file read back from disk and decoded by firmware/provision/record.ts decodeProvision"],
  );
}

function _masterFile(dir: string): string {
  const file = path.join(dir, "master.key");
  if (!fs.existsSync(file)) fs.writeFileSync(file, Buffer.from(MASTER).toString("hex"));
  return file;
}

function _seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function _format(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
