// The fleet database and provisioning: schema and its failures, secrets (HKDF against Node's own implementation),
// batches that commit whole or not at all, Intel HEX, and `solkey provision` on disk.
import { keyed } from "./journal.helpers";
import Database from "better-sqlite3";
import { hkdfSync } from "crypto";
import fs from "fs";
import path from "path";
import { hexToBytes } from "../firmware/hex";
import { BOARDS } from "../firmware/provision/board";
import { decodeDevice } from "../firmware/ledger/codec";
import { freshState } from "../firmware/ledger/state";
import { decodeProvision, type ProvisionRecord } from "../firmware/provision/record";
import { ESP32, NRF52 } from "../firmware/storage/flash";
import { Journal } from "../firmware/storage/journal";
import { NorSim, type NorImage } from "../hosts/node/nor";
import { SolkeyError, UsageError } from "../fleet/errors";
import { openFleet, SCHEMA_VERSION } from "../fleet/database";
import { allDevices, fleetSalt, provisionBatch } from "../fleet/devices";
import { readIntelHex, segmentsToIntelHex, toIntelHex } from "../hosts/ihex";
import { protocolOf } from "../fleet/journal";
import { makeProfile } from "../fleet/profile";
import { SEALED_LENGTH } from "../fleet/sealing";
import { deriveDeviceKey, masterFingerprint, randomStartingCode, readMasterKey } from "../fleet/secrets";
import { ENGINES, ledgerFleets, rowsOf } from "./engines.helpers";
import { MASTER_HEX, scratch, solkey } from "./fleet.helpers";

const fleets = ledgerFleets();

const MASTER = hexToBytes(MASTER_HEX);
const NEXUS = makeProfile({ protocol: "nexus-full" });
const OPG = makeProfile({ protocol: "openpaygo", timeDivider: "24", board: "nrf52" });

/** An independent reader: checks every checksum and returns address -> byte. */
function readHex(text: string): Map<number, number> {
  const bytes = new Map<number, number>();
  let upper = 0;
  for (const line of text.trim().split("\n")) {
    const raw = Buffer.from(line.slice(1), "hex");
    expect(raw.reduce((a, b) => a + b, 0) & 0xff).toBe(0);
    const [n, hi, lo, type] = raw;
    if (type === 4) upper = raw.readUInt16BE(4) * 0x10000;
    if (type === 0) for (let i = 0; i < n; i++) bytes.set(upper + hi * 256 + lo + i, raw[4 + i]);
  }
  expect(text.trim().split("\n").pop()).toBe(":00000001FF");
  return bytes;
}

/** A NOR simulator image holding `bytes` (nothing unstable, no wear). */
function imageOf(bytes: Uint8Array): NorImage {
  const data = new Uint8Array(bytes);
  return {
    bytes: data,
    unstable: new Uint8Array(data.length),
    wordWrites: new Uint8Array(data.length / 4),
    blockErases: new Uint32Array(data.length / 4096),
  };
}

describe("fleet database", () => {
  it("creates the schema at the current version and reopens without migrating again", () => {
    const file = path.join(scratch("db"), "fleet.db");
    openFleet(file, { create: true }).close();
    const db = openFleet(file);
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare("SELECT count(*) AS n FROM packages").get()).toEqual({ n: 3 });
    db.close();
  });

  it("names `solkey provision` when the file does not exist", () => {
    expect(() => openFleet("/nonexistent/fleet.db")).toThrow(UsageError);
    expect(() => openFleet("/nonexistent/fleet.db")).toThrow(/solkey provision/);
  });

  it("refuses a corrupt file in one line, without touching it", () => {
    const file = path.join(scratch("db"), "fleet.db");
    const garbage = Buffer.alloc(8192, 0x5a);
    fs.writeFileSync(file, garbage);
    expect(() => openFleet(file)).toThrow(
      new SolkeyError(`${file} is not a readable fleet database (corrupt?); restore it from a backup`),
    );
    expect(fs.readFileSync(file).equals(garbage)).toBe(true);
  });

  it("refuses someone else's SQLite database and a newer schema", () => {
    const dir = scratch("db");
    const other = new Database(path.join(dir, "other.db"));
    other.exec("CREATE TABLE t (x)");
    other.close();
    expect(() => openFleet(path.join(dir, "other.db"))).toThrow(/not a fleet database/);
    const newer = new Database(path.join(dir, "newer.db"));
    newer.pragma("user_version = 99");
    newer.close();
    expect(() => openFleet(path.join(dir, "newer.db"))).toThrow(/newer than this solkey's .*: upgrade/);
  });

  it("reports a database locked by another writer instead of waiting for ever", () => {
    const file = path.join(scratch("db"), "fleet.db");
    openFleet(file, { create: true }).close();
    const holder = new Database(file);
    holder.exec("BEGIN IMMEDIATE");
    const db = openFleet(file, { busyTimeout: 50 });
    try {
      expect(() => provisionBatch(db, file, { profile: NEXUS, count: 1, master: MASTER })).toThrow(
        /is locked by another/,
      );
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
      db.close();
    }
  });
});

