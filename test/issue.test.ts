// The issuing ledger and `solkey issue` / `solkey keycode`: codes that the device's own verifier applies, IDs and
// counts never reused, one code per payment reference, the acceptance window, and clean refusals.
import fc from "fast-check";
import fs from "fs";
import path from "path";
import { hexToBytes } from "../firmware/hex";
import { nexusFull } from "../firmware/protocols/nexus/full_device";
import { nexusSmall } from "../firmware/protocols/nexus/small_device";
import { encodeToken } from "../firmware/protocols/openpaygo/encoder";
import { MAX_COUNT } from "../firmware/protocols/openpaygo/replay";
import { openPaygo } from "../firmware/protocols/openpaygo/verifier";
import type { KeycodeProtocol } from "../firmware/protocols/protocol";
import type { ProvisionRecord } from "../firmware/provision/record";
import { SolkeyError, UsageError } from "../fleet/errors";
import { encodeCode, tokenIssuer, WALK_STEP, type CodeRequest } from "../fleet/codes";
import { MAX_KEYCODE_COUNT } from "../tools/commands/keycode";
import { openFleet } from "../fleet/database";
import { provisionBatch } from "../fleet/devices";
import { Ledger, type IssuedCode } from "../fleet/ledger";
import { redacted } from "../fleet/pgdb";
import { IssueQueue } from "../fleet/queue";
import { makeProfile, type ProfileOptions } from "../fleet/profile";
import { ENGINES, ledgerFleets } from "./engines.helpers";
import { scratch, solkey } from "./fleet.helpers";
import { readVectors } from "./vectors";

const DAY = 86400;

const fleets = ledgerFleets();

