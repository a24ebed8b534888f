// Secrets exports (issue 14): `--csv` and `--export-csv` write an age file (fleet/exports.ts) that the real `age` tool
// decrypts with the operator's identity to exactly the plaintext CSV; created 600; unreadable with another identity;
// refused without a recipient unless plaintext is asked for by name.
import { execFileSync, spawnSync } from "child_process";
import fs from "fs";
import path from "path";
import { ENGINES, ledgerFleets } from "./engines.helpers";
import { scratch, solkey as run, type CliResult } from "./fleet.helpers";

const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

/** A new age identity file (`age-keygen`) and its public key. */
function identity(dir: string, name: string): { file: string; recipient: string } {
  const file = path.join(dir, name);
  execFileSync("age-keygen", ["-o", file], { stdio: "ignore" });
  return { file, recipient: execFileSync("age-keygen", ["-y", file], { encoding: "utf8" }).trim() };
}

function ageDecrypt(identityFile: string, file: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("age", ["-d", "-i", identityFile, file], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const fleets = ledgerFleets();

describe.each(ENGINES)("age-encrypted CSV exports on %s, read by the age tool", (engine) => {
  let dir: string;
  let db: string;
  let solkey: (args: string[]) => Promise<CliResult>;
  let at: (name: string) => string;
  let operator: { file: string; recipient: string };
  let other: { file: string; recipient: string };
  let provision: string[];

  beforeAll(async () => {
    const fleet = await fleets.empty(engine);
    db = fleet.db;
    solkey = (args) => run(args, fleet.env);
    dir = scratch("exports");
    at = (name) => path.join(dir, name);
    operator = identity(dir, "operator.txt");
    other = identity(dir, "other.txt");
    provision = ["provision", "--protocol", "openpaygo", "--random-keys", "--db", db, "--out", at("img")];
  });

  it("encrypts a 1,000-device batch (two 64 KiB STREAM chunks) that age decrypts to the plaintext CSV", async () => {
    const r = await solkey([
      ...provision,
      "--count",
      "1000",
      "--csv",
      at("batch.csv.age"),
      "--recipient",
      operator.recipient,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`CSV for the PAYG platform (age-encrypted to 1 recipient): ${at("batch.csv.age")}`);
    const sealed = fs.readFileSync(at("batch.csv.age"));
    expect(sealed.subarray(0, 31).toString("latin1")).toBe("age-encryption.org/v1\n-> X25519");
    expect(mode(at("batch.csv.age"))).toBe("600");

    const plain = await solkey(["provision", "--export-csv", at("all.csv"), "--db", db, "--plaintext-csv"]);
    expect(plain.stdout).toBe(`exported 1000 devices to ${at("all.csv")} (PLAINTEXT, holds every device secret)\n`);
    const csv = fs.readFileSync(at("all.csv"), "utf8");
    expect(csv.length).toBeGreaterThan(64 * 1024);
    const keys = csv
      .split("\n")
      .slice(1, -1)
      .map((line) => line.split(",")[3]);
    expect(keys).toHaveLength(1000);
    for (const key of keys.slice(0, 50)) expect(sealed.includes(Buffer.from(key))).toBe(false);

    const opened = ageDecrypt(operator.file, at("batch.csv.age"));
    expect(opened).toMatchObject({ status: 0, stdout: csv });
  });

  it("encrypts --export-csv to every recipient of a recipients file, and to nobody else", async () => {
    fs.writeFileSync(
      at("recipients.txt"),
      `# the PAYG platform's operators\n${operator.recipient}\n\n${other.recipient}\n`,
    );
    const r = await solkey([
      "provision",
      "--export-csv",
      at("two.csv.age"),
      "--db",
      db,
      "--recipients-file",
      at("recipients.txt"),
    ]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toBe(`exported 1000 devices to ${at("two.csv.age")} (age-encrypted to 2 recipients)\n`);
    expect(mode(at("two.csv.age"))).toBe("600");
    const csv = fs.readFileSync(at("all.csv"), "utf8");
    expect(ageDecrypt(operator.file, at("two.csv.age")).stdout).toBe(csv);
    expect(ageDecrypt(other.file, at("two.csv.age")).stdout).toBe(csv);

    const one = await solkey([
      "provision",
      "--export-csv",
      at("one.csv.age"),
      "--db",
      db,
      "--recipient",
      operator.recipient,
    ]);
    expect(one.code).toBe(0);
    const stranger = ageDecrypt(other.file, at("one.csv.age"));
    expect(stranger.status).not.toBe(0);
    expect(stranger.stdout).toBe("");
    expect(stranger.stderr).toMatch(/no identity matched/);
  });

  it("refuses a CSV without a recipient in one line naming --recipient and --plaintext-csv, writing nothing", async () => {
    const before = fs.readdirSync(dir).sort();
    for (const args of [
      [...provision, "--count", "1", "--csv", at("new.csv")],
      ["provision", "--export-csv", at("new.csv"), "--db", db],
    ]) {
      const r = await solkey(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /^solkey: --(export-)?csv writes every device's secret: .*--recipient age1.*--plaintext-csv\n$/,
      );
    }
    expect(fs.readdirSync(dir).sort()).toEqual(before);
    const count = await solkey(["provision", "--export-csv", at("count.csv"), "--db", db, "--plaintext-csv"]);
    expect(count.stdout).toMatch(/^exported 1000 devices/); // the refused batch added no device
  });
});
