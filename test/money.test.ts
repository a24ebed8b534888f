// Money is exact (issue 14): an amount a device's codes cannot carry is refused, naming the granularity and the
// nearest amounts, or rounded only the way the operator asks; payment references are compared normalised.
import fc from "fast-check";
import Database from "better-sqlite3";
import fs from "fs";
import path from "path";
import { exactCredit, type Rounding } from "../fleet/amounts";
import { encodeCode, type DeviceSecrets } from "../fleet/codes";
import { UsageError } from "../fleet/errors";
import { normalizeRef } from "../fleet/references";
import { printable } from "../tools/printable";
import { scratch, solkey } from "./fleet.helpers";

const HOUR = 3600;
const DAY = 86400;

/** A fleet with one device per kind: 1 OpenPAYGO (days), 2 OpenPAYGO divider 24 (hours), 3 Nexus small, 4 full. */
async function fleet(): Promise<string> {
  const db = path.join(scratch("money"), "fleet.db");
  const out = path.join(path.dirname(db), "images");
  for (const extra of [["openpaygo"], ["openpaygo", "--time-divider", "24"], ["nexus-small"], ["nexus-full"]]) {
    const r = await solkey([
      "provision",
      "--protocol",
      ...extra,
      "--count",
      "1",
      "--random-keys",
      "--db",
      db,
      "--out",
      out,
    ]);
    expect(r.code).toBe(0);
  }
  return db;
}

function codeCount(db: string): number {
  const sqlite = new Database(db, { readonly: true });
  try {
    return (sqlite.prepare("SELECT count(*) AS n FROM codes").get() as { n: number }).n;
  } finally {
    sqlite.close();
  }
}