/** The device-side verifier for a provisioned record, taking keycodes as printed. */
function deviceFor(record: ProvisionRecord): {
  apply(keycode: string): ReturnType<KeycodeProtocol<unknown>["verify"]>;
} {
  let protocol: KeycodeProtocol<unknown>;
  let entry: (keycode: string) => string;
  if (record.protocol === "openpaygo") {
    protocol = openPaygo(record) as KeycodeProtocol<unknown>;
    entry = (k) => k;
  } else if (record.protocol === "nexus-full") {
    protocol = nexusFull({ key: record.key, deviceId: record.deviceId }) as KeycodeProtocol<unknown>;
    entry = (k) => k.replace(/[*# ]/g, "");
  } else {
    protocol = nexusSmall({ key: record.key }) as KeycodeProtocol<unknown>;
    entry = (k) => k.replace(/ /g, "").slice(1);
  }
  let state = protocol.initialState();
  return {
    apply(keycode) {
      const verdict = protocol.verify(state, entry(keycode));
      if (verdict.kind === "applied") state = verdict.state;
      return verdict;
    },
  };
}

describe.each(ENGINES)("on %s", (engine) => {
  describe.each([
    ["nexus-full", { protocol: "nexus-full" }],
    ["nexus-small", { protocol: "nexus-small" }],
    ["openpaygo", { protocol: "openpaygo", timeDivider: "24" }],
    ["openpaygo extended", { protocol: "openpaygo", extended: true }],
  ] as [string, ProfileOptions][])("ledger codes for %s", (_name, profile) => {
    it("are each applied once by the device's verifier, for the credit recorded", async () => {
      const { ledger, devices } = await fleets.ledger(engine, profile);
      const device = deviceFor(devices[0].record);
      const requests: CodeRequest[] = [
        { kind: "add", seconds: 7 * DAY },
        { kind: "add", seconds: 30 * DAY },
        { kind: "set", seconds: 2 * DAY },
        { kind: "add", seconds: 7 * DAY },
        { kind: "lock" },
        { kind: "unlock" },
      ];
      for (const code of requests) {
        const issued = await ledger.issue({ device: "SK-00000001", code });
        const verdict = device.apply(issued.keycode);
        expect(verdict.kind).toBe("applied");
        if (verdict.kind !== "applied") continue;
        const action = verdict.action;
        if (code.kind === "unlock") expect(action.type).toBe("unlock");
        else
          expect(action).toEqual({ type: code.kind === "add" ? "add_credit" : "set_credit", seconds: issued.seconds });
        if (code.kind === "add" || code.kind === "set") expect(issued.seconds).toBeGreaterThanOrEqual(code.seconds);
        expect(device.apply(issued.keycode).kind).toBe("duplicate");
      }
    });
  });

  describe("ledger", () => {
    it("never issues one ID or count twice and gives each payment reference one code, whatever the requests", async () => {
      const ops = fc.array(
        fc.record({
          device: fc.constantFrom("SK-00000001", "SK-00000002"),
          days: fc.integer({ min: 1, max: 30 }),
          ref: fc.option(fc.constantFrom("A", "B", "C", "D"), { nil: undefined }),
          set: fc.boolean(),
        }),
        { maxLength: 40 },
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom("nexus-full", "openpaygo"), ops, async (protocol, requests) => {
          const { ledger, rows: query } = await fleets.ledger(engine, { protocol }, 2);
          const byRef = new Map<string, string>();
          for (const r of requests) {
            const code: CodeRequest = { kind: r.set ? "set" : "add", seconds: r.days * DAY };
            try {
              const issued = await ledger.issue({ device: r.device, code, paymentRef: r.ref, pastWindow: true });
              if (r.ref !== undefined) {
                expect(byRef.get(r.ref) ?? issued.keycode).toBe(issued.keycode);
                byRef.set(r.ref, issued.keycode);
              }
            } catch (e) {
              // Only a reference reused for another request may be refused.
              expect((e as Error).message).toMatch(/one receipt cannot pay for two codes/);
              expect(byRef.has(r.ref as string)).toBe(true);
            }
          }
          const rows = await query<{ device_id: number; seq: number }>(
            "SELECT device_id, seq FROM codes ORDER BY code_id",
          );
          for (const id of [1, 2]) {
            const seqs = rows.filter((row) => row.device_id === id).map((row) => row.seq);
            expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
            expect(new Set(seqs).size).toBe(seqs.length);
          }
          expect(rows.length).toBe(new Set(requests.map((r) => r.ref ?? Symbol())).size);
        }),
        { numRuns: 25 },
      );
    });

    it.each<[string, ProfileOptions, CodeRequest, string]>([
      ["counter sync", { protocol: "openpaygo" }, { kind: "counter_sync" }, "none"],
      ["a credit wipe", { protocol: "nexus-full" }, { kind: "wipe", target: "credit" }, "set_credit"],
      [
        "a restricted-flag wipe",
        { protocol: "nexus-full" },
        { kind: "wipe", target: "restricted_flag" },
        "clear_restricted_flag",
      ],
      [
        "a restricted-flag clear",
        { protocol: "nexus-small" },
        { kind: "wipe", target: "restricted_flag" },
        "clear_restricted_flag",
      ],
      ["a credit wipe", { protocol: "nexus-small" }, { kind: "wipe", target: "credit" }, "set_credit"],
    ])("issues %s on %j that the device applies", async (_name, profile, code, action) => {
      const { ledger, devices } = await fleets.ledger(engine, profile);
      const device = deviceFor(devices[0].record);
      const issued = await ledger.issue({ device: "SK-00000001", code });
      const verdict = device.apply(issued.keycode);
      expect(verdict.kind === "applied" && verdict.action.type).toBe(action);
    });

    it("reads each device's last ID fresh, so two connections issuing in turn never collide", async () => {
      const { db, env, ledger } = await fleets.ledger(engine, { protocol: "nexus-full" });
      const second = await Ledger.open(db, { env });
      const add = { device: "SK-00000001", code: { kind: "add", seconds: DAY } as CodeRequest };
      const seqs: (number | null)[] = [];
      for (let i = 0; i < 10; i++) seqs.push((await (i % 2 === 0 ? ledger : second).issue(add)).seq);
      expect(seqs).toEqual(Array.from({ length: 10 }, (_, i) => 24 + i));
      await second.close();
    });

    it("serialises concurrent issuers of one device (PostgreSQL: its row locked), so none collide or fail", async () => {
      const { db, env, ledger } = await fleets.ledger(engine, { protocol: "nexus-full" });
      const second = await Ledger.open(db, { env });
      const add = (i: number) => ({
        device: "SK-00000001",
        code: { kind: "add", seconds: DAY } as CodeRequest,
        paymentRef: `RACE-${i}`,
      });
      const issued = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? ledger : second).issue(add(i))));
      expect(issued.map((c) => c.seq).sort((a, b) => (a as number) - (b as number))).toEqual(
        Array.from({ length: 16 }, (_, i) => 24 + i),
      );
      await second.close();
    });

    it("returns the same code for a payment reference asked again, without spending an ID", async () => {
      const { ledger } = await fleets.ledger(engine, { protocol: "nexus-full" });
      const first = await ledger.issue({
        device: "SK-00000001",
        code: { kind: "add", seconds: 7 * DAY },
        paymentRef: "MPESA-1",
      });
      const again = await ledger.issue({
        device: "SK-00000001",
        code: { kind: "add", seconds: 7 * DAY },
        paymentRef: "MPESA-1",
      });
      expect(again).toEqual({ ...first, replayed: true });
      expect((await ledger.device("SK-00000001")).issuedSeq).toBe(first.seq);
      await expect(
        ledger.issue({ device: "SK-00000001", code: { kind: "add", seconds: 8 * DAY }, paymentRef: "MPESA-1" }),
      ).rejects.toThrow(UsageError);
    });

    it.each([
      ["nexus-full", 40, {}],
      ["openpaygo", 32, {}],
    ])("refuses the code past %s's window (%i add codes) and names the recovery path", async (protocol, fit) => {
      const { ledger } = await fleets.ledger(engine, { protocol });
      const add = { device: "SK-00000001", code: { kind: "add", seconds: DAY } as CodeRequest };
      const issued: IssuedCode[] = [];
      for (let i = 0; i < fit; i++) issued.push(await ledger.issue(add));
      await expect(ledger.issue(add)).rejects.toThrow(SolkeyError);
      await expect(ledger.issue(add)).rejects.toThrow(
        /outstanding codes oldest first.*--entered KEYCODE.*--past-window/,
      );
      expect((await ledger.device("SK-00000001")).issuedSeq).toBe(issued[fit - 1].seq);
      // The customer entered the tenth code: the window moves up from it.
      expect((await ledger.markEntered("SK-00000001", issued[9].keycode)).enteredSeq).toBe(issued[9].seq);
      expect((await ledger.issue(add)).warning).toBeNull();
      // Past the window on request: issued, with the warning.
      const forced: IssuedCode[] = [];
      for (let i = 0; i < 12; i++) forced.push(await ledger.issue({ ...add, pastWindow: true }));
      expect(forced.some((c) => c.warning !== null)).toBe(true);
    });

    it("issues every line of a batch in one transaction, or none of them", async () => {
      const { db, ledger, rows } = await fleets.ledger(engine, { protocol: "nexus-full" }, 3);
      const good = (device: string) => ({ device, code: { kind: "add", seconds: DAY } as CodeRequest });
      const where = redacted(db);
      await expect(ledger.issueMany([good("SK-00000001"), good("SK-00000002"), good("SK-99999999")])).rejects.toThrow(
        `request 3 (SK-99999999): device SK-99999999 is not in ${where}. Run \`solkey provision\` first`,
      );
      expect(await rows("SELECT count(*) AS n FROM codes")).toEqual([{ n: 0 }]);
      const issued = await ledger.issueMany([good("SK-00000001"), good("SK-00000001"), good("3")]);
      expect(issued.map((c) => c.seq)).toEqual([24, 25, 24]);
    });

    it.each<[string, ProfileOptions, CodeRequest, RegExp]>([
      [
        "a test code on OpenPAYGO",
        { protocol: "openpaygo" },
        { kind: "test", minutes: 10 },
        /openpaygo has no test codes/,
      ],
      [
        "a wipe on OpenPAYGO",
        { protocol: "openpaygo" },
        { kind: "wipe", target: "credit" },
        /openpaygo has no wipe codes/,
      ],
      ["counter sync on Nexus", { protocol: "nexus-full" }, { kind: "counter_sync" }, /nexus-full has no counter-sync/],
      [
        "996 days on extended OpenPAYGO",
        { protocol: "openpaygo", extended: true },
        { kind: "add", seconds: 996 * DAY },
        /reserved|cannot be issued exactly/,
      ],
      [
        "1,000 days on standard OpenPAYGO",
        { protocol: "openpaygo" },
        { kind: "add", seconds: 1000 * DAY },
        /too large/,
      ],
      ["100,000 hours on nexus-full", { protocol: "nexus-full" }, { kind: "add", seconds: 100000 * 3600 }, /too large/],
      ["406 days on nexus-small", { protocol: "nexus-small" }, { kind: "add", seconds: 406 * DAY }, /too large/],
      [
        "an ID wipe from the ledger",
        { protocol: "nexus-full" },
        { kind: "wipe", target: "ids" },
        /never wipes message IDs/,
      ],
    ])("refuses %s and records nothing", async (_name, profile, code, message) => {
      const { ledger, rows } = await fleets.ledger(engine, profile);
      await expect(ledger.issue({ device: "SK-00000001", code })).rejects.toThrow(message);
      expect(await rows("SELECT count(*) AS n FROM codes")).toEqual([{ n: 0 }]);
      expect((await ledger.device("SK-00000001")).issuedSeq).toBe(profile.protocol === "openpaygo" ? 1 : 23);
    });

    it("issues test codes without spending an ID (the published 60-minute QC code)", async () => {
      const { ledger } = await fleets.ledger(engine, { protocol: "nexus-full" });
      const row = readVectors<{ type: string; minutes?: number; keycode: string }>("nexus.jsonl").find(
        (r) => r.type === "qc_test" && r.minutes === 60,
      );
      const test = await ledger.issue({ device: "SK-00000001", code: { kind: "test", minutes: 60 } });
      expect([test.seq, test.keycode]).toEqual([null, row?.keycode]);
      expect((await ledger.device("SK-00000001")).issuedSeq).toBe(23);
    });
  });
});

