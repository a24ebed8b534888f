// The power-cut campaign (tools/torture): a reduced run over the real ledger must find nothing, and the same
// campaign must catch journals and devices that are broken in the ways it exists to catch.
import { NRF52, ESP32, type NorFlash } from "../firmware/storage/flash";
import type { Mounted } from "../firmware/storage/journal";
import { TEARS } from "../hosts/node/nor";
import { runTorture } from "../tools/commands/torture";
import {
  realJournal,
  runCampaign,
  type CampaignOptions,
  type MountJournal,
  type TortureJournal,
  type Workload,
} from "../tools/torture/engine";
import { ledgerWorkload } from "../tools/torture/ledger";
import { solkey } from "./fleet.helpers";

// Eight operations after each cut, then the final check: with the v2 tally every powered minute is a cut point
// (3,226 in the openpaygo run), and running the whole rest of the workload after each took 250 s instead of 20.
// A cut's damage shows at the next mount; `solkey torture --continue all` runs the rest (the default).
const OPTIONS: CampaignOptions = { chip: NRF52, blocks: 2, seed: 5, doubleCuts: 150, continueOps: 8 };

describe("torture campaign over the real ledger (reduced run)", () => {
  it.each(["openpaygo", "nexus-full", "nexus-small"] as const)(
    "%s: every cut point x every tear, and double cuts: 0 violations",
    (p) => {
      const report = runCampaign(ledgerWorkload(p, 5, 80), OPTIONS);
      expect(report.violations).toEqual([]);
      expect(report.operations).toBe(80);
      expect(report.cutPoints).toBeGreaterThan(40);
      expect(report.singleCuts).toBe(report.cutPoints * TEARS.length);
      expect(report.doubleCuts).toBe(150);
    },
  );

  it("runs on the ESP32 profile with three blocks too", () => {
    const report = runCampaign(ledgerWorkload("openpaygo", 8, 60), { ...OPTIONS, chip: ESP32, blocks: 3 });
    expect(report.violations).toEqual([]);
    expect(report.singleCuts).toBeGreaterThan(100);
  });
});

describe("the campaign catches what it exists to catch", () => {
  const workload = () => ledgerWorkload("nexus-full", 3, 40);

  it("catches a journal that rewrites its one record in place (erase, then program)", () => {
    const inPlace: MountJournal = (flash) => _inPlace(flash);
    const report = runCampaign(workload(), { ...OPTIONS, doubleCuts: 0, mountJournal: inPlace });
    expect(report.violations.length).toBeGreaterThan(0);
    expect(report.violations.map((v) => v.message).join("\n")).toMatch(/power-on mounted corrupt|mount found/);
    expect(report.violations[0].id).toMatch(/^seed=5 cut=\d+ tear=(none|prefix|subset|allbutone|half)$/);
  });

  it("catches a commit split over two records (the effect first, the used-mark after)", () => {
    const split: MountJournal = (flash, otp) => {
      const journal = realJournal(flash, otp);
      return {
        get mounted(): Mounted {
          return journal.mounted;
        },
        get migrated(): boolean {
          return journal.migrated;
        },
        tick: () => journal.tick(),
        migrate: (payload) => journal.migrate(payload),
        append(payload) {
          const half = payload.slice();
          half[half.length - 1] ^= 0x01;
          journal.append(half);
          journal.append(payload);
        },
      };
    };
    const report = runCampaign(workload(), { ...OPTIONS, doubleCuts: 0, mountJournal: split });
    expect(report.violations.some((v) => /neither before nor after/.test(v.message))).toBe(true);
  });

  it("catches a device that forgets its used codes at power-on", () => {
    const honest = workload();
    const forgetful: Workload<unknown, (typeof honest.operations)[number]> = {
      ...honest,
      boot: () => honest.boot(honest.genesis),
    } as Workload<unknown, (typeof honest.operations)[number]>;
    const report = runCampaign(forgetful, { ...OPTIONS, doubleCuts: 0 });
    expect(report.violations.some((v) => /applied twice/.test(v.message))).toBe(true);
  });

  it("reproduces a reported case from its id alone", () => {
    const inPlace: MountJournal = (flash) => _inPlace(flash);
    const all = runCampaign(workload(), { ...OPTIONS, doubleCuts: 0, mountJournal: inPlace });
    const first = all.violations[0];
    const [, cut, tear] = /cut=(\d+) tear=(\w+)/.exec(first.id)!;
    const again = runCampaign(workload(), {
      ...OPTIONS,
      doubleCuts: 0,
      mountJournal: inPlace,
      onlyCut: Number(cut),
      tears: [tear as (typeof TEARS)[number]],
    });
    expect(again.singleCuts).toBe(1);
    expect(again.violations).toEqual([first]);
  });
});

