// The bad-invocation table (issue 14): ordinary mistakes across every command. Each one exits 2 (usage) or 1
// (failure) with exactly one line on stderr, no stack frame, and leaves the fleet database and every file as it was.
import { createHash } from "crypto";
import fs from "fs";
import path from "path";
import Database from "better-sqlite3";
import { MASTER_HEX, scratch, solkey } from "./fleet.helpers";

/** `$D` stands for the fixture directory (also the working directory, so default paths land there). */
type Case = readonly string[];

/** An age X25519 public key (`age-keygen -y`), and the same with its checksum broken. */
const RECIPIENT = "age1h0du9qghp9zk9m5zr9xv9n2yrvh78f7ntekmdjqnkcamtkmlc52q9aj3ge";
const BROKEN_RECIPIENT = RECIPIENT.slice(0, -1) + "q";
const ONE = ["provision", "--protocol", "nexus-full", "--count", "1", "--random-keys"];
/** `keycode` for OpenPAYGO with a readable device key: each case varies the arguments between. */
const opg = (...args: string[]): Case => ["keycode", "--protocol", "openpaygo", ...args, "--key-file", "$D/dev.key"];

const NUMBERS = ["", "abc", "-1", "1.5", "1e3", "0x10", "99999999999999999999", "7 days", "٣"];

