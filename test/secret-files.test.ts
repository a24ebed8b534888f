// Device secrets at rest (issue 14): fleet.db, images and CSV exports created 600 and their folders 700, whatever
// the umask; and each fleet's own key-derivation salt, so one master key never gives two fleets the same keys.
import fs from "fs";
import path from "path";
import Database from "better-sqlite3";
import { hexToBytes } from "../firmware/hex";
import { deriveDeviceKey, SALT_V1 } from "../fleet/secrets";
import { MASTER_HEX, scratch, solkey } from "./fleet.helpers";

const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

it("creates fleet.db, images, recovery images and CSV exports 600 and their folders 700", async () => {
  const dir = scratch("modes");
  const saved = process.umask(0o022);
  try {
    const at = (name: string) => path.join(dir, name);
    const p = ["provision", "--protocol", "nexus-full", "--count", "1", "--random-keys", "--db", at("fleet.db")];
    expect((await solkey([...p, "--out", at("images"), "--csv", at("batch.csv"), "--plaintext-csv"])).code).toBe(0);
    expect(
      (await solkey(["provision", "--export-csv", at("all.csv"), "--db", at("fleet.db"), "--plaintext-csv"])).code,
    ).toBe(0);
    const r = ["recover", "SK-00000001", "--credit-days", "1", "--db", at("fleet.db"), "--out", at("rec")];
    expect((await solkey(r)).code).toBe(0);
    expect([at("fleet.db"), at("batch.csv"), at("all.csv")].map(mode)).toEqual(["600", "600", "600"]);
    for (const folder of ["images", "rec"]) {
      expect(mode(at(folder))).toBe("700");
      for (const f of fs.readdirSync(at(folder))) expect(mode(path.join(at(folder), f))).toBe("600");
    }
  } finally {
    process.umask(saved);
  }
});

describe("per-fleet key derivation salt", () => {
  const keyOf = async (dir: string, db: string) => {
    const args = ["provision", "--protocol", "nexus-full", "--count", "1", "--db", db, "--out", path.join(dir, "i")];
    const r = await solkey([...args, "--show-secrets", "--json"], { SOLKEY_MASTER_KEY: MASTER_HEX });
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as { devices: { key: string }[]; kdf: { version: number; salt: string } };
  };

  it("gives two fleets provisioned with one master key different device keys", async () => {
    const [a, b] = [scratch("salt-a"), scratch("salt-b")];
    const first = await keyOf(a, path.join(a, "fleet.db"));
    const second = await keyOf(b, path.join(b, "fleet.db"));
    expect(first.kdf.version).toBe(2);
    expect(first.kdf.salt).not.toBe(second.kdf.salt);
    expect(first.devices[0].key).not.toBe(second.devices[0].key);
    const again = await keyOf(a, path.join(a, "fleet.db")); // the same fleet keeps its salt
    expect(again.kdf).toEqual(first.kdf);
  });

  it("keeps derivation v1 for a fleet provisioned before salts existed", async () => {
    const dir = scratch("salt-v1");
    const db = path.join(dir, "fleet.db");
    await keyOf(dir, db);
    const sqlite = new Database(db);
    sqlite.prepare("DELETE FROM meta WHERE name = 'kdf_salt'").run(); // as a fleet written by an older solkey
    sqlite.close();
    const older = await keyOf(dir, db);
    expect(older.kdf.version).toBe(1);
    expect(older.devices[0].key).toBe(Buffer.from(deriveDeviceKey(hexToBytes(MASTER_HEX), 2, SALT_V1)).toString("hex"));
  });
});