describe("hours on a device that counts days", () => {
  it("are refused with the granularity and the nearest amounts named, and nothing is issued", async () => {
    const db = await fleet();
    const r = await solkey(["issue", "SK-00000001", "--hours", "5", "--db", db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "solkey: this openpaygo device (time divider 1) carries whole days: 5 hours cannot be issued exactly; " +
        "nearest: 1 day (--round up)\n",
    );
    const small = await solkey(["issue", "SK-00000003", "--days", "181", "--db", db]);
    expect(small.code).toBe(2);
    expect(small.stderr).toMatch(/nearest: 180 days \(--round down\) or 183 days \(--round up\)/);
    const full = await solkey(["issue", "SK-00000004", "--days", "1", "--hours", "1", "--db", db]);
    expect(full.code).toBe(2); // one amount only
    expect(codeCount(db)).toBe(0);
  });

  it("are rounded only on request, and the JSON states the credit granted", async () => {
    const db = await fleet();
    const up = await solkey(["issue", "SK-00000001", "--hours", "30", "--round", "up", "--db", db, "--json"]);
    expect(JSON.parse(up.stdout)).toMatchObject({ units: 2, seconds: 2 * DAY });
    const down = await solkey(["issue", "SK-00000001", "--hours", "30", "--round", "down", "--db", db, "--json"]);
    expect(JSON.parse(down.stdout)).toMatchObject({ units: 1, seconds: DAY });
    const nothing = await solkey(["issue", "SK-00000001", "--hours", "5", "--round", "down", "--db", db]);
    expect(nothing.code).toBe(2); // rounding down to no credit at all is not a code
    const hours = await solkey(["issue", "SK-00000002", "--hours", "5", "--db", db, "--json"]);
    expect(JSON.parse(hours.stdout)).toMatchObject({ units: 5, seconds: 5 * HOUR });
    expect((await solkey(["issue", "SK-00000004", "--hours", "5", "--round", "sideways", "--db", db])).code).toBe(2);
  });

  it("in a package, a batch line or `solkey keycode` are refused the same way; a batch writes nothing", async () => {
    const db = await fleet();
    expect((await solkey(["issue", "--define-package", "evening=4h", "--db", db])).code).toBe(0);
    const pkg = await solkey(["issue", "SK-00000003", "--package", "evening", "--db", db]);
    expect(pkg.code).toBe(2);
    expect(pkg.stderr).toMatch(/whole days/);
    const batch = path.join(path.dirname(db), "batch.csv");
    fs.writeFileSync(
      batch,
      "device,amount,ref\nSK-00000004,4h,A1\nSK-00000001,3d,A2\nSK-00000002,1d,A3\nSK-00000003,4h,A4\n",
    );
    const r = await solkey(["issue", "--batch", batch, "--db", db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^solkey: request 4 \(SK-00000003\): .*whole days/);
    expect(codeCount(db)).toBe(0);
    const rounded = await solkey(["issue", "--batch", batch, "--round", "up", "--db", db, "--json"]);
    expect(JSON.parse(rounded.stdout).map((c: { seconds: number }) => c.seconds)).toEqual([
      4 * HOUR,
      3 * DAY,
      DAY,
      DAY,
    ]);
    const key = { SOLKEY_DEVICE_KEY: "00112233445566778899aabbccddeeff" };
    const keycode = ["keycode", "--protocol", "openpaygo", "--starting-code", "123", "--count", "1", "--hours", "5"];
    expect((await solkey(keycode, key)).stderr).toMatch(/whole days/);
    expect(JSON.parse((await solkey([...keycode, "--round", "up", "--json"], key)).stdout)).toMatchObject({
      seconds: DAY,
    });
  });
});

const DEVICES: DeviceSecrets[] = [
  ...[1, 7, 24, 96, 255].map((timeDivider) => ({ protocol: "openpaygo" as const, timeDivider })),
  { protocol: "nexus-full" as const, timeDivider: 1 },
  { protocol: "nexus-small" as const, timeDivider: 1 },
].map((d, i) => ({ ...d, deviceId: i, key: new Uint8Array(16), startingCode: 1, extended: true, restricted: false }));

describe("exactCredit", () => {
  it("grants exactly the amount, or the nearest one the way asked, and the encoder grants exactly that", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DEVICES),
        fc.constantFrom<"add" | "set">("add", "set"),
        fc.integer({ min: 1, max: 400 * DAY }),
        fc.constantFrom<Rounding | undefined>("up", "down", undefined),
        (device, kind, seconds, round) => {
          let granted: number;
          try {
            granted = exactCredit(device, kind, seconds, round);
          } catch (e) {
            expect(e).toBeInstanceOf(UsageError);
            expect(round).not.toBe("up");
            return;
          }
          if (round === undefined) expect(granted).toBe(seconds);
          if (round === "up") expect(granted).toBeGreaterThanOrEqual(seconds);
          if (round === "down") expect(granted).toBeLessThanOrEqual(seconds);
          // The encoder grants exactly the rounded amount: nothing is rounded a second time.
          const encoded = encodeCode(device, { kind, seconds: granted }, 10);
          expect(encoded.seconds).toBe(granted);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("steps over OpenPAYGO's reserved values 996-999 both ways", () => {
    const device = DEVICES[0]; // time divider 1: one value a day
    expect(exactCredit(device, "add", 997 * DAY, "up")).toBe(1000 * DAY);
    expect(exactCredit(device, "add", 997 * DAY, "down")).toBe(995 * DAY);
    expect(() => exactCredit(device, "add", 996 * DAY)).toThrow(/995 days .*1000 days/);
  });
});

describe("payment references", () => {
  it("one reference typed five ways (case, spaces around and inside, a Unicode hyphen, full width) gives one code", async () => {
    const db = await fleet();
    const codes = [];
    for (const ref of [
      "MPESA-QX81",
      "mpesa-qx81 ",
      "MPESA\u2010QX81",
      " MPESA - QX 81",
      "\uff2d\uff30\uff25\uff33\uff21\uff0d\uff31\uff38\uff18\uff11",
    ]) {
      const r = await solkey(["issue", "SK-00000004", "--hours", "5", "--ref", ref, "--db", db, "--json"]);
      expect(r.code).toBe(0);
      codes.push(JSON.parse(r.stdout));
    }
    expect(new Set(codes.map((c) => c.keycode)).size).toBe(1);
    expect(codes.map((c) => c.replayed)).toEqual([false, true, true, true, true]);
    expect(codes[0].paymentRef).toBe("MPESA-QX81");
    expect(codeCount(db)).toBe(1);
  });

  it("refuses an empty reference and one with control characters", async () => {
    const db = await fleet();
    for (const ref of ["", "  ", "\u2010\u00a0".slice(1), "QX\u001b[2J", "QX\n81"]) {
      const r = await solkey(["issue", "SK-00000004", "--hours", "5", "--ref", ref, "--db", db]);
      expect(r.code).toBe(2);
      expect(r.stderr.split("\n")).toHaveLength(2);
    }
    expect(codeCount(db)).toBe(0);
  });

  it("normalising is idempotent and ignores case, spaces and dash variants", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9]{1,8}(-[A-Za-z0-9]{1,8}){0,2}$/), (ref) => {
        const canonical = normalizeRef(ref);
        expect(normalizeRef(canonical)).toBe(canonical);
        expect(normalizeRef(` ${ref.toLowerCase().replace(/-/g, " \u2013 ")}\t`)).toBe(canonical);
      }),
    );
  });

  it("history shows stored text with terminal escapes escaped", async () => {
    const db = await fleet();
    expect((await solkey(["issue", "SK-00000004", "--hours", "5", "--ref", "R1", "--db", db])).code).toBe(0);
    const sqlite = new Database(db);
    sqlite.prepare("UPDATE codes SET payment_ref = ?").run("R1\u001b[2J\u202e");
    sqlite.close();
    const r = await solkey(["issue", "SK-00000004", "--history", "--db", db]);
    expect(r.stdout).toContain("ref R1\\u001b[2J\\u202e");
    expect(r.stdout).not.toMatch(/\u001b/);
    expect(printable("a\tb")).toBe("a\\u0009b");
  });
});
