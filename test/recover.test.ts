// `solkey recover` (ARCHITECTURE.md, Journal, "Recovering a corrupt device"): a device whose journal is corrupt comes
// up locked; the recovery image from the fleet database brings it back with the stated credit, every code issued
// before void, and codes issued after it applying as usual.
import Database from "better-sqlite3";
import fc from "fast-check";
import fs from "fs";
import path from "path";
import { fullDigits } from "../firmware/protocols/nexus/full";
import { nexusFull } from "../firmware/protocols/nexus/full_device";
import { smallSymbols } from "../firmware/protocols/nexus/small";
import { nexusSmall } from "../firmware/protocols/nexus/small_device";
import { TokenIssuer } from "../firmware/protocols/openpaygo/encoder";
import { openPaygo } from "../firmware/protocols/openpaygo/verifier";
import { SimDevice, type TraceEvent } from "../hosts/node/simdevice";
import { decodeProvision } from "../firmware/provision/record";
import { openFleet, SCHEMA_VERSION } from "../fleet/database";
import { recoveryState } from "../fleet/recovery";
import { ENGINES, ledgerFleets, rowsOf, type Engine } from "./engines.helpers";
import { scratch, solkey } from "./fleet.helpers";

const DAY = 86400;
/** Nexus's attempt limiter earns one attempt per 720 s of uptime: one entry per 12 minutes never meets it. */
const BETWEEN_ENTRIES_MS = 12 * 60_000;

interface Issued {
  keycode: string;
  seconds: number | null;
  /** null for codes that spend no ID: tests and the small keypad's wipes. */
  seq: number;
}

const keysFor = (protocol: string, restricted: boolean, keycode: string) =>
  protocol === "openpaygo" && !restricted ? `*${keycode}#` : keycode;

const verdicts = (trace: readonly TraceEvent[]) =>
  trace.flatMap((e) =>
    e.type === "feedback" && ["applied", "duplicate", "invalid", "locked_out", "rejected"].includes(e.pattern)
      ? [e.pattern]
      : [],
  );

const lastCredit = (trace: readonly TraceEvent[]) => {
  const event = trace.filter((e) => e.type === "credit").pop();
  return event?.type === "credit" ? event.seconds : undefined;
};

/** NOR programming can only clear bits: every record's bits fall to 0 (magic and CRC gone), erased bytes stay. */
const corrupt = (journal: Uint8Array) => journal.map((b) => (b === 0xff ? 0xff : 0));

const read = (file: string) => new Uint8Array(fs.readFileSync(file));

/**
 * One device provisioned by `solkey provision` into a new fleet: its factory images, `issue` (through `solkey issue`)
 * and `type` (its keys on a simulated device, 12 minutes after the last entry).
 */
async function provisionedDevice(engine: Engine, protocol: string, options: string[] = []) {
  const dir = scratch("recover");
  const { db, env } = await fleets.empty(engine);
  const run = (args: string[]) => solkey(args, env);
  const out = path.join(dir, "img");
  const provision = ["provision", "--protocol", protocol, ...options, "--count", "1", "--random-keys"];
  expect((await run([...provision, "--db", db, "--out", out])).code).toBe(0);
  const restricted = options.includes("--restricted");
  return {
    dir,
    db,
    run,
    image: read(path.join(out, "SK-00000001.bin")),
    journal: read(path.join(out, "SK-00000001.journal.bin")),
    async issue(...args: string[]): Promise<Issued> {
      const r = await run(["issue", "SK-00000001", ...args, "--db", db, "--json"]);
      expect([args, r.code, r.stderr]).toEqual([args, 0, ""]);
      return JSON.parse(r.stdout) as Issued;
    },
    type(sim: SimDevice, code: Issued): void {
      sim.wait(BETWEEN_ENTRIES_MS);
      sim.type(keysFor(protocol, restricted, code.keycode));
    },
  };
}

/** Powers on a simulated device from `journal`; it must boot `status` (ready, locked). */
function bootFrom(image: Uint8Array, journal: Uint8Array, status: string): SimDevice {
  const sim = new SimDevice({ provision: image, journal });
  sim.powerOn();
  expect(sim.trace.find((e) => e.type === "boot")).toMatchObject({ status });
  return sim;
}