describe("solkey torture: power cuts, weak bits, OTP writes and the flash attacker in one run", () => {
  const args = ["torture", "--ops", "40", "--seed", "11", "--double", "20", "--continue", "8"];

  // One protocol here (each run is tens of seconds under jest); test/journal-attacks.test.ts attacks all three.
  it("every count printed, 0 violations in both parts", async () => {
    const r = await solkey([...args, "--protocol", "nexus-small"]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const count = (label: string) => Number(new RegExp(`^ +${label} +(\\d+)`, "m").exec(r.stdout)?.[1]);
    expect(r.stdout).toMatch(/^ +tear models +none, prefix, subset, allbutone, half, weak$/m);
    expect(count("weak-bit cuts")).toBe(count("cut points"));
    expect(count("cut points")).toBeGreaterThan(100);
    expect(count("OTP writes")).toBeGreaterThanOrEqual(2); // the mark and at least one anchor step, each cut too
    expect(count("anchor steps")).toBeGreaterThanOrEqual(1);
    expect(count("erases")).toBe(40);
    expect(count("restores")).toBe((40 * 39) / 2); // every older image at every point after a power-on
    expect(r.stdout).toMatch(/^ +worst gain +0\.\d{3} anchor step: \d+\.\d\d days of credit and \d+ codes again/m);
    expect(r.stdout).toMatch(/^ +limiter back +\d+ restores gave the attempt limiter back, up to \d+ failures/m);
    expect(r.stdout.match(/^ +violations +0$/gm)).toHaveLength(2);
    expect(r.stdout).not.toMatch(/VIOLATION/);
  });

  it("--no-attacks runs the power-cut campaign only", async () => {
    const r = await solkey([...args, "--protocol", "nexus-full", "--ops", "20", "--no-attacks"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ +single cuts +\d+$/m);
    expect(r.stdout).not.toMatch(/flash attacker|restores/);
  });
});

describe("solkey torture options", () => {
  const base = {
    protocol: "openpaygo",
    ops: "30",
    double: "10",
    seed: "1",
    chip: "nrf52",
    blocks: "2",
    continue: "all",
  };

  it("runs one case given --cut and --tear", () => {
    const [report] = runTorture({ ...base, cut: "3", tear: "half" });
    expect(report.singleCuts).toBe(1);
    expect(report.doubleCuts).toBe(0);
    expect(report.violations).toEqual([]);
  });

  it("reruns one double cut given --cut2 and --tear2", () => {
    const [report] = runTorture({ ...base, cut: "3", tear: "subset", cut2: "1", tear2: "half" });
    expect(report.doubleCuts + report.singleCuts).toBe(1);
    expect(report.violations).toEqual([]);
  });

  it.each([
    [{ protocol: "lora" }, /--protocol expected/],
    [{ cut: "5000", tear: "none" }, /--cut expected 1\.\.\d+ \(the cut points of this workload\), got 5000/],
    [{ cut2: "1", tear2: "none" }, /--cut2 and --tear2 go together, with --cut and --tear/],
    [{ chip: "stm32" }, /--chip expected esp32 or nrf52/],
    [{ ops: "1" }, /--ops expected a whole number 2-100000/],
    [{ cut: "3" }, /--cut and --tear go together/],
    [{ cut: "3", tear: "melted" }, /--tear expected one of none, prefix, subset, allbutone, half/],
    [{ continue: "-1" }, /--continue expected/],
  ])("refuses %j with a usage error that names the fix", (bad, message) => {
    expect(() => runTorture({ ...base, ...bad })).toThrow(message);
  });
});

/** A naive store: one record at offset 0 of block 0, rewritten in place. What the journal must not be. */
function _inPlace(flash: NorFlash): TortureJournal {
  const { writeAlignment } = flash.status();
  const head = new Uint8Array(flash.read(4, 0));
  const length = head[0] | (head[1] << 8);
  let mounted: Mounted;
  if (head.every((b) => b === 0xff)) mounted = { kind: "fresh" };
  else if (length > 1024) mounted = { kind: "corrupt" };
  else mounted = { kind: "record", payload: new Uint8Array(flash.read(length, 4)), sequence: 1, minutes: 0 };
  return {
    mounted,
    migrated: true,
    tick: () => undefined, // a store without a clock: every minute is lost at the next cut, never charged
    migrate: () => undefined,
    append(payload) {
      const image = new Uint8Array(Math.ceil((4 + payload.length) / writeAlignment) * writeAlignment);
      image[0] = payload.length & 0xff;
      image[1] = payload.length >> 8;
      image.set(payload, 4);
      flash.eraseBlock(0);
      flash.write(image, 0);
    },
  };
}
