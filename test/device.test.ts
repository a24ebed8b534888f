// The device core's promises (firmware/controller.ts, firmware/main.ts) on the simulated board: commit before
// showing, load off at boot and on any internal error, a corrupt journal comes up locked, no code applies twice.
import fc from "fast-check";
import { encodeFull, fullDigits } from "../firmware/protocols/nexus/full";
import { DEMO_KEY, demoProvision, demoRecord, nextCodes } from "../hosts/node/simdemo";
import { SIM_PARTITIONS, SIM_STATUS_LOAD, SimDevice, type TraceEvent } from "../hosts/node/simdevice";

const FULL = demoProvision("nexus-full");
const LOAD_PIN = demoRecord("nexus-full").pins.load;
const ERASED = new Uint8Array(SIM_PARTITIONS.journal.size).fill(0xff);
const CODES = (nextCodes(FULL, ERASED) ?? []).map((c) => c.keys);

type Logged = TraceEvent | { readonly type: "flash"; readonly kind: string } | { readonly type: "pin"; level: number };

/** A Nexus demo device whose flash writes and load-pin writes are logged in order with its events. */
function rig(journal?: Uint8Array): { sim: SimDevice; log: Logged[] } {
  const sim = new SimDevice({ provision: FULL, journal });
  const log: Logged[] = [];
  sim.onEvent = (e) => log.push(e);
  sim.onPowerOn = (board) => {
    board.pins.onWrite = (pin, level) => {
      if (pin === LOAD_PIN) log.push({ type: "pin", level });
    };
    const partition = board.partitions.get(SIM_PARTITIONS.journal.name);
    if (partition) partition.beforeMutation = (kind) => log.push({ type: "flash", kind });
  };
  return { sim, log };
}

const verdicts = (t: readonly Logged[]) =>
  t.flatMap((e) =>
    e.type === "feedback" && ["applied", "duplicate", "invalid", "locked_out", "rejected"].includes(e.pattern)
      ? [e.pattern]
      : [],
  );