describe("group commit (IssueQueue)", () => {
  it("settles each request after its commit, refusing only the bad ones", async () => {
    const file = path.join(scratch("ledger"), "fleet.db");
    const db = openFleet(file, { create: true });
    provisionBatch(db, file, { profile: makeProfile({ protocol: "openpaygo" }), count: 3, master: null });
    const queue = new IssueQueue(db, file, 64);
    const reader = openFleet(file);
    const committed = (keycode: string) =>
      reader.prepare("SELECT count(*) AS n FROM codes WHERE keycode = ?").get(keycode);
    const devices = ["SK-00000001", "SK-00000002", "SK-00000003", "SK-00000404"];
    const settled = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        queue.issue({ device: devices[i % 4], code: { kind: "add", seconds: DAY }, pastWindow: true }).then((c) => {
          expect(committed(c.keycode)).toEqual({ n: 1 }); // visible to another connection: on disk
          return c;
        }),
      ),
    );
    const refused = settled.filter((r) => r.status === "rejected");
    expect(refused).toHaveLength(50);
    expect(refused.every((r) => /SK-00000404 is not in/.test(String((r as PromiseRejectedResult).reason)))).toBe(true);
    for (const id of [1, 2, 3]) {
      const seqs = (
        db.prepare("SELECT seq FROM codes WHERE device_id = ? ORDER BY seq").all(id) as { seq: number }[]
      ).map((r) => r.seq);
      expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => 2 + 2 * i));
    }
    reader.close();
    db.close();
  });
});

