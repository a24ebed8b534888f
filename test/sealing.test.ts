// Device secrets sealed at rest (fleet/sealing.ts, issue 14): a copy of fleet.db holds no key or starting code, a
// plaintext fleet is sealed keeping every device's image and code, and a missing or wrong key is refused in one line.
import fs from "fs";
import path from "path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { openFleet } from "../fleet/database";
import { allDevices, findDevice, provisionBatch } from "../fleet/devices";
import { makeProfile } from "../fleet/profile";
import { keyBeside, keyFileBeside } from "../fleet/sealing";
import { scratch, solkey } from "./fleet.helpers";

/** Every byte of the database's files, and every row as hex text: what a stolen copy holds. */
function dump(db: string): { bytes: Buffer; rows: string } {
  const dir = path.dirname(db);
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(path.basename(db)));
  const sqlite = new Database(db, { readonly: true });
  const tables = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  const rows = tables
    .map((t) =>
      JSON.stringify(sqlite.prepare(`SELECT * FROM "${t.name}"`).raw().all(), (_k, v) =>
        v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v,
      ),
    )
    .join("\n");
  sqlite.close();
  return { bytes: Buffer.concat(files.map((f) => fs.readFileSync(path.join(dir, f)))), rows };
}

/** The secret bytes of each device: its key, and the starting code's field with its neighbours (OpenPAYGO). */
function secretsOf(db: string): Buffer[] {
  const fleet = openFleet(db);
  const out = [...allDevices(fleet, db)].flatMap((d) => [
    Buffer.from(d.record.key),
    ...(d.record.protocol === "openpaygo" ? [Buffer.from(d.image.subarray(24, 36))] : []),
  ]);
  fleet.close();
  return out;
}

function leaks(db: string, secrets: Buffer[]): number {
  const { bytes, rows } = dump(db);
  return secrets.filter((s) => bytes.includes(s) || rows.includes(s.toString("hex"))).length;
}

/** Puts a sealed fleet back as solkey wrote it before sealing: plaintext images, no key fingerprint, no key file. */
function unseal(db: string): void {
  const fleet = openFleet(db);
  const images = [...allDevices(fleet, db)].map((d) => [d.deviceId, d.image] as const);
  fleet.close();
  const raw = new Database(db);
  raw.exec("DROP TRIGGER devices_sealed_insert; DROP TRIGGER devices_sealed_update");
  raw.exec("DELETE FROM meta WHERE name IN ('secret_key_fingerprint', 'secrets_format')");
  for (const [id, image] of images) raw.prepare("UPDATE devices SET image = ? WHERE device_id = ?").run(image, id);
  raw.close();
  fs.rmSync(keyFileBeside(db));
}

it("a dump of fleet.db holds no device key or starting code, for any fleet (and the plaintext one did)", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("openpaygo", "nexus-full", "nexus-small"),
      fc.integer({ min: 1, max: 6 }),
      fc.boolean(),
      (protocol, count, keyed) => {
        const db = path.join(scratch("seal"), "fleet.db");
        const fleet = openFleet(db, { create: true });
        const master = keyed ? new Uint8Array(32).map(() => Math.floor(Math.random() * 256)) : null;
        provisionBatch(fleet, db, { profile: makeProfile({ protocol }), count, master });
        fleet.close();
        const secrets = secretsOf(db);
        expect(secrets.length).toBe(protocol === "openpaygo" ? 2 * count : count);
        expect(leaks(db, secrets)).toBe(0);
        unseal(db); // the control: the same check finds every secret in a plaintext fleet
        expect(leaks(db, secrets)).toBe(secrets.length);
      },
    ),
    { numRuns: 25 },
  );
});

