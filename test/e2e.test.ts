// End to end, per protocol: `solkey provision` makes a device, its image is loaded into the simulator's provisioning
// partition, `solkey issue` issues codes from the ledger, they are typed on the simulated keypad, and the device's
// credit and load follow what was paid, to the minute.
import fs from "fs";
import path from "path";
import { LEASE_MS } from "../firmware/ledger/reducer";
import { SimDevice, type TraceEvent } from "../hosts/node/simdevice";
import { MASTER_HEX, scratch, solkey } from "./fleet.helpers";

const DAY_MS = 86_400_000;

interface Issued {
  keycode: string;
  seconds: number;
  seq: number;
  replayed: boolean;
}

/** Keys a customer presses for a printed keycode: OpenPAYGO tokens go between `*` and `#` on a full keypad. */
function keysFor(protocol: string, restricted: boolean, keycode: string): string {
  return protocol === "openpaygo" && !restricted ? `*${keycode}#` : keycode;
}

const verdicts = (trace: readonly TraceEvent[]) =>
  trace.flatMap((e) =>
    e.type === "feedback" && ["applied", "duplicate", "invalid"].includes(e.pattern) ? [e.pattern] : [],
  );

describe.each([
  ["nexus-full", []],
  ["nexus-small", []],
  ["openpaygo", []],
  ["openpaygo", ["--restricted"]],
  ["openpaygo", ["--extended", "--time-divider", "24"]],
] as [string, string[]][])("end to end: %s %j", (protocol, options) => {
  it("provisions, issues from the ledger, and the simulated device credits and switches the load", async () => {
    const dir = scratch("e2e");
    const db = path.join(dir, "fleet.db");
    const provision = ["provision", "--protocol", protocol, ...options, "--count", "2", "--db", db, "--out", dir];
    expect((await solkey(provision, { SOLKEY_MASTER_KEY: MASTER_HEX })).code).toBe(0);
    const restricted = options.includes("--restricted");
    // The simulator is an ESP32 board: the images go into its solkey_prov and solkey_jrnl partitions as esptool
    // would write them.
    const image = new Uint8Array(fs.readFileSync(path.join(dir, "SK-00000001.bin")));
    const journal = new Uint8Array(fs.readFileSync(path.join(dir, "SK-00000001.journal.bin")));
    const issue = async (...args: string[]): Promise<Issued> => {
      const r = await solkey(["issue", "SK-00000001", ...args, "--db", db, "--json"]);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      return JSON.parse(r.stdout) as Issued;
    };

    const sim = new SimDevice({ provision: image, journal });
    sim.powerOn();
    expect(sim.trace.find((e) => e.type === "boot")).toMatchObject({ status: "ready" });
    expect(sim.loadPin()).toBe(false);
    expect(sim.images().journal).toEqual(journal); // a fresh device's boot writes nothing to flash...
    expect(sim.otp.read(0)).toBe(true); // ...and sets the OTP mark: never fresh twice (docs/SPEC.md, "Migration")

    const first = await issue("--days", "2", "--ref", "PAY-1");
    sim.type(keysFor(protocol, restricted, first.keycode));
    const second = await issue("--days", "1", "--ref", "PAY-2");
    sim.type(keysFor(protocol, restricted, second.keycode));
    expect(verdicts(sim.trace)).toEqual(["applied", "applied"]);
    expect(sim.loadPin()).toBe(true);
    // The first code appended after the factory's record 1, in the same block: it never wrote record 1 itself.
    const record1 = journal.length - [...journal].reverse().findIndex((b) => b !== 0xff);
    expect(sim.images().journal.subarray(0, record1)).toEqual(journal.subarray(0, record1));
    const paid = first.seconds + second.seconds;
    expect(paid).toBe(3 * 86400);
    const credit = sim.trace.filter((e) => e.type === "credit").pop();
    expect(credit?.type === "credit" && credit.seconds).toBeGreaterThan(paid - 60);

    // The same receipt yields the same code, and the device takes it only once.
    const again = await issue("--days", "2", "--ref", "PAY-1");
    expect(again).toMatchObject({ keycode: first.keycode, seq: first.seq, replayed: true });
    sim.type(keysFor(protocol, restricted, again.keycode));
    expect(verdicts(sim.trace)).toEqual(["applied", "applied", "duplicate"]);
    const entered = await solkey(["issue", "SK-00000001", "--entered", second.keycode, "--db", db]);
    expect(entered.code).toBe(0);

    // Credit runs only while powered; a power cut costs at most one lease of it (the minute the device had
    // already charged in its tally); the load goes off when the credit is spent.
    const paidAt = sim.now;
    sim.wait(DAY_MS);
    sim.powerOff();
    sim.powerOn();
    sim.wait(1000);
    expect(sim.loadPin()).toBe(true);
    sim.wait(2 * DAY_MS - LEASE_MS - 60_000);
    expect(sim.loadPin()).toBe(true);
    sim.wait(LEASE_MS + 2 * 60_000);
    expect(sim.loadPin()).toBe(false);
    const off = sim.trace.filter((e) => e.type === "load" && !e.on).pop() as TraceEvent;
    expect(off.t - paidAt).toBeGreaterThanOrEqual(3 * DAY_MS - LEASE_MS);
    expect(off.t - paidAt).toBeLessThanOrEqual(3 * DAY_MS + 60_000);
  });
});