describe("device secrets", () => {
  it("derives keys by HKDF-SHA-256 exactly as Node's independent implementation does", () => {
    for (const id of [0, 1, 2, 0xffffffff]) {
      const info = Buffer.concat([
        Buffer.from("solkey device key"),
        Buffer.from([id >>> 24, (id >>> 16) & 255, (id >>> 8) & 255, id & 255]),
      ]);
      const expected = new Uint8Array(hkdfSync("sha256", MASTER, Buffer.from("solkey fleet v1"), info, 16));
      expect(deriveDeviceKey(MASTER, id)).toEqual(expected);
    }
  });

  it("gives every device its own key", () => {
    const keys = new Set(
      Array.from({ length: 1000 }, (_, i) => Buffer.from(deriveDeviceKey(MASTER, i)).toString("hex")),
    );
    expect(keys.size).toBe(1000);
  });

  it("draws starting codes across the whole 9-digit range", () => {
    const codes = Array.from({ length: 2000 }, randomStartingCode);
    expect(codes.every((c) => Number.isInteger(c) && c >= 0 && c <= 999_999_999)).toBe(true);
    expect(new Set(codes).size).toBeGreaterThan(1990);
    expect(Math.max(...codes)).toBeGreaterThan(900_000_000);
  });

  it("reads the master key from a file or the environment, never anything shorter than 128 bits", () => {
    const dir = scratch("key");
    fs.writeFileSync(path.join(dir, "m.key"), MASTER_HEX + "\n");
    expect(readMasterKey(path.join(dir, "m.key"), {})).toEqual(MASTER);
    expect(readMasterKey(undefined, { SOLKEY_MASTER_KEY: MASTER_HEX })).toEqual(MASTER);
    expect(() => readMasterKey(undefined, {})).toThrow(/--master-key-file FILE or set SOLKEY_MASTER_KEY/);
    expect(() => readMasterKey(undefined, { SOLKEY_MASTER_KEY: "00".repeat(15) })).toThrow(UsageError);
    expect(() => readMasterKey(path.join(dir, "absent.key"), {})).toThrow(/no master key file/);
  });
});

describe("provisioning batches", () => {
  it("creates consecutive devices whose images mount with HKDF keys and fresh windows", () => {
    const file = path.join(scratch("batch"), "fleet.db");
    const db = openFleet(file, { create: true });
    const seen: number[] = [];
    const { devices } = provisionBatch(db, file, { profile: NEXUS, count: 20, master: MASTER }, (d) =>
      seen.push(d.deviceId),
    );
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(devices.map((d) => d.serial).slice(0, 2)).toEqual(["SK-00000001", "SK-00000002"]);
    const stored = [...allDevices(db, file)];
    expect(stored).toHaveLength(20);
    for (const d of stored) {
      const read = decodeProvision(d.image);
      expect(read.kind === "provisioned" && read.record.key).toEqual(
        deriveDeviceKey(MASTER, d.deviceId, fleetSalt(db).salt),
      );
      expect([d.issuedSeq, d.enteredSeq]).toEqual([23, 23]);
    }
    db.close();
  });

  it("gives OpenPAYGO devices distinct starting codes and count 1", () => {
    const file = path.join(scratch("batch"), "fleet.db");
    const db = openFleet(file, { create: true });
    const { devices } = provisionBatch(db, file, { profile: OPG, count: 50, master: null });
    const codes = devices.map((d) => (d.record.protocol === "openpaygo" ? d.record.startingCode : -1));
    expect(new Set(codes).size).toBe(50);
    expect([...allDevices(db, file)].every((d) => d.issuedSeq === 1 && d.enteredSeq === 1)).toBe(true);
    db.close();
  });

  it("records nothing when a device in the middle of a batch fails", () => {
    const file = path.join(scratch("batch"), "fleet.db");
    const db = openFleet(file, { create: true });
    const failAt = (_d: unknown, i: number) => {
      if (i === 7) throw new UsageError("disk full");
    };
    expect(() => provisionBatch(db, file, { profile: NEXUS, count: 10, master: MASTER }, failAt)).toThrow("disk full");
    expect(db.prepare("SELECT (SELECT count(*) FROM devices) + (SELECT count(*) FROM batches) AS n").get()).toEqual({
      n: 0,
    });
    db.close();
  });

  it("refuses a second master key in one fleet, and taken device ids", () => {
    const file = path.join(scratch("batch"), "fleet.db");
    const db = openFleet(file, { create: true });
    provisionBatch(db, file, { profile: NEXUS, count: 2, master: MASTER });
    const other = new Uint8Array(32).fill(7);
    expect(() => provisionBatch(db, file, { profile: NEXUS, count: 1, master: other })).toThrow(
      new UsageError(
        `this master key (fingerprint ${masterFingerprint(other)}) is not the one this fleet was provisioned with (${masterFingerprint(MASTER)})`,
      ),
    );
    expect(() => provisionBatch(db, file, { profile: NEXUS, count: 3, master: MASTER, firstId: 2 })).toThrow(
      /device id 2 is already in/,
    );
    expect(db.prepare("SELECT count(*) AS n FROM devices").get()).toEqual({ n: 2 });
    db.close();
  });
});