describe.each(ENGINES)("solkey issue on %s", (engine) => {
  /** Two devices provisioned by `solkey provision` into a fresh fleet; the environment the fleet needs. */
  async function provisioned(protocol = "nexus-full"): Promise<{ db: string; env: Record<string, string> }> {
    const dir = scratch("issue");
    const { db, env } = await fleets.empty(engine);
    const args = ["provision", "--protocol", protocol, "--count", "2", "--db", db, "--out", dir, "--random-keys"];
    const r = await solkey(args, env);
    expect(r.code).toBe(0);
    return { db, env };
  }

  it("prints the code, and JSON for scripts", async () => {
    const { db, env } = await provisioned();
    const text = await solkey(["issue", "SK-00000001", "--days", "7", "--ref", "R1", "--db", db], env);
    expect(text).toMatchObject({ code: 0, stderr: "" });
    expect(text.stdout).toMatch(/^SK-00000001  \*\d{3} \d{3} \d{3} \d{3} \d{2}#  add 168 hours = 7 days \(ID 24\)\n$/);
    const json = await solkey(["issue", "SK-00000001", "--days", "7", "--ref", "R1", "--db", db, "--json"], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ serial: "SK-00000001", seq: 24, replayed: true, seconds: 7 * DAY });
  });

  it("uses named packages and defines new ones", async () => {
    const { db, env } = await provisioned();
    expect((await solkey(["issue", "--define-package", "evening=4h", "--db", db], env)).code).toBe(0);
    const r = await solkey(["issue", "SK-00000002", "--package", "evening", "--db", db, "--json"], env);
    expect(JSON.parse(r.stdout)).toMatchObject({ units: 4, seconds: 4 * 3600 });
    const missing = await solkey(["issue", "SK-00000002", "--package", "decade", "--db", db], env);
    expect(missing.stderr.trim()).toBe(
      'solkey: no package "decade"; packages: evening, day, week, month (add one with --define-package NAME=7d)',
    );
  });

  it("issues a batch file and records what was entered", async () => {
    const { db, env } = await provisioned();
    const file = path.join(scratch("batch"), "payments.csv");
    fs.writeFileSync(file, "device,amount,payment_ref\nSK-00000001,7d,P1\nSK-00000002,week,P2\nSK-00000001,12h,\n");
    const r = await solkey(["issue", "--batch", file, "--db", db, "--json"], env);
    const codes = JSON.parse(r.stdout);
    expect(codes.map((c: { seq: number }) => c.seq)).toEqual([24, 24, 25]);
    const entered = await solkey(["issue", "SK-00000001", "--entered", codes[2].keycode, "--db", db], env);
    expect(entered.stdout).toBe("SK-00000001: 25 recorded as entered; highest applied 25\n");
    const history = await solkey(["issue", "SK-00000001", "--history", "--db", db], env);
    expect(history.stdout).toMatch(/add 12 hours = 0.5 days \(ID 25\)  entered/);
  });

  it.each([
    [["SK-00000404", "--days", "1"], 2, /^solkey: device SK-00000404 is not in .*Run `solkey provision` first$/],
    [["SK-00000001"], 2, /^solkey: adding credit needs --days, --hours or --package$/],
    [["SK-00000001", "--days", "1", "--hours", "2"], 2, /^solkey: give one amount: --days, --hours or --package$/],
    [["SK-00000001", "--days", "-3"], 2, /^solkey: --days expected a whole number from 1 up to 100 years, got "-3"$/],
    [["SK-00000001", "--unlock", "--lock"], 2, /^solkey: give one of --set, --unlock/],
    [["SK-00000001", "--counter-sync"], 2, /^solkey: nexus-full has no counter-sync codes/],
  ])("refuses %j in one line", async (args, code, message) => {
    const { db, env } = await provisioned();
    const r = await solkey(["issue", ...(args as string[]), "--db", db], env);
    expect(r.code).toBe(code);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
  });
});

