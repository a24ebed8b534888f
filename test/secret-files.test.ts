// Files holding device secrets are created for their owner only (issue 14): fleet.db, images and CSV exports 600,
// their folders 700, whatever the process's umask.
import fs from "fs";
import path from "path";
import { scratch, solkey } from "./fleet.helpers";

const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

it("creates fleet.db, images, recovery images and CSV exports 600 and their folders 700", async () => {
  const dir = scratch("modes");
  const saved = process.umask(0o022);
  try {
    const at = (name: string) => path.join(dir, name);
    const p = ["provision", "--protocol", "nexus-full", "--count", "1", "--random-keys", "--db", at("fleet.db")];
    expect((await solkey([...p, "--out", at("images"), "--csv", at("batch.csv")])).code).toBe(0);
    expect((await solkey(["provision", "--export-csv", at("all.csv"), "--db", at("fleet.db")])).code).toBe(0);
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