const fleets = ledgerFleets();

describe.each(ENGINES)("on %s", (engine) => {
  describe.each([
    ["nexus-full", []],
    ["nexus-small", []],
    ["openpaygo", []],
    ["openpaygo", ["--restricted"]],
  ] as [string, string[]][])("solkey recover: %s %j", (protocol, options) => {
    it("a device locked by a corrupt journal, recovered with the image, takes the next code and refuses every older one", async () => {
      const { dir, db, run, image, journal, issue, type } = await provisionedDevice(engine, protocol, options);

      // Eight codes issued, the first three typed; then the journal's records are destroyed.
      const amounts = [
        ["--days", "1"],
        ["--days", "1"],
        ["--days", "2", "--set"],
        ["--days", "1"],
        ["--days", "3"],
      ];
      const issued: Issued[] = [];
      for (let i = 0; i < 8; i++) issued.push(await issue(...amounts[i % amounts.length], "--ref", `PAY-${i}`));
      const before = bootFrom(image, journal, "ready");
      for (const code of issued.slice(0, 3)) type(before, code);
      expect(verdicts(before.trace)).toEqual(["applied", "applied", "applied"]);
      expect((await run(["issue", "SK-00000001", "--entered", issued[2].keycode, "--db", db])).code).toBe(0);
      before.powerOff();

      const locked = bootFrom(image, corrupt(before.images().journal), "locked");
      type(locked, issued[3]);
      expect(new Set(verdicts(locked.trace))).toEqual(new Set(["rejected"])); // every key
      expect(locked.loadPin()).toBe(false);

      const r = await run(["recover", "SK-00000001", "--credit-days", "2", "--db", db, "--out", dir, "--json"]);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ issuedSeq: issued[7].seq, enteredSeqBefore: issued[2].seq });
      expect(report.outstanding.codes).toBe(5);
      const recovered = read(report.files[0]);
      const boot = () => bootFrom(image, recovered, "ready");
      const fresh = boot();
      expect(lastCredit(fresh.trace)).toBe(2 * DAY);
      expect(fresh.loadPin()).toBe(true);

      // Exhaustive over the codes issued before the recovery: each refused on a freshly recovered device...
      for (const code of issued) {
        const sim = boot();
        type(sim, code);
        expect(verdicts(sim.trace)).toHaveLength(1);
        expect(verdicts(sim.trace)).not.toContain("applied");
      }
      // ...and all of them in a row on one, after which the next code issued (inside the window again) applies.
      const sim = boot();
      for (const code of issued) type(sim, code);
      expect(verdicts(sim.trace)).not.toContain("applied");
      const next = await issue("--days", "1", "--ref", "PAY-after");
      expect(next.seq).toBeGreaterThan(issued[7].seq);
      type(sim, next);
      expect(verdicts(sim.trace).pop()).toBe("applied");
      const credit = lastCredit(sim.trace) as number;
      const elapsed = (issued.length + 1) * (BETWEEN_ENTRIES_MS / 1000);
      expect(credit).toBeGreaterThanOrEqual(3 * DAY - elapsed - 60);
      expect(credit).toBeLessThanOrEqual(3 * DAY);

      const rows = rowsOf(db);
      expect(await rows("SELECT device_id, issued_seq, credit_seconds, unlocked FROM recoveries")).toEqual([
        { device_id: 1, issued_seq: issued[7].seq, credit_seconds: 2 * DAY, unlocked: 0 },
      ]);
      expect(await rows("SELECT entered_seq FROM devices")).toEqual([{ entered_seq: issued[7].seq }]);
    });
  });

  /**
   * Every kind of code a device can be given, as `solkey issue` arguments, or `solkey keycode` ones after "keycode" (the
   * support path: the ledger never issues ID wipes); the first `typed` are entered before the journal is lost (issue
   * 12 #5: the small keypad's wipe codes, constant per device, must stay spent after a recovery).
   */
  const VOCABULARY: Record<string, { readonly issue: string[][]; readonly typed: number }> = {
    "nexus-small": {
      issue: [
        ["--days", "1"],
        ["keycode", "--wipe", "ids"],
        ["--days", "2"],
        ["--wipe", "credit"],
        ["--days", "1"],
        ["--test", "60"],
        ["--days", "3", "--set"],
        ["keycode", "--wipe", "credit_and_ids"], // never typed: the recovery spends it too
        ["--test", "2"],
        ["--lock"],
        ["--days", "2"],
      ],
      typed: 7,
    },
    "nexus-full": {
      issue: [
        ["--days", "1"],
        ["--wipe", "credit"],
        ["--hours", "5"],
        ["--test", "10"],
        ["--days", "2", "--set"],
        ["--wipe", "restricted_flag"],
        ["--lock"],
        ["--days", "3"],
        ["--unlock"],
      ],
      typed: 6,
    },
    openpaygo: {
      issue: [
        ["--days", "1"],
        ["--days", "2", "--set"],
        ["--counter-sync"],
        ["--days", "1"],
        ["--lock"],
        ["--days", "3"],
        ["--unlock"],
      ],
      typed: 5,
    },
  };

  describe.each(Object.keys(VOCABULARY))("solkey recover, end to end over every kind of code: %s", (protocol) => {
    it("no code issued before the recovery applies on the recovered device, typed or not, wipes included", async () => {
      const { issue: requests, typed } = VOCABULARY[protocol];
      const { dir, db, run, image, journal, issue, type } = await provisionedDevice(engine, protocol);
      const mounted = decodeProvision(image);
      if (mounted.kind !== "provisioned") throw new Error(`the factory image reads ${mounted.kind}`);
      const keyFile = path.join(dir, "device.key");
      fs.writeFileSync(keyFile, Buffer.from(mounted.record.key).toString("hex"));
      const issued: Issued[] = [];
      for (const [i, args] of requests.entries()) {
        if (args[0] !== "keycode") {
          issued.push(await issue(...args, "--ref", `PAY-${i}`));
          continue;
        }
        const r = await solkey(["keycode", "--protocol", protocol, "--key-file", keyFile, ...args.slice(1), "--json"]);
        expect([args, r.code, r.stderr]).toEqual([args, 0, ""]);
        issued.push(JSON.parse(r.stdout) as Issued);
      }

      const before = bootFrom(image, journal, "ready");
      for (const code of issued.slice(0, typed)) type(before, code);
      // The wipes typed were spent on the device before its journal was lost.
      const wipesTyped = requests.slice(0, typed).flatMap((args, i) => (args.includes("--wipe") ? [i] : []));
      const seen = verdicts(before.trace);
      expect(wipesTyped.map((i) => seen[i])).toEqual(wipesTyped.map(() => "applied"));
      const entered = issued
        .slice(0, typed)
        .filter((c) => c.seq !== null)
        .pop() as Issued;
      expect((await run(["issue", "SK-00000001", "--entered", entered.keycode, "--db", db])).code).toBe(0);
      before.powerOff();
      bootFrom(image, corrupt(before.images().journal), "locked");

      const r = await run(["recover", "SK-00000001", "--credit-days", "2", "--db", db, "--out", dir, "--json"]);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      const recovered = read(JSON.parse(r.stdout).files[0]);
      const boot = () => bootFrom(image, recovered, "ready");
      // Each earlier code alone on a freshly recovered device, then all of them in a row on one.
      for (const [i, code] of issued.entries()) {
        const sim = boot();
        type(sim, code);
        expect([requests[i], verdicts(sim.trace)]).toEqual([requests[i], [expect.not.stringMatching(/^applied$/)]]);
      }
      const sim = boot();
      for (const code of issued) type(sim, code);
      expect(verdicts(sim.trace)).not.toContain("applied");
      expect(lastCredit(sim.trace)).toBeGreaterThan(DAY); // no wipe took the 2 days stated at the recovery
      type(sim, await issue("--days", "1", "--ref", "PAY-next"));
      expect(verdicts(sim.trace).pop()).toBe("applied");
    });
  });

  describe("solkey recover: refusals", () => {
    /** A fleet of one device (nexus-full unless `profile`); `solkey` runs a command with the fleet's environment. */
    async function fleet(profile = ["--protocol", "nexus-full"]) {
      const dir = scratch("recover");
      const { db, env } = await fleets.empty(engine);
      const run = (args: string[]) => solkey(args, env);
      const provision = ["provision", ...profile, "--count", "1", "--random-keys", "--db", db];
      expect((await run([...provision, "--out", dir])).code).toBe(0);
      return { dir, db, solkey: run };
    }
    const rows = async (db: string) => (await rowsOf(db)("SELECT count(*) AS n FROM recoveries"))[0];

    it.each([
      [[], /say what the device is owed, exactly once: --credit-days N or --credit-hours N/],
      [["--credit-days", "2", "--credit-hours", "5"], /exactly once/],
      [["--credit-days", "2", "--unlocked"], /exactly once/],
      [["--credit-days", "two"], /--credit-days expected a whole number 0\.\.36500/],
    ])("refuses %j with exit 2, one line, and nothing recorded", async (args, message) => {
      const { dir, db, solkey } = await fleet();
      const r = await solkey(["recover", "SK-00000001", ...(args as string[]), "--db", db, "--out", dir]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(await rows(db)).toEqual({ n: 0 });
    });

    it("names `solkey provision` for an unknown device", async () => {
      const { dir, db, solkey } = await fleet();
      const r = await solkey(["recover", "SK-99999999", "--credit-days", "1", "--db", db, "--out", dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/device SK-99999999 is not in .*Run `solkey provision` first/);
    });

    it("leaves no row and no file when the image cannot be placed, and warns at a second recovery", async () => {
      const { dir, db, solkey } = await fleet();
      const out = path.join(dir, "rec");
      const args = ["recover", "SK-00000001", "--credit-hours", "0", "--db", db, "--out", out];
      expect(await solkey(args)).toMatchObject({ code: 0, stderr: "" });
      const files = fs.readdirSync(out).sort();
      expect(files).toEqual(["SK-00000001.journal.bin"]);
      const again = await solkey(args);
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/SK-00000001.journal.bin exists/);
      expect(fs.readdirSync(out).sort()).toEqual(files);
      expect(await rows(db)).toEqual({ n: 1 });
      const second = await solkey([...args.slice(0, -1), path.join(dir, "rec2")]);
      expect(second.code).toBe(0);
      expect(second.stderr).toMatch(/^warning: SK-00000001 was recovered before .*replace the controller/);
      expect(await rows(db)).toEqual({ n: 2 });
    });

    it("answers an --out that is an existing file with one line and exit 2, not a stack trace, and records nothing", async () => {
      const { dir, db, solkey } = await fleet();
      const taken = path.join(dir, "taken");
      fs.writeFileSync(taken, "not a directory");
      const r = await solkey(["recover", "SK-00000001", "--credit-days", "1", "--db", db, "--out", taken]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toEqual([
        `solkey: --out expected a directory, but ${taken} is a file; pass another --out`,
      ]);
      expect(fs.readFileSync(taken, "utf8")).toBe("not a directory");
      expect(await rows(db)).toEqual({ n: 0 });
    });

    it("writes an nRF52 recovery as an Intel HEX of the journal pages only", async () => {
      const { dir, db, solkey } = await fleet(["--protocol", "openpaygo", "--board", "nrf52"]);
      const r = await solkey(["recover", "SK-00000001", "--unlocked", "--db", db, "--out", dir, "--json"]);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.files).toEqual([path.join(dir, "SK-00000001.journal.hex")]);
      expect(report.flash).toMatch(
        /nrfjprog .*--readcode .*nrfjprog .*--program .*SK-00000001.journal.hex --sectorerase/,
      );
      const lines = fs.readFileSync(report.files[0], "utf8").trim().split("\n");
      expect(lines[0]).toBe(":02000004000EEC");
      expect(lines[1].slice(3, 7)).toBe("C000"); // 0xEC000: the journal's first page
      expect(lines).toHaveLength(1 + 0x2000 / 16 + 1); // the two pages, nothing of the provisioning page at 0xEE000
    });
  });
});