describe("solkey issue on a fleet file", () => {
  it("refuses a corrupt database with exit 1 and one line", async () => {
    const db = path.join(scratch("issue"), "fleet.db");
    fs.writeFileSync(db, Buffer.alloc(4096, 1));
    const r = await solkey(["issue", "SK-00000001", "--days", "1", "--db", db]);
    expect(r).toMatchObject({
      code: 1,
      stderr: `solkey: ${db} is not a readable fleet database (corrupt?); restore it from a backup\n`,
    });
  });
});

describe("solkey keycode", () => {
  interface NexusRow {
    protocol: string;
    key?: string;
    id?: number;
    type: string;
    hours?: number;
    keycode: string;
  }
  interface OpgRow {
    key: string;
    starting_code: number;
    count: number;
    type: string;
    value?: number;
    extended: boolean;
    restricted: boolean;
    new_count: number;
    token: string;
  }

  /** The `solkey keycode` flags for a published Nexus row, or undefined for types solkey does not issue. */
  function flagsFor(row: NexusRow & { days?: number; minutes?: number; wipe?: string }): string[] | undefined {
    const id = row.id === undefined ? [] : ["--id", String(row.id)];
    const amount =
      row.hours !== undefined
        ? ["--hours", String(row.hours)]
        : row.days !== undefined
          ? ["--days", String(row.days)]
          : [];
    const wipes: Record<string, string> = {
      wipe_credit: "credit",
      wipe_credit_and_ids: "credit_and_ids",
      wipe_ids: "ids",
      clear_restricted_flag: "restricted_flag",
    };
    switch (row.type) {
      case "add_credit":
        return [...id, ...amount];
      case "set_credit":
        return [...id, ...amount, "--set"];
      case "unlock":
      case "lock":
        return [...id, `--${row.type}`];
      case "wipe_state":
        return [...id, "--wipe", row.wipe as string];
      case "qc_test":
        return ["--test", String(row.minutes ?? 60)];
      case "short_test":
        return ["--test", "2"];
      default:
        return row.type in wipes ? [...id, "--wipe", wipes[row.type]] : undefined;
    }
  }

  it("matches every published Nexus vector of a type solkey issues", async () => {
    const rows = readVectors<NexusRow>("nexus.jsonl");
    let checked = 0;
    for (const row of rows) {
      const flags = flagsFor(row);
      if (flags === undefined) continue;
      const r = await solkey(["keycode", "--protocol", row.protocol, ...flags, "--json"], {
        SOLKEY_DEVICE_KEY: row.key ?? "",
      });
      expect([row, JSON.parse(r.stdout || "{}").keycode ?? r.stderr]).toEqual([row, row.keycode]);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(rows.length - 3); // all but allow-test and display-ID codes
  });

  it("matches every published OpenPAYGO vector an amount in days can express (time divider 1)", async () => {
    const rows = readVectors<OpgRow>("openpaygo.jsonl");
    const action: Record<string, (value: number) => string[] | undefined> = {
      add_time: (v) => (v > 0 ? ["--days", String(v)] : undefined),
      set_time: (v) => (v > 0 ? ["--set", "--days", String(v)] : ["--lock"]),
      disable_payg: () => ["--unlock"],
      counter_sync: () => ["--counter-sync"],
    };
    let checked = 0;
    for (const row of rows) {
      const flags = action[row.type](row.value ?? 0);
      if (flags === undefined) continue;
      const args = ["keycode", "--protocol", "openpaygo", "--starting-code", String(row.starting_code)];
      args.push("--count", String(row.count), ...flags, "--json");
      if (row.extended) args.push("--extended");
      if (row.restricted) args.push("--restricted");
      const r = await solkey(args, { SOLKEY_DEVICE_KEY: row.key });
      expect([row, JSON.parse(r.stdout || "{}")]).toMatchObject([row, { keycode: row.token, seq: row.new_count }]);
      checked++;
    }
    expect(checked).toBeGreaterThan(rows.length / 2);
  });

  it("refuses a --count above OpenPAYGO's highest count (it hashed for minutes unbounded) in one line, exit 2", async () => {
    const args = ["keycode", "--protocol", "openpaygo", "--starting-code", "123456789", "--days", "1"];
    const env = { SOLKEY_DEVICE_KEY: "000102030405060708090a0b0c0d0e0f" };
    const r = await solkey([...args, "--count", String(MAX_KEYCODE_COUNT + 1)], env);
    expect(r).toMatchObject({ code: 2, stdout: "" });
    expect(r.stderr.trim().split("\n")).toEqual([
      `solkey: --count expected a whole number 0..${MAX_KEYCODE_COUNT}, got "${MAX_KEYCODE_COUNT + 1}"`,
    ]);
    expect(MAX_KEYCODE_COUNT).toBe(MAX_COUNT - 2); // the encoder's own bound, so every count allowed issues
  });

  it("reports a long OpenPAYGO chain walk as it goes (it showed nothing for minutes), and issues the same token", () => {
    const device = {
      deviceId: 0,
      protocol: "openpaygo" as const,
      key: hexToBytes("000102030405060708090a0b0c0d0e0f"),
      startingCode: 123456789,
      timeDivider: 1,
      extended: false,
      restricted: false,
    };
    const lastSeq = 2 * WALK_STEP + 7;
    const reports: [number, number][] = [];
    const walked = encodeCode(device, { kind: "add", seconds: 86400 }, lastSeq, undefined, (done, total) =>
      reports.push([done, total]),
    );
    expect(reports).toEqual([
      [WALK_STEP, lastSeq],
      [2 * WALK_STEP, lastSeq],
    ]);
    const direct = encodeToken({
      key: device.key,
      startingCode: 123456789,
      count: lastSeq,
      type: "add_time",
      value: 1,
    });
    expect([walked.keycode, walked.seq]).toEqual([direct.token, direct.count]);
    // A caller's issuer keeps its cache: no steps, no reports.
    const issuer = tokenIssuer(device);
    encodeCode(device, { kind: "add", seconds: 86400 }, 5, issuer, () => reports.push([0, 0]));
    expect(reports).toHaveLength(2);
  });

  it("takes the device key only from a file or the environment", async () => {
    const r = await solkey(["keycode", "--protocol", "nexus-full", "--id", "1", "--days", "1"]);
    expect(r).toMatchObject({
      code: 2,
      stderr: "solkey: no device key: pass --key-file FILE or set SOLKEY_DEVICE_KEY (32 hex digits)\n",
    });
    expect((await solkey(["keycode", "--protocol", "nexus-full", "--key", "00"])).stderr).toMatch(
      /unknown option '--key'/,
    );
  });
});