describe("device core", () => {
  it("drives the load pin off before anything else at power-on", () => {
    const { sim, log } = rig();
    sim.powerOn();
    expect(log[0]).toEqual({ type: "pin", level: 0 });
    expect(log.filter((e) => e.type === "pin").every((e) => e.type === "pin" && e.level === 0)).toBe(true);
  });

  it("drives the board's reference load pin off when there is no provisioning record", () => {
    const sim = new SimDevice();
    const writes: number[] = [];
    sim.onPowerOn = (board) => {
      board.pins.onWrite = (pin, level) => {
        if (pin === SIM_STATUS_LOAD) writes.push(level);
      };
    };
    sim.powerOn();
    expect(sim.device?.status).toBe("not_provisioned");
    expect(writes).toEqual([0]);
    expect(sim.board?.pins.driven(SIM_STATUS_LOAD)).toBe(0);
  });

  it("hands each passthrough entry to the product hook after its record is committed", () => {
    const { sim, log } = rig();
    const handed: Array<[string, number]> = [];
    sim.onPassthrough = (digits) => handed.push([digits, log.filter((e) => e.type === "flash").length]);
    sim.powerOn();
    const keys = `*${fullDigits({ type: "passthrough", digits: "1234567" })}#`;
    sim.type(keys);
    sim.type(keys);
    // Passthrough codes carry no ID or MAC (the product authenticates its own payload): each entry is handed over.
    expect(handed.map(([digits]) => digits)).toEqual(["1234567", "1234567"]);
    expect(handed[0][1]).toBeGreaterThan(0); // the entry's record was written before the hook ran
    expect(handed[1][1]).toBeGreaterThan(handed[0][1]);
  });

  it("commits the code's record to flash before the load comes on or the verdict shows", () => {
    const { sim, log } = rig();
    sim.powerOn();
    sim.type(CODES[0]);
    const commit = log.findIndex((e) => e.type === "flash" && e.kind === "write");
    const loadOn = log.findIndex((e) => e.type === "pin" && e.level === 1);
    const applied = log.findIndex((e) => e.type === "feedback" && e.pattern === "applied");
    expect(commit).toBeGreaterThan(0);
    expect(loadOn).toBeGreaterThan(commit);
    expect(applied).toBeGreaterThan(commit);
    expect(sim.loadPin()).toBe(true);
  });

  it("shows nothing, turns the load off and refuses further codes when the journal cannot be written", () => {
    const { sim, log } = rig();
    sim.onPowerOn = (board) => {
      const partition = board.partitions.get(SIM_PARTITIONS.journal.name);
      if (partition)
        partition.beforeMutation = () => {
          throw new Error("flash write failed");
        };
    };
    sim.powerOn();
    sim.type(CODES[0]);
    sim.type(CODES[1]);
    expect(verdicts(log)).toEqual([]);
    expect(log.filter((e) => e.type === "fault")).toHaveLength(1);
    expect(sim.loadPin()).toBe(false);
    // Nothing was committed, so after a power cycle with working flash the code is still new.
    sim.onPowerOn = undefined;
    sim.powerOff();
    sim.powerOn();
    sim.type(CODES[0]);
    expect(verdicts(log)).toEqual(["applied"]);
  });

  it("comes up locked, load off, on a journal with content but no valid record, and takes no code", () => {
    const garbage = ERASED.slice();
    for (let i = 0; i < 64; i++) garbage[i] = (i * 37) & 0xff;
    const { sim, log } = rig(garbage);
    sim.powerOn();
    sim.type(CODES[0]);
    expect(log.find((e) => e.type === "boot")).toMatchObject({ status: "locked" });
    expect(verdicts(log)).not.toContain("applied");
    expect(verdicts(log)).toContain("rejected");
    expect(sim.loadPin()).toBe(false);
    expect(log.some((e) => e.type === "flash")).toBe(false); // locked: the evidence stays as it was
  });

  it("blinks the device id on the display-ID code and the credit on *#", () => {
    const { sim, log } = rig();
    sim.powerOn();
    sim.type(encodeFull({ type: "display_id" }));
    sim.type(CODES[1]);
    sim.type("*#");
    const shown = log.filter((e) => e.type === "feedback" && e.pattern !== "key");
    expect(shown).toEqual([
      expect.objectContaining({ pattern: "display_id", value: 12345678 }),
      expect.objectContaining({ pattern: "applied" }),
      expect.objectContaining({ pattern: "credit", value: 1 }),
    ]);
  });

  it("blinks the credit on a small keypad when the start key is pressed alone and left", () => {
    const provision = demoProvision("nexus-small");
    const [paid] = nextCodes(provision, ERASED) ?? [];
    const sim = new SimDevice({ provision });
    sim.powerOn();
    sim.type(paid.keys); // one day
    sim.type("1");
    sim.wait(17_000); // past the idle timeout
    const credit = sim.trace.filter((e) => e.type === "feedback" && e.pattern === "credit");
    expect(credit).toHaveLength(1);
    expect(credit[0]).toMatchObject({ value: 1 }); // one started day
    expect(sim.trace.some((e) => e.type === "feedback" && e.pattern === "timeout")).toBe(false);
  });

  it("keeps metering while keys are typed: queries every 700 ms do not stall the credit", () => {
    const { sim, log } = rig();
    sim.powerOn();
    sim.type(CODES[0]); // one hour
    const on = log.find((e) => e.type === "load" && e.on) as TraceEvent;
    while (sim.now < on.t + 3_700_000) {
      sim.type("*#"); // 400 ms of keys
      sim.wait(300);
    }
    const off = log.find((e) => e.type === "load" && !e.on && e.t > on.t) as TraceEvent;
    expect(off.t - on.t).toBeGreaterThanOrEqual(3_600_000);
    expect(off.t - on.t).toBeLessThanOrEqual(3_601_000);
  });

  it("never applies a code twice nor shows more credit than was paid, whatever keys, waits and cuts (property)", () => {
    const codes = Array.from({ length: 5 }, (_, i) =>
      encodeFull({ type: "add_credit", key: DEMO_KEY, id: 24 + i, hours: 1 + i }),
    );
    const op = fc.oneof(
      fc.record({ code: fc.integer({ min: 0, max: codes.length - 1 }) }),
      fc.record({ part: fc.integer({ min: 0, max: codes.length - 1 }), keys: fc.integer({ min: 1, max: 12 }) }),
      fc.record({ waitMs: fc.integer({ min: 0, max: 3_000_000 }) }),
      fc.constant({ cut: true }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        const { sim, log } = rig();
        sim.powerOn();
        const applied = new Set<number>();
        let paidSeconds = 0;
        for (const o of ops) {
          if ("code" in o) {
            const before = log.length;
            sim.type(codes[o.code]);
            if (verdicts(log.slice(before)).includes("applied")) {
              expect(applied.has(o.code)).toBe(false);
              applied.add(o.code);
              paidSeconds += (1 + o.code) * 3600;
            }
          } else if ("part" in o) {
            sim.type(codes[o.part].slice(0, o.keys));
          } else if ("waitMs" in o) {
            sim.wait(o.waitMs);
          } else {
            sim.powerOff();
            sim.powerOn();
          }
        }
        for (const e of log)
          if (e.type === "credit" && e.seconds !== "unlocked") expect(e.seconds).toBeLessThanOrEqual(paidSeconds);
        const lastLoad = log.filter((e) => e.type === "load").at(-1);
        expect(sim.loadPin()).toBe(lastLoad?.type === "load" && lastLoad.on);
      }),
      { numRuns: 40 },
    );
  });
});