describe("recovery state", () => {
  const key = new Uint8Array(16).fill(9);

  it("Nexus: every message ID up to the highest issued is refused, every ID in the 40 above it applies", () => {
    const protocol = nexusFull({ key });
    fc.assert(
      fc.property(
        fc.integer({ min: 23, max: 0xffffffff - 41 }),
        fc.nat(400),
        fc.integer({ min: 1, max: 40 }),
        (issued, back, ahead) => {
          const state = recoveryState(protocol, issued, { kind: "credit", seconds: 0 }).protocol;
          const old = fullDigits({ type: "add_credit", key, id: Math.max(0, issued - back), hours: 1 });
          const fresh = fullDigits({ type: "add_credit", key, id: issued + ahead, hours: 1 });
          expect(protocol.verify(state, old).kind).not.toBe("applied");
          expect(protocol.verify(state, fresh).kind).toBe("applied");
        },
      ),
    );
  });

  it("Nexus: the public test codes (allow-test, short test) give a recovered unit nothing", () => {
    const full = nexusFull({ key });
    const allowTest = fullDigits({ type: "allow_test" });
    expect(full.verify(recoveryState(full, 100, { kind: "credit", seconds: 0 }).protocol, allowTest).kind).toBe(
      "duplicate",
    );
    const small = nexusSmall({ key });
    const shortTest = smallSymbols({ type: "short_test" });
    expect(small.verify(recoveryState(small, 100, { kind: "credit", seconds: 0 }).protocol, shortTest).kind).toBe(
      "duplicate",
    );
  });

  it("Nexus small: the wipe-IDs, wipe-credit-and-IDs and wipe-credit codes are spent by a recovery (issue 12 #5)", () => {
    const small = nexusSmall({ key });
    const state = recoveryState(small, 100, { kind: "credit", seconds: 0 }).protocol;
    for (const type of ["wipe_ids", "wipe_credit_and_ids", "wipe_credit"] as const)
      expect(small.verify(state, smallSymbols({ type, key })).kind).toBe("duplicate");
    // Every lifetime flag of the state, including any added later: a recovery must spend it.
    const flags = Object.entries(state).filter(([name, value]) => typeof value === "boolean" && name !== "restricted");
    expect(flags.length).toBeGreaterThanOrEqual(3);
    expect(flags.filter(([, value]) => value !== true)).toEqual([]);
  });

  it("OpenPAYGO: every count up to the highest issued is refused, the next count of either type applies", () => {
    const startingCode = 123456789;
    const protocol = openPaygo({ key, startingCode, timeDivider: 1, restricted: false });
    const issuer = new TokenIssuer({ key, startingCode });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600 }), fc.nat(600), fc.boolean(), (issued, back, add) => {
        const state = recoveryState(protocol, issued, { kind: "unlocked" }).protocol;
        const type = add ? "add_time" : "set_time";
        const old = issuer.issue({ count: Math.max(0, issued - back - 2), type, value: 5 });
        if (old.count <= issued) expect(protocol.verify(state, old.token).kind).not.toBe("applied");
        expect(protocol.verify(state, issuer.issue({ count: issued, type, value: 5 }).token).kind).toBe("applied");
      }),
      { numRuns: 200 },
    );
  });
});

describe("fleet database schema 2", () => {
  it("migrates a schema-1 fleet (before recoveries) keeping its devices", async () => {
    const dir = scratch("recover");
    const db = path.join(dir, "fleet.db");
    const provision = ["provision", "--protocol", "nexus-full", "--count", "3", "--random-keys", "--db", db];
    expect((await solkey([...provision, "--out", dir])).code).toBe(0);
    const old = new Database(db);
    old.exec("DROP TABLE audit; DROP TABLE api_keys"); // schema 6 (the operator API)
    old.exec("DROP TABLE sms_inbound; DROP TABLE sms_events; DROP TABLE sms_outbox"); // schema 5 (the SMS outbox)
    old.exec("DROP TABLE payments; DROP TABLE accounts; DROP TABLE plans; DROP TABLE recoveries"); // back to schema 1
    old.pragma("user_version = 1");
    old.close();
    const opened = openFleet(db);
    expect(opened.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(opened.prepare("SELECT count(*) AS n FROM devices").get()).toEqual({ n: 3 });
    expect(opened.prepare("SELECT count(*) AS n FROM recoveries").get()).toEqual({ n: 0 });
    opened.close();
  });
});