describe("Intel HEX", () => {
  it("places every byte at its absolute address, across a 64 KB boundary too", () => {
    const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 37) & 0xff);
    for (const address of [BOARDS.nrf52.provisionOffset, 0x1ffe0]) {
      const bytes = readHex(toIntelHex(data, address));
      expect(bytes.size).toBe(100);
      data.forEach((b, i) => expect(bytes.get(address + i)).toBe(b));
    }
  });

  it("holds several segments in one file, each at its own address", () => {
    const low = Uint8Array.from({ length: 40 }, (_, i) => i);
    const high = Uint8Array.from({ length: 20 }, (_, i) => 200 + i);
    const bytes = readHex(
      segmentsToIntelHex([
        { address: 0xf1000, data: low },
        { address: 0x2fff8, data: high },
      ]),
    );
    expect(bytes.size).toBe(60);
    low.forEach((b, i) => expect(bytes.get(0xf1000 + i)).toBe(b));
    high.forEach((b, i) => expect(bytes.get(0x2fff8 + i)).toBe(b));
  });
});

describe("Intel HEX reader", () => {
  const journal = Uint8Array.from({ length: 40 }, (_, i) => i);
  const record = Uint8Array.from({ length: 64 }, (_, i) => 255 - i);
  const hex = segmentsToIntelHex([
    { address: 0xf1000, data: journal },
    { address: 0xf3000, data: record },
  ]);

  it("reads back each segment by address, and erased bytes where the file holds none", () => {
    expect(readIntelHex(hex, 0xf3000, 64)).toEqual(record);
    expect(readIntelHex(hex, 0xf1000, 40)).toEqual(journal);
    expect(readIntelHex(hex, 0xf1020, 16)).toEqual(Uint8Array.from([...journal.subarray(32), ...Array(8).fill(0xff)]));
  });

  it("refuses a line with a bad checksum or a wrong length, naming the line", () => {
    const lines = hex.trim().split("\n");
    const last = lines[2].slice(-2) === "00" ? "01" : "00";
    const badSum = [...lines.slice(0, 2), lines[2].slice(0, -2) + last, ...lines.slice(3)].join("\n");
    expect(() => readIntelHex(badSum, 0xf1000, 40)).toThrow(
      /Intel HEX line 3: expected a record with a valid checksum/,
    );
    expect(() => readIntelHex(":0400", 0, 4)).toThrow(RangeError);
    expect(() => readIntelHex("not hex", 0, 4)).toThrow(RangeError);
  });
});