describe.each([
  ["nexus-full", 40],
  ["openpaygo", 32],
])("end to end: %s acceptance window", (protocol, fit) => {
  it("a code issued past the window is refused by the device, and the recovery path the ledger names works", async () => {
    const dir = scratch("e2e");
    const db = path.join(dir, "fleet.db");
    const provision = ["provision", "--protocol", protocol, "--count", "1", "--db", db, "--out", dir, "--random-keys"];
    expect((await solkey(provision)).code).toBe(0);
    const read = (name: string) => new Uint8Array(fs.readFileSync(path.join(dir, name)));
    const sim = new SimDevice({ provision: read("SK-00000001.bin"), journal: read("SK-00000001.journal.bin") });
    sim.powerOn();
    const issue = async (...args: string[]) =>
      solkey(["issue", "SK-00000001", "--days", "1", ...args, "--db", db, "--json"]);
    const outstanding: Issued[] = [];
    for (let i = 0; i < fit; i++) outstanding.push(JSON.parse((await issue()).stdout));
    const refused = await issue();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/outstanding codes oldest first/);
    const past = await issue("--past-window");
    expect(past.stderr).toMatch(/^warning: /);
    const late = JSON.parse(past.stdout) as Issued;

    sim.type(keysFor(protocol, false, late.keycode));
    expect(verdicts(sim.trace)).toEqual(["invalid"]);
    // Recovery: the outstanding codes oldest first, then the late one applies.
    // One entry per 12 minutes: Nexus's attempt limiter earns one attempt per 720 s of uptime.
    for (const code of [...outstanding, late]) {
      sim.wait(12 * 60_000);
      sim.type(keysFor(protocol, false, code.keycode));
    }
    expect(verdicts(sim.trace)).toEqual(["invalid", ...outstanding.map(() => "applied"), "applied"]);
  });
});

describe("solkey sim --provision", () => {
  it("loads the journal image beside the provisioning image, and still runs an older image without one", async () => {
    const dir = scratch("e2e");
    const provision = ["provision", "--protocol", "nexus-full", "--count", "2", "--random-keys"];
    expect((await solkey([...provision, "--db", path.join(dir, "f.db"), "--out", dir])).code).toBe(0);
    const script = path.join(dir, "query.txt");
    fs.writeFileSync(script, "power on\nkeys *#\n");
    const factory = fs.readFileSync(path.join(dir, "SK-00000001.journal.bin"));
    const sim = (name: string) =>
      solkey(["sim", "--dir", path.join(dir, name), "--provision", path.join(dir, `${name}.bin`), "--script", script]);
    const withJournal = await sim("SK-00000001");
    expect(withJournal.code).toBe(0);
    expect(JSON.parse(withJournal.stdout.split("\n")[0])).toMatchObject({ type: "boot", status: "ready" });
    expect(fs.readFileSync(path.join(dir, "SK-00000001", "journal.bin"))).toEqual(factory);
    // An image from before journal images: the device starts from an erased journal, as such devices do, and its
    // first boot writes the very record 1 the factory writes today (the v2 migration, docs/SPEC.md).
    const factory2 = fs.readFileSync(path.join(dir, "SK-00000002.journal.bin"));
    fs.rmSync(path.join(dir, "SK-00000002.journal.bin"));
    const without = await sim("SK-00000002");
    expect(without.code).toBe(0);
    expect(JSON.parse(without.stdout.split("\n")[0])).toMatchObject({ type: "boot", status: "ready" });
    expect(fs.readFileSync(path.join(dir, "SK-00000002", "journal.bin"))).toEqual(factory2);
  });
});