const CASES: Case[] = [
  // the command line itself
  ["frobnicate"],
  ["provsion"],
  ["--no-such-flag"],
  ["issue", "--dayz", "3"],
  ["issue", "SK-00000001", "--days"],
  ["provision", "--cont", "3"],
  ["keycode", "--protocl", "nexus-full"],
  ["sim", "--speeed", "3"],
  ["vectors"],
  ["recover"],
  ["torture", "--sed", "1"],
  // vectors
  ["vectors", "$D/nothing.jsonl"],
  ["vectors", "$D/adir"],
  ["vectors", "$D/empty"],
  ["vectors", "$D/blank.jsonl"],
  ["vectors", "$D/afile.txt"],
  ["vectors", "$D/fleet.db"],
  ["vectors", "$D/empty", "$D/adir"],
  ["vectors", "--json", "$D/afile.txt"],
  // provision: counts, ids, profiles
  ...NUMBERS.map((n) => ["provision", "--protocol", "nexus-full", "--count", n, "--random-keys"]),
  ...NUMBERS.map((n) => ["provision", "--protocol", "nexus-full", "--count", "1", "--first-id", n, "--random-keys"]),
  ...NUMBERS.map((n) => ["provision", "--protocol", "openpaygo", "--count", "1", "--time-divider", n, "--random-keys"]),
  ["provision", "--protocol", "openpaygo", "--count", "1", "--time-divider", "0", "--random-keys"],
  ["provision", "--protocol", "openpaygo", "--count", "1", "--time-divider", "256", "--random-keys"],
  ["provision", "--count", "1", "--random-keys"],
  ["provision", "--protocol", "nexus", "--count", "1", "--random-keys"],
  ["provision", "--protocol", "", "--count", "1", "--random-keys"],
  ["provision", "--protocol", "nexus-full", "--count", "1"],
  ["provision", "--protocol", "nexus-full", "--count", "1", "--master-key-file", "$D/nothing.key"],
  ["provision", "--protocol", "nexus-full", "--count", "1", "--master-key-file", "$D/adir"],
  ["provision", "--protocol", "nexus-full", "--count", "1", "--master-key-file", "$D/empty"],
  ["provision", "--protocol", "nexus-full", "--count", "1", "--master-key-file", "$D/afile.txt"],
  ["provision", "--protocol", "nexus-full", "--count", "1", "--master-key-file", "$D/other.key"],
  ["provision", "--protocol", "nexus-full", "--count", "1", "--master-key-file", "$D/master.key", "--random-keys"],
  [...ONE, "--board", "esp8266"],
  [...ONE, "--keypad", "buttons-4"],
  [...ONE, "--keypad", "qwerty"],
  [...ONE, "--pins", "1,2,3"],
  [...ONE, "--pins", "a/b/c"],
  [...ONE, "--serial-prefix", "SK 1"],
  [...ONE, "--serial-prefix", "1"],
  [...ONE, "--serial-prefix", "x".repeat(13)],
  [...ONE, "--serial-prefix", "SK\u001b[2J"],
  [...ONE, "--extended"],
  [...ONE, "--restricted"],
  ["provision", "--protocol", "openpaygo", "--count", "1", "--random-keys", "--extended-small-message"],
  [...ONE, "--first-id", "1"],
  ["provision", "--protocol", "nexus-full", "--count", "2", "--random-keys", "--first-id", "4294967295"],
  // provision: output paths (every one checked before the first write)
  [...ONE, "--csv", "$D/nodir/x.csv"],
  [...ONE, "--csv", "$D/adir"],
  [...ONE, "--csv", "$D/afile.txt"],
  [...ONE, "--csv", "$D/afile.txt/x.csv"],
  [...ONE, "--csv", ""],
  [...ONE, "--out", "$D/afile.txt"],
  [...ONE, "--out", "$D/afile.txt/sub"],
  [...ONE, "--db", "$D/adir"],
  [...ONE, "--db", "$D/nodir/f.db"],
  [...ONE, "--db", "$D/afile.txt/f.db"],
  [...ONE, "--db", "$D/afile.txt"],
  [...ONE, "--db", "$D/other.db"],
  [...ONE, "--db", "$D/empty", "--csv", "$D/nodir/x"],
  [...ONE, "--db", "$D/new.db", "--csv", "$D/adir"],
  [...ONE, "--first-id", "2", "--out", "$D/images"],
  ["provision", "--new-master-key", "$D/master.key"],
  ["provision", "--new-master-key", "$D/adir"],
  ["provision", "--new-master-key", "$D/nodir/m.key"],
  ["provision", "--export-csv", "$D/afile.txt"],
  ["provision", "--export-csv", "$D/adir"],
  ["provision", "--export-csv", "$D/nodir/x.csv"],
  ["provision", "--export-csv", "$D/x.csv", "--db", "$D/empty", "--plaintext-csv"],
  ["provision", "--export-csv", "$D/x.csv", "--db", "$D/nothing.db", "--plaintext-csv"],
  ["provision", "--export-csv", "$D/x.csv", "--db", "$D/adir", "--plaintext-csv"],
  ["provision", "--export-csv", "$D/x.csv", "--db", "$D/notsqlite.db", "--recipient", RECIPIENT],
  // provision: CSV exports hold every device secret: age recipients, or plaintext by name (issue 14)
  [...ONE, "--csv", "$D/x.csv"],
  ["provision", "--export-csv", "$D/x.csv"],
  [...ONE, "--csv", "$D/x.csv", "--recipient", "age1bad"],
  [...ONE, "--csv", "$D/x.csv", "--recipient", ""],
  [...ONE, "--csv", "$D/x.csv", "--recipient", BROKEN_RECIPIENT],
  [...ONE, "--csv", "$D/x.csv", "--recipient", RECIPIENT.toUpperCase().slice(1)],
  [...ONE, "--csv", "$D/x.csv", "--recipient", "age1pq1" + "q".repeat(1900)],
  [...ONE, "--csv", "$D/x.csv", "--recipient", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHd7 op@host"],
  [...ONE, "--csv", "$D/x.csv", "--recipient", "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"],
  [...ONE, "--csv", "$D/x.csv", "--recipient", "age1\u001b[2J"],
  [...ONE, "--csv", "$D/x.csv", "--recipient", RECIPIENT, "--recipient", "age1bad"],
  [...ONE, "--csv", "$D/x.csv", "--recipient", RECIPIENT, "--plaintext-csv"],
  [...ONE, "--csv", "$D/x.csv", "--recipients-file", "$D/nothing.txt"],
  [...ONE, "--csv", "$D/x.csv", "--recipients-file", "$D/adir"],
  [...ONE, "--csv", "$D/x.csv", "--recipients-file", "$D/empty"],
  [...ONE, "--csv", "$D/x.csv", "--recipients-file", "$D/recipients-comments.txt"],
  [...ONE, "--csv", "$D/x.csv", "--recipients-file", "$D/afile.txt"],
  [...ONE, "--csv", "$D/nodir/x.csv", "--recipient", RECIPIENT],
  [...ONE, "--recipient", RECIPIENT],
  [...ONE, "--plaintext-csv"],
  [...ONE, "--recipients-file", "$D/afile.txt"],
  ["provision", "--export-csv", "$D/x.csv", "--recipient", BROKEN_RECIPIENT],
  ["provision", "--export-csv", "$D/x.csv", "--recipients-file", "$D/empty"],
  ["provision", "--export-csv", "$D/x.csv", "--recipient", RECIPIENT, "--plaintext-csv"],
  ["provision", "--export-csv", "$D/x.csv", "--plaintext-csv", "--db", "$D/nokey/fleet.db"],
  // issue: devices and amounts
  ["issue"],
  ["issue", "--days", "7"],
  ["issue", "SK-99999999", "--days", "7"],
  ["issue", "", "--days", "7"],
  ["issue", "SK-00000001"],
  ...NUMBERS.map((n) => ["issue", "SK-00000001", "--days", n]),
  ...NUMBERS.map((n) => ["issue", "SK-00000001", "--hours", n]),
  ["issue", "SK-00000001", "--days", "0"],
  ["issue", "SK-00000001", "--days", "36501"],
  ["issue", "SK-00000001", "--days", "5000"],
  ["issue", "SK-00000001", "--days", "1", "--hours", "1"],
  ["issue", "SK-00000001", "--package", "fortnight"],
  ["issue", "SK-00000001", "--package", ""],
  ["issue", "SK-00000003", "--hours", "5"],
  ["issue", "SK-00000004", "--hours", "5"],
  ["issue", "SK-00000004", "--days", "181"],
  ["issue", "SK-00000003", "--hours", "5", "--round", "down"],
  ["issue", "SK-00000003", "--package", "evening"],
  ["issue", "SK-00000004", "--package", "evening"],
  ["issue", "SK-00000004", "--package", "evening", "--round", "sideways"],
  ["issue", "SK-00000003", "--hours", "5", "--round", "nearest"],
  ["issue", "SK-00000001", "--unlock", "--round", "up"],
  ["issue", "SK-00000001", "--days", "1", "--ref", ""],
  ["issue", "SK-00000001", "--days", "1", "--ref", "   "],
  ["issue", "SK-00000001", "--days", "1", "--ref", "QX\u001b[2J"],
  ["issue", "SK-00000001", "--days", "1", "--ref", "x".repeat(200)],
  ["issue", "SK-00000002", "--days", "1", "--ref", "PAID-1"],
  ["issue", "SK-00000001", "--days", "2", "--ref", "paid-1"],
  ["issue", "SK-00000001", "--set"],
  ["issue", "SK-00000001", "--unlock", "--lock"],
  ["issue", "SK-00000001", "--unlock", "--days", "1"],
  ["issue", "SK-00000001", "--wipe", "everything"],
  ["issue", "SK-00000001", "--wipe", "ids"],
  ["issue", "SK-00000001", "--test", "0"],
  ["issue", "SK-00000001", "--test", "100"],
  ["issue", "SK-00000001", "--test", "x"],
  ["issue", "SK-00000004", "--test", "10"],
  ["issue", "SK-00000001", "--counter-sync"],
  ["issue", "SK-00000003", "--wipe", "credit"],
  ["issue", "SK-00000001", "--entered", "123"],
  ["issue", "SK-00000001", "--entered", ""],
  ["issue", "SK-00000001", "--entered", "*000 000 000 000 00#"],
  ["issue", "SK-99999999", "--history"],
  ["issue", "--history"],
  ["issue", "SK-00000001", "--days", "1", "--db", "$D/nothing.db"],
  ["issue", "SK-00000001", "--days", "1", "--db", "$D/adir"],
  ["issue", "SK-00000001", "--days", "1", "--db", "$D/empty"],
  ["issue", "SK-00000001", "--days", "1", "--db", "$D/afile.txt"],
  ["issue", "SK-00000001", "--days", "1", "--db", "$D/notsqlite.db"],
  ["issue", "SK-00000001", "--days", "1", "--db", "$D/other.db"],
  ["issue", "SK-00000001", "--days", "1", "--db", ""],
  ["issue", "--batch", "$D/nothing.csv"],
  ["issue", "--batch", "$D/adir"],
  ["issue", "--batch", "$D/empty"],
  ["issue", "--batch", "$D/batch-bad.csv"],
  ["issue", "--batch", "$D/batch-hours.csv"],
  ["issue", "--batch", "$D/batch-unknown.csv"],
  ["issue", "--batch", "$D/batch-package.csv"],
  ["issue", "--batch", "$D/batch-late.csv"],
  ["issue", "--batch", "$D/fleet.db"],
  ["issue", "SK-00000001", "--batch", "$D/batch-late.csv"],
  ["issue", "--define-package", "evening"],
  ["issue", "--define-package", "=4h"],
  ["issue", "--define-package", "evening=4x"],
  ["issue", "--define-package", "evening=0h"],
  ["issue", "--define-package", "1x=4h"],
  // keycode
  ["keycode"],
  ["keycode", "--protocol", "nexus", "--id", "1", "--days", "1"],
  ["keycode", "--protocol", "nexus-full", "--days", "1"],
  ["keycode", "--protocol", "nexus-full", "--id", "1", "--days", "1"],
  ["keycode", "--protocol", "nexus-full", "--id", "1", "--days", "1", "--key-file", "$D/nothing.key"],
  ["keycode", "--protocol", "nexus-full", "--id", "1", "--days", "1", "--key-file", "$D/adir"],
  ["keycode", "--protocol", "nexus-full", "--id", "1", "--days", "1", "--key-file", "$D/empty"],
  ["keycode", "--protocol", "nexus-full", "--id", "1", "--days", "1", "--key-file", "$D/afile.txt"],
  ...NUMBERS.map((n) => ["keycode", "--protocol", "nexus-full", "--id", n, "--days", "1", "--key-file", "$D/dev.key"]),
  ["keycode", "--protocol", "nexus-full", "--id", "1", "--key-file", "$D/dev.key"],
  ["keycode", "--protocol", "nexus-full", "--id", "1", "--days", "1", "--count", "3", "--key-file", "$D/dev.key"],
  ["keycode", "--protocol", "nexus-full", "--id", "1", "--hours", "1", "--package", "week", "--key-file", "$D/dev.key"],
  ["keycode", "--protocol", "nexus-full", "--id", "1", "--package", "week", "--key-file", "$D/dev.key"],
  ["keycode", "--protocol", "nexus-small", "--id", "1", "--hours", "5", "--key-file", "$D/dev.key"],
  ["keycode", "--protocol", "nexus-small", "--test", "10"],
  ["keycode", "--protocol", "nexus-full", "--test", "100"],
  opg("--count", "1", "--days", "1"),
  opg("--starting-code", "1", "--days", "1"),
  opg("--starting-code", "1", "--count", "1", "--hours", "5"),
  ...NUMBERS.map((n) => opg("--starting-code", n, "--count", "1", "--days", "1")),
  ...NUMBERS.map((n) => opg("--starting-code", "1", "--count", n, "--days", "1")),
  opg("--starting-code", "1", "--count", "2147483647", "--days", "1"),
  opg("--starting-code", "1", "--count", "1", "--days", "1", "--id", "3"),
  opg("--starting-code", "1", "--count", "1", "--wipe", "credit"),
  opg("--starting-code", "1", "--count", "1", "--days", "1000"),
  // recover
  ["recover", "SK-00000001"],
  ["recover", "SK-00000001", "--credit-days", "1", "--credit-hours", "2"],
  ["recover", "SK-00000001", "--credit-days", "1", "--unlocked"],
  ...NUMBERS.map((n) => ["recover", "SK-00000001", "--credit-days", n, "--out", "$D/rec"]),
  ["recover", "SK-00000001", "--credit-hours", "-5", "--out", "$D/rec"],
  ["recover", "SK-99999999", "--credit-days", "1", "--out", "$D/rec"],
  ["recover", "SK-00000001", "--credit-days", "1", "--out", "$D/afile.txt"],
  ["recover", "SK-00000001", "--credit-days", "1", "--out", "$D/afile.txt/x"],
  ["recover", "SK-00000001", "--credit-days", "1", "--out", "$D/rec", "--db", "$D/empty"],
  ["recover", "SK-00000001", "--credit-days", "1", "--out", "$D/rec", "--db", "$D/adir"],
  ["recover", "SK-00000001", "--credit-days", "1", "--out", "$D/rec", "--db", "$D/nothing.db"],
  ["recover", "SK-00000001", "--credit-days", "1", "--out", "$D/rec", "--db", "$D/notsqlite.db"],
  ["recover", "SK-00000001", "--credit-days", "1", "--out", "$D/rec", "--note", "ticket\u001b[2J"],
  // sim
  ["sim", "--engine", "v8"],
  ["sim", "--speed", "0"],
  ["sim", "--speed", "-1"],
  ["sim", "--speed", "abc"],
  ["sim", "--speed", "1e20"],
  ["sim", "--speed", "Infinity"],
  ["sim", "--protocol", "nexus"],
  ["sim", "--protocol", "", "--dir", "$D/s1"],
  ["sim", "--dir", "$D/afile.txt"],
  ["sim", "--dir", "$D/afile.txt/sub"],
  ["sim", "--dir", "$D/simfull", "--protocol", "openpaygo"],
  ["sim", "--dir", "$D/simfull"],
  ["sim", "--dir", "$D/s2", "--script", "$D/nothing.txt"],
  ["sim", "--dir", "$D/s2", "--script", "$D/adir"],
  ["sim", "--dir", "$D/s2", "--script", "$D/scen-syntax.txt"],
  ["sim", "--dir", "$D/s2", "--script", "$D/scen-badkey.txt"],
  ["sim", "--dir", "$D/s2", "--script", "$D/scen-wait.txt"],
  ["sim", "--dir", "$D/s2", "--script", "$D/scen-badwait.txt"],
  ["sim", "--dir", "$D/s2", "--script", "$D/fleet.db"],
  ["sim", "--dir", "$D/s2", "--provision", "$D/nothing.bin"],
  ["sim", "--dir", "$D/s2", "--provision", "$D/adir"],
  ["sim", "--dir", "$D/s2", "--provision", "$D/empty"],
  ["sim", "--dir", "$D/s2", "--provision", "$D/afile.txt"],
  ["sim", "--dir", "$D/s2", "--provision", "$D/random.bin"],
  ["sim", "--dir", "$D/s2", "--provision", "$D/bad.hex"],
  ["sim", "--dir", "$D/s2", "--provision", "$D/fleet.db"],
  ["sim", "--dir", "$D/simfull", "--provision", "$D/images/SK-00000001.bin"],
  // explain
  ["explain"],
  ["explain", "SK-00000001"],
  ["explain", "SK-99999999", "*123#"],
  ["explain", "SK-00000001", "abc"],
  ["explain", "SK-00000001", ""],
  ["explain", "SK-00000001", "*123#", "--db", "$D/empty"],
  ["explain", "SK-00000001", "*123#", "--db", "$D/adir"],
  ["explain", "SK-00000001", "*123#", "--db", "$D/nothing.db"],
  // the secret key device secrets are sealed under (fleet/sealing.ts): missing, unreadable, malformed, another's
  ...["$D/nothing.key", "$D/adir", "$D/empty", "$D/afile.txt", "$D/dev.key", "$D/other.key"].flatMap((k) => [
    ["issue", "SK-00000001", "--days", "1", "--secret-key-file", k],
    ["explain", "SK-00000001", "*123#", "--secret-key-file", k],
    [...ONE, "--secret-key-file", k],
    ["recover", "SK-00000001", "--credit-days", "1", "--out", "$D/rec", "--secret-key-file", k],
    ["plan", "list", "--secret-key-file", k],
    ["account", "show", "SK-00000001", "--secret-key-file", k],
    ["payments", "orphans", "--secret-key-file", k],
  ]),
  ...["$D/nothing.key", "$D/adir", "$D/empty", "$D/dev.key"].map((k) => [
    ...[...ONE, "--db", "$D/new.db"],
    ...["--secret-key-file", k],
  ]),
  ["issue", "SK-00000001", "--days", "1", "--db", "$D/nokey/fleet.db"],
  ["explain", "SK-00000001", "*123#", "--db", "$D/nokey/fleet.db"],
  ["plan", "list", "--db", "$D/nokey/fleet.db"],
  // torture
  ["torture", "--protocol", "nexus"],
  ...NUMBERS.map((n) => ["torture", "--ops", n]),
  ["torture", "--seed", "x"],
  ["torture", "--chip", "avr"],
  ["torture", "--blocks", "1"],
  ["torture", "--blocks", "x"],
  ["torture", "--continue", "some"],
  ["torture", "--tear", "none"],
  ["torture", "--cut2", "3"],
  ["torture", "--cut", "x"],
];

let dir: string;
let cwd: string;

/** Every file under `root` (path -> kind, mode and content hash), so any change shows. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      const rel = path.relative(root, p);
      // SQLite's WAL files change on every open, and a checkpoint rewrites the database file: the fleet's rows are
      // compared instead (fleetRows); any other database must stay as it was, empty ones empty.
      if (/\.db-(wal|shm)$/.test(name)) continue;
      if (name === "fleet.db") {
        out[rel] = "fleet";
        continue;
      }
      if (st.isDirectory()) {
        out[rel] = `dir ${st.mode.toString(8)}`;
        walk(p);
      } else out[rel] = `file ${st.mode.toString(8)} ${createHash("sha256").update(fs.readFileSync(p)).digest("hex")}`;
    }
  };
  walk(root);
  return out;
}

/** The fleet's rows, table by table, as text. */
function fleetRows(db: string): string {
  const sqlite = new Database(db, { readonly: true });
  try {
    const tables = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[];
    return tables.map((t) => JSON.stringify(sqlite.prepare(`SELECT * FROM "${t.name}"`).all())).join("\n");
  } finally {
    sqlite.close();
  }
}

beforeAll(async () => {
  dir = scratch("bad");
  cwd = process.cwd();
  process.chdir(dir);
  const write = (name: string, text: string | Uint8Array) => fs.writeFileSync(path.join(dir, name), text);
  write("master.key", MASTER_HEX + "\n");
  write("other.key", "ab".repeat(32) + "\n");
  const provision = (...args: string[]) => solkey(["provision", "--count", "1", "--out", "images", ...args]);
  expect((await provision("--protocol", "nexus-full", "--count", "2", "--master-key-file", "master.key")).code).toBe(0);
  expect((await provision("--protocol", "openpaygo", "--random-keys")).code).toBe(0);
  expect((await provision("--protocol", "nexus-small", "--random-keys")).code).toBe(0);
  expect((await solkey(["issue", "SK-00000001", "--days", "1", "--ref", "PAID-1"])).code).toBe(0);
  // A package in hours: refused on the day-granular devices (OpenPAYGO's default divider, the small keypad).
  expect((await solkey(["issue", "--define-package", "evening=4h"])).code).toBe(0);
  // A copy of the sealed fleet without its key file beside it.
  fs.mkdirSync(path.join(dir, "nokey"));
  const sealed = new Database(path.join(dir, "fleet.db"));
  sealed.exec(`VACUUM INTO '${path.join(dir, "nokey", "fleet.db")}'`);
  sealed.close();
  write("afile.txt", "hello\n");
  fs.mkdirSync(path.join(dir, "adir"));
  write("adir/inside.txt", "x");
  write("empty", "");
  write("recipients-comments.txt", "# the operator's keys\n\n   \n# none yet\n");
  write("blank.jsonl", "\n\n");
  write("dev.key", "00112233445566778899aabbccddeeff\n");
  write("notsqlite.db", "this is not a database\n");
  const other = new Database(path.join(dir, "other.db"));
  other.exec("CREATE TABLE t (x)");
  other.close();
  write("batch-bad.csv", "device,amount\nSK-00000001\n");
  write("batch-hours.csv", "SK-00000002,3d\nSK-00000003,5h\n");
  write("batch-unknown.csv", "SK-00000002,3d\nSK-00000042,1d\n");
  write("batch-package.csv", "SK-00000002,3d\nSK-00000004,evening\n");
  write("batch-late.csv", "SK-00000002,3d\nSK-00000001,2x\n");
  write("scen-syntax.txt", "power on\njump\n");
  write("scen-badkey.txt", "power on\nkeys *A#\n");
  write("scen-wait.txt", "power on\nwait 99999999999d\n");
  write("scen-badwait.txt", "power on\nwait 5 minutes\n");
  write(
    "random.bin",
    new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff),
  );
  write("bad.hex", ":10000000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00\n:00000001FF\n");
  expect((await solkey(["sim", "--dir", "simfull", "--script", "scen-syntax.txt"])).code).toBe(2);
  fs.mkdirSync(path.join(dir, "simfull"), { recursive: true });
  expect(
    (await solkey(["sim", "--dir", "simfull", "--script", path.join(cwd, "test/scenarios/nexus-full-happy.txt")])).code,
  ).toBe(0);
});

afterAll(() => process.chdir(cwd));

it(`the table holds at least 200 bad invocations (${CASES.length})`, () => {
  expect(CASES.length).toBeGreaterThanOrEqual(200);
});

it.each(CASES.map((c) => [c.join(" ").replace(/\u001b/g, "\\e"), c]))(
  "solkey %s: exit 1 or 2, one line, nothing changed",
  async (_name, args) => {
    const before = snapshot(dir);
    const rows = fleetRows(path.join(dir, "fleet.db"));
    const r = await solkey((args as Case).map((a) => a.replace("$D", dir)));
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: expect.any(Number),
      stderr: expect.stringMatching(/^solkey: [^\n]+\n$/),
    });
    expect([1, 2]).toContain(r.code);
    expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
    // `vectors` lists the rows that failed on stdout, as its report; every other refusal prints nothing there.
    // `sim` without a terminal lists the device and its codes before refusing.
    if (args[0] !== "vectors" && !(args[0] === "sim" && !args.includes("--script"))) expect(r.stdout).toBe("");
    expect(snapshot(dir)).toEqual(before);
    expect(fleetRows(path.join(dir, "fleet.db"))).toBe(rows);
  },
);