describe.each(ENGINES)("solkey provision on %s", (engine) => {
  it("writes images, a private CSV and flashing instructions, and prints no secret unless asked", async () => {
    const dir = scratch("cli");
    const fleet = await fleets.empty(engine);
    const { db } = fleet;
    const env = { ...fleet.env, SOLKEY_MASTER_KEY: MASTER_HEX };
    const r = await solkey(
      [
        "provision",
        "--protocol",
        "openpaygo",
        "--count",
        "3",
        "--db",
        db,
        "--out",
        path.join(dir, "img"),
        "--csv",
        path.join(dir, "b.csv"),
        "--plaintext-csv",
      ],
      env,
    );
    if (engine === "sqlite") {
      // A new fleet file given no secret key makes one beside it, owner-only, and says so (fleet/sealing.ts).
      const keyFile = path.join(path.dirname(db), "fleet.secret-key");
      expect(r).toMatchObject({
        code: 0,
        stderr:
          `solkey: created ${keyFile} (mode 600): ` +
          `${db}'s device secrets are encrypted under it; back it up apart from the database\n`,
      });
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    } else expect(r).toMatchObject({ code: 0, stderr: "" }); // a server fleet is always given its key
    expect(r.stdout).toMatch(
      /esptool.py --chip esp32 write_flash 0x3ff000 \S+<serial>.bin 0x3f0000 \S+<serial>.journal.bin/,
    );
    const csv = fs.readFileSync(path.join(dir, "b.csv"), "utf8").trim().split("\n");
    expect(csv).toHaveLength(4);
    expect(fs.statSync(path.join(dir, "b.csv")).mode & 0o777).toBe(0o600);
    for (const line of csv.slice(1)) {
      const [serial, id, protocol, key, startingCode] = line.split(",");
      const image = fs.readFileSync(path.join(dir, "img", `${serial}.bin`));
      const read = decodeProvision(new Uint8Array(image));
      expect(read.kind === "provisioned" && read.record).toMatchObject({
        deviceId: Number(id),
        protocol,
        key: hexToBytes(key),
        startingCode: Number(startingCode),
      });
      expect(r.stdout).not.toContain(key);
    }
    const shown = await solkey(
      [
        "provision",
        "--protocol",
        "nexus-full",
        "--count",
        "1",
        "--db",
        db,
        "--out",
        path.join(dir, "img"),
        "--show-secrets",
      ],
      env,
    );
    expect(shown.stdout).toMatch(/SK-00000004 key [0-9a-f]{32}/);
    // Every image sealed under the fleet's key (fleet/sealing.ts), on either engine.
    const sealed = await rowsOf(db)<{ n: number }>("SELECT length(image) AS n FROM devices");
    expect(sealed.map((r) => r.n)).toEqual([SEALED_LENGTH, SEALED_LENGTH, SEALED_LENGTH, SEALED_LENGTH]);
  });

  it("provisions a 1,000-device batch whose every image file mounts in the firmware's reader", async () => {
    const dir = scratch("cli");
    const { db, env } = await fleets.empty(engine);
    const out = path.join(dir, "img");
    const args = ["provision", "--protocol", "nexus-small", "--count", "1000", "--db", db];
    const r = await solkey([...args, "--out", out, "--csv", path.join(dir, "b.csv"), "--plaintext-csv"], {
      ...env,
      SOLKEY_MASTER_KEY: MASTER_HEX,
    });
    expect(r.code).toBe(0);
    const files = fs.readdirSync(out).filter((f) => f !== "HARDENING.txt"); // the batch's steps: test/hardening
    expect(files).toHaveLength(2000);
    const records = files.filter((f) => !f.endsWith(".journal.bin"));
    const ids = records.map((f) => {
      const read = decodeProvision(new Uint8Array(fs.readFileSync(path.join(out, f))));
      if (read.kind !== "provisioned") return -1;
      // Its journal image beside it mounts as record 1 holding the fresh state of that very device's protocol.
      const journal = fs.readFileSync(path.join(out, f.replace(/\.bin$/, ".journal.bin")));
      const mounted = Journal.mount(
        new NorSim({ chip: ESP32, blocks: 4, image: imageOf(journal) }),
        keyed(read),
      ).mounted;
      const verifier = protocolOf(read.record);
      if (mounted.kind !== "record" || mounted.sequence !== 1) return -2;
      expect(decodeDevice(verifier, mounted.payload)).toEqual(freshState(verifier));
      return read.record.deviceId;
    });
    expect(new Set(ids).size).toBe(1000);
    expect(Math.min(...ids)).toBe(1);
  });

  it("writes nRF52 images as one Intel HEX holding the journal pages and the provisioning page", async () => {
    const dir = scratch("cli");
    const { db, env } = await fleets.empty(engine);
    const provision = ["provision", "--protocol", "nexus-full", "--board", "nrf52", "--count", "1", "--random-keys"];
    const r = await solkey([...provision, "--db", db, "--out", dir, "--json"], env);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.flash).toMatch(/nrfjprog .*--program .*<serial>.hex --sectorerase/);
    const hex = fs.readFileSync(path.join(dir, "SK-00000001.hex"), "utf8");
    expect(hex.split("\n")[0]).toBe(":02000004000EEC"); // upper 16 bits of the journal's 0xEC000 and the record's 0xEE000
    const bytes = readHex(hex);
    // One file, both regions: the provisioning record at 0xEE000, the whole 8 KB journal region below it.
    const at = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => bytes.get(from + i) ?? -1);
    const read = decodeProvision(at(BOARDS.nrf52.provisionOffset, 64));
    expect(read.kind).toBe("provisioned");
    const journal = at(BOARDS.nrf52.provisionOffset - 0x2000, 0x2000);
    expect(bytes.size).toBe(0x2000 + 64);
    const mounted = Journal.mount(new NorSim({ chip: NRF52, blocks: 2, image: imageOf(journal) }), keyed(read)).mounted;
    expect(mounted).toMatchObject({ kind: "record", sequence: 1 });
    const verifier = protocolOf((read as { record: ProvisionRecord }).record);
    expect(decodeDevice(verifier, (mounted as { payload: Uint8Array }).payload)).toEqual(freshState(verifier));
  });

  it("leaves no image, row or CSV behind when it fails, and says why in one line", async () => {
    const dir = scratch("cli");
    const { db, env } = await fleets.empty(engine);
    const args = ["provision", "--protocol", "nexus-full", "--count", "2", "--db", db, "--out", dir, "--random-keys"];
    expect((await solkey(args, env)).code).toBe(0);
    const before = fs.readdirSync(dir).sort();
    const rows = rowsOf(db);
    const devices = await rows("SELECT * FROM devices ORDER BY device_id");
    const again = await solkey([...args, "--first-id", "2", "--csv", path.join(dir, "x.csv"), "--plaintext-csv"], env);
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split("\n")).toEqual([
      `solkey: device id 2 is already in ${db}; choose another --first-id`,
    ]);
    expect(fs.readdirSync(dir).sort()).toEqual(before);
    expect(await rows("SELECT * FROM devices ORDER BY device_id")).toEqual(devices);
  });

  it.each([
    [["--protocol", "nexus-full", "--count", "0"], /--count expected a whole number 1\.\.1000000/],
    [["--protocol", "rot13", "--count", "1"], /--protocol expected one of openpaygo, nexus-full, nexus-small/],
    [["--protocol", "nexus-full", "--count", "1", "--restricted"], /OpenPAYGO options, not nexus-full/],
    [
      ["--protocol", "openpaygo", "--count", "1", "--time-divider", "300"],
      /--time-divider expected a whole number 1\.\.255/,
    ],
    [
      ["--protocol", "nexus-full", "--count", "1", "--keypad", "buttons-4"],
      /--keypad for nexus-full expected one of matrix-4x3/,
    ],
    [["--protocol", "nexus-full", "--count", "1", "--pins", "1,2/3/4"], /--pins expected 7 keypad GPIOs/],
    [["--protocol", "nexus-full", "--count", "1"], /no master key/],
  ])("refuses %j with exit 2 and one line", async (args, message) => {
    const dir = scratch("cli");
    const { db, env } = await fleets.empty(engine);
    const r = await solkey(["provision", ...(args as string[]), "--db", db, "--out", dir], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it.each([
    [
      "--out is an existing file",
      (dir: string) => ["--out", path.join(dir, "taken")],
      /--out expected a directory, but .*taken is a file; pass another --out/,
    ],
    [
      "--out is under a file",
      (dir: string) => ["--out", path.join(dir, "taken", "images")],
      /taken \(above .*\) is a file; pass another --out/,
    ],
  ])("answers %s with one line and exit 2, not a stack trace, and writes nothing", async (_what, place, message) => {
    const dir = scratch("cli");
    fs.writeFileSync(path.join(dir, "taken"), "not a directory");
    const { db, env } = await fleets.empty(engine);
    const where = ["--db", db, "--out", path.join(dir, "images"), ...place(dir)];
    const r = await solkey(["provision", "--protocol", "openpaygo", "--count", "1", "--random-keys", ...where], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(fs.readdirSync(dir)).toEqual(["taken"]);
    // No fleet file was created; no device row was written on a server.
    if (engine === "sqlite") expect(fs.existsSync(db)).toBe(false);
    else expect(await rowsOf(db)("SELECT count(*) AS n FROM devices")).toEqual([{ n: 0 }]);
  });
});

describe("solkey provision on a fleet file", () => {
  it("answers --db in a missing directory with one line and exit 2, not a stack trace, and writes nothing", async () => {
    const dir = scratch("cli");
    const where = ["--db", path.join(dir, "no", "such", "f.db"), "--out", path.join(dir, "images")];
    const r = await solkey(["provision", "--protocol", "openpaygo", "--count", "1", "--random-keys", ...where]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/no directory .*no\/such for the fleet database .*; create it, or pass another --db/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("has no way to take the master key as an argument", async () => {
    const r = await solkey(["provision", "--protocol", "nexus-full", "--count", "1", "--master-key", MASTER_HEX]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--master-key'/);
  });
});