it("seals a plaintext fleet at open, keeping every image and the codes it issues", async () => {
  const dir = scratch("seal");
  const db = path.join(dir, "fleet.db");
  const provision = ["provision", "--protocol", "openpaygo", "--count", "4", "--random-keys", "--db", db];
  expect((await solkey([...provision, "--out", dir])).code).toBe(0);
  expect((await solkey(["issue", "SK-00000002", "--days", "3", "--db", db])).code).toBe(0);
  const before = secretsOf(db);
  const images = (() => {
    const f = openFleet(db);
    const out = [...allDevices(f, db)].map((d) => Buffer.from(d.image).toString("hex"));
    f.close();
    return out;
  })();
  unseal(db);
  const copy = path.join(scratch("seal"), "fleet.db");
  fs.copyFileSync(db, copy);
  // Two copies of one plaintext fleet, each sealed under its own new key: the same next codes.
  const codes = [];
  for (const file of [db, copy]) {
    const r = await solkey(["issue", "SK-00000002", "--days", "2", "--db", file, "--json"]);
    expect(r.stderr).toBe(
      `solkey: created ${keyFileBeside(file)} (mode 600): ${file}'s device secrets are ` +
        "encrypted under it; back it up apart from the database\n",
    );
    expect(r.code).toBe(0);
    codes.push(JSON.parse(r.stdout));
    expect(leaks(file, before)).toBe(0);
    const f = openFleet(file);
    expect([...allDevices(f, file)].map((d) => Buffer.from(d.image).toString("hex"))).toEqual(images);
    f.close();
  }
  expect(codes[0]).toEqual({ ...codes[1], ...{ issuedAt: codes[0].issuedAt } });
  expect(fs.readFileSync(keyFileBeside(db), "utf8")).not.toBe(fs.readFileSync(keyFileBeside(copy), "utf8"));
});

describe("a sealed fleet without its key", () => {
  let dir: string;
  let db: string;
  beforeAll(async () => {
    dir = scratch("seal");
    db = path.join(dir, "fleet.db");
    const provision = ["provision", "--protocol", "nexus-full", "--count", "2", "--random-keys", "--db", db];
    expect((await solkey([...provision, "--out", dir])).code).toBe(0);
  });

  it("is refused in one line naming the fix when the key file is gone", async () => {
    const keyFile = keyFileBeside(db);
    fs.renameSync(keyFile, `${keyFile}.away`);
    try {
      const r = await solkey(["issue", "SK-00000001", "--days", "1", "--db", db]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /^solkey: \S+ device secrets are encrypted and its key file \S+ is missing: pass --secret-key-file FILE or set SOLKEY_SECRET_KEY \(key fingerprint [0-9a-f]{16}\)\n$/,
      );
      expect(fs.existsSync(keyFile)).toBe(false);
      const given = await solkey([
        "issue",
        "SK-00000001",
        "--days",
        "1",
        "--db",
        db,
        "--secret-key-file",
        `${keyFile}.away`,
      ]);
      expect(given.code).toBe(0);
    } finally {
      fs.renameSync(`${keyFile}.away`, keyFile);
    }
  });

  it("refuses another key, from a file or the environment, in one line", async () => {
    const other = path.join(dir, "other.key");
    fs.writeFileSync(other, "ab".repeat(32));
    const issue = ["issue", "SK-00000001", "--days", "1", "--db", db];
    for (const r of [
      await solkey([...issue, "--secret-key-file", other]),
      await solkey(issue, { SOLKEY_SECRET_KEY: "cd".repeat(32) }),
    ]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /^solkey: this secret key \(fingerprint [0-9a-f]{16}\) is not \S+'s \([0-9a-f]{16}\): pass the key file made with the fleet/,
      );
      expect(r.stderr.split("\n")).toHaveLength(2);
    }
  });

  it("detects an image moved to another device's row, and an older solkey's plaintext write", async () => {
    const raw = new Database(db);
    const rows = raw.prepare("SELECT device_id, image FROM devices ORDER BY device_id").all() as {
      device_id: number;
      image: Buffer;
    }[];
    raw.prepare("UPDATE devices SET image = ? WHERE device_id = ?").run(rows[0].image, rows[1].device_id);
    expect(() => raw.prepare("UPDATE devices SET image = ? WHERE device_id = ?").run(Buffer.alloc(64), 1)).toThrow(
      /sealed: upgrade solkey/,
    );
    raw.close();
    const fleet = openFleet(db);
    expect(() => findDevice(fleet, db, "SK-00000002")).toThrow(
      /SK-00000002's sealed image in \S+ fails authentication/,
    );
    expect(findDevice(fleet, db, "SK-00000001").deviceId).toBe(1);
    fleet.close();
    const r = await solkey(["issue", "SK-00000002", "--days", "1", "--db", db]);
    expect([r.code, r.stderr.split("\n").length]).toEqual([1, 2]);
  });
});

it("a server database (no file beside it) must be given its key", () => {
  expect(() => keyBeside("postgres://fleet", null, undefined)).toThrow(/server database: give its secret key/);
});
