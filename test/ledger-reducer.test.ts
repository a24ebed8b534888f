// The PAYG reducer (issue 6 "firmware/ledger"): boot and load, each action, time and checkpoints, two engines.
import { LEASE_MS, loadOn, mount, nextWakeMs, reduce, remainingMs } from "../firmware/ledger/reducer";
import { freshState } from "../firmware/ledger/state";
import { XsProbe } from "../hosts/xsnap/engine";
import { Bench, HOUR, MINUTE, loadOf } from "./ledger.helpers";
import { FAKE_OP, fakeCode, fakeProtocol, runScript, type ScriptStep } from "./probes/ledger.probe";

const nexus = () => new Bench(fakeProtocol("nexus-full"));
const add = (id: number, minutes: number) => fakeCode(id, FAKE_OP.add, minutes);

describe("ledger: boot and load", () => {
  it("keeps the load off until boot, and turns it off at boot with no credit", () => {
    const b = nexus();
    expect(loadOn(b.state)).toBe(false);
    expect(b.send({ type: "entry", digits: add(1, 10) })).toEqual([]);
    expect(b.boot()).toEqual([{ type: "load", on: false }]);
  });

  it("boots a credited device by paying its next lease before turning the load on", () => {
    const b = nexus();
    b.boot();
    b.enter(add(1, 120));
    b.cut();
    const effects = b.boot();
    // The boot's minute is one tally word (docs/SPEC.md, "Tally"), committed before the load goes on.
    expect(effects.map((e) => e.type)).toEqual(["tick", "load"]);
    expect(loadOf(effects)).toBe(true);
    // two leases paid ahead: the one the cut lost, and the boot's
    const leaseSeconds = LEASE_MS / 1000;
    expect(b.saved.payg).toEqual({ kind: "metered", creditSeconds: 120 * 60 - 2 * leaseSeconds, testSeconds: 0 });
  });

  it("states the load again on a reboot without a power cut", () => {
    const b = nexus();
    b.boot();
    b.enter(fakeCode(1, FAKE_OP.unlock));
    expect(b.boot()).toEqual([{ type: "load", on: true }]);
  });

  it("boots an unlocked device with the load on and writes nothing", () => {
    const b = nexus();
    b.boot();
    b.enter(fakeCode(1, FAKE_OP.unlock));
    b.cut();
    expect(b.boot()).toEqual([{ type: "load", on: true }]);
  });
});

describe("ledger: actions", () => {
  it("adds credit, shows it, and commits the code with its used-mark before any feedback", () => {
    const b = nexus();
    b.boot();
    const effects = b.send({ type: "entry", digits: add(7, 90) });
    expect(effects.map((e) => e.type)).toEqual(["persist", "load", "feedback"]);
    expect(b.saved.protocol.used).toEqual([7]);
    expect(remainingMs(b.state)).toBe(90 * MINUTE);
    expect(b.query()).toEqual({ kind: "credit", unlocked: false, seconds: 5400, days: 1 });
  });

  it("answers duplicate for a used code and does not add its credit again", () => {
    const b = nexus();
    b.boot();
    b.enter(add(7, 90));
    expect(b.enter(add(7, 90))).toEqual({ kind: "duplicate" });
    expect(remainingMs(b.state)).toBe(90 * MINUTE);
  });

  it("answers invalid with the protocol's reason and changes no credit", () => {
    const b = nexus();
    b.boot();
    expect(b.enter("1234")).toEqual({ kind: "invalid", reason: "not 8 digits" });
    expect(remainingMs(b.state)).toBe(0);
  });

  it("sets credit, replacing credit and test power alike", () => {
    const b = nexus();
    b.boot();
    b.enter(add(1, 600));
    b.enter(fakeCode(2, FAKE_OP.test, 10));
    b.enter(fakeCode(3, FAKE_OP.set, 30));
    expect(remainingMs(b.state)).toBe(30 * MINUTE);
  });

  it("locks with a set to zero: load off, and the lock survives a power cut", () => {
    const b = nexus();
    b.boot();
    b.enter(add(1, 600));
    const effects = b.send({ type: "entry", digits: fakeCode(2, FAKE_OP.set, 0) });
    expect(loadOf(effects)).toBe(false);
    b.cut();
    expect(loadOf(b.boot())).toBe(false);
  });

  it("unlocks for ever: the load stays on however long it runs, until a set_credit", () => {
    const b = nexus();
    b.boot();
    b.enter(fakeCode(1, FAKE_OP.unlock));
    b.elapse(10 * 365 * 24 * HOUR);
    expect(loadOn(b.state)).toBe(true);
    expect(b.query()).toEqual({ kind: "credit", unlocked: true, seconds: 0, days: 0 });
    expect(b.enter(add(2, 60))).toEqual({ kind: "duplicate" });
    expect(b.saved.protocol.used).toEqual([1, 2]);
    b.enter(fakeCode(3, FAKE_OP.set, 1));
    b.elapse(MINUTE);
    expect(loadOn(b.state)).toBe(false);
  });

  it("gives test power before credit, so a test code on a credited unit adds its time", () => {
    const b = nexus();
    b.boot();
    b.enter(add(1, 60));
    b.enter(fakeCode(2, FAKE_OP.test, 60));
    expect(remainingMs(b.state)).toBe(2 * HOUR);
    b.elapse(2 * HOUR - 1);
    expect(loadOn(b.state)).toBe(true);
    b.elapse(1);
    expect(loadOn(b.state)).toBe(false);
  });

  it("takes an allow-test code only on a unit with no time left", () => {
    const b = nexus();
    b.boot();
    b.enter(add(1, 5));
    expect(b.enter(fakeCode(2, FAKE_OP.allowTest, 10))).toEqual({ kind: "duplicate" });
    expect(b.saved.protocol.used).toEqual([1]);
    b.elapse(5 * MINUTE);
    expect(b.enter(fakeCode(2, FAKE_OP.allowTest, 10))).toMatchObject({ kind: "applied" });
    expect(remainingMs(b.state)).toBe(10 * MINUTE);
  });

  it("refuses any test code on an unlocked unit", () => {
    const b = nexus();
    b.boot();
    b.enter(fakeCode(1, FAKE_OP.unlock));
    expect(b.enter(fakeCode(2, FAKE_OP.test, 10))).toEqual({ kind: "duplicate" });
    expect(b.saved.protocol.used).toEqual([1]);
  });

  it("commits a clear-restricted-flag code as the protocol's new state (the flag is the protocol's)", () => {
    const b = new Bench(fakeProtocol("nexus-small"));
    b.boot();
    const fx = b.send({ type: "entry", digits: fakeCode(1, FAKE_OP.clearRestricted) });
    expect(fx[0]).toEqual({ type: "persist", device: b.state.device, codes: 1, minutes: 0 });
    expect(b.saved.protocol.used).toEqual([1]);
  });

  it("shows the device id, and marks the code used", () => {
    const b = nexus();
    b.boot();
    expect(b.enter(fakeCode(4, FAKE_OP.displayId))).toEqual({ kind: "display_id" });
    expect(b.saved.protocol.used).toEqual([4]);
  });

  it("commits a protocol-only code (counter sync, wipe ids) as its used-mark", () => {
    const b = nexus();
    b.boot();
    expect(b.enter(fakeCode(5, FAKE_OP.none))).toEqual({ kind: "applied", action: { type: "none" } });
    expect(b.saved.protocol.used).toEqual([5]);
  });

  it("hands a passthrough code to the product hook after committing it", () => {
    const b = nexus();
    b.boot();
    const effects = b.send({ type: "entry", digits: fakeCode(6, FAKE_OP.passthrough, 1234) });
    expect(effects.map((e) => e.type)).toEqual(["persist", "feedback", "passthrough"]);
    expect(effects[2]).toEqual({ type: "passthrough", digits: "1234" });
  });

  it("reports days left rounded up", () => {
    const b = nexus();
    b.boot();
    b.enter(add(1, 24 * 60 + 1));
    expect(b.query()).toMatchObject({ days: 2 });
    b.elapse(MINUTE);
    expect(b.query()).toMatchObject({ days: 1 });
  });
});

describe("ledger: time and checkpoints", () => {
  it("turns the load off at the exact millisecond the credit runs out", () => {
    const b = nexus();
    b.boot();
    b.enter(add(1, 150));
    b.elapse(150 * MINUTE - 1);
    expect(loadOn(b.state)).toBe(true);
    expect(loadOf(b.elapse(1))).toBe(false);
  });

  it("counts credit down only while powered: time off does not exist for the ledger", () => {
    const b = nexus();
    b.boot();
    b.enter(add(1, 30));
    b.elapse(10 * MINUTE);
    b.send({ type: "boot" }); // a reboot without a cut also drops the lease: the tally already paid for it
    expect(remainingMs(b.state)).toBe(30 * MINUTE - 10 * MINUTE - LEASE_MS);
  });

  it("charges one tally minute per lease while credit runs, and writes no record for it", () => {
    const b = new Bench(fakeProtocol("openpaygo"));
    b.boot();
    b.enter(add(1, 10 * 60));
    const records = b.records;
    const ticks = b.ticks;
    for (let i = 0; i < 10 * 60; i++) b.elapse(MINUTE);
    expect(b.ticks - ticks).toBe((10 * HOUR) / LEASE_MS - 1); // the first lease came with the code's record
    expect(b.records).toBe(records);
    expect(b.saved.payg).toEqual({ kind: "metered", creditSeconds: 0, testSeconds: 0 });
    expect(loadOn(b.state)).toBe(false);
  });

  it("checkpoints a refilling bucket at each wake until it is full, then writes nothing", () => {
    const b = nexus();
    b.boot();
    for (let i = 0; i < 6; i++) b.enter(fakeCode(10 + i, FAKE_OP.none)); // empties the bucket, counts no failure
    const records = b.records;
    for (let i = 0; i < 30; i++) b.elapse(HOUR);
    // 128 attempts take 25.6 h to earn: a checkpoint at each of hours 1..26, none after
    expect(b.records - records).toBe(26);
    b.elapse(100 * HOUR);
    expect(b.records - records).toBe(26);
  });

  it("reports the minutes a checkpoint record deducts instead of tally words (the journal's anchor counts them)", () => {
    const b = nexus();
    b.boot();
    b.enter(add(1, 10 * 60));
    for (let i = 0; i < 6; i++) b.enter(fakeCode(10 + i, FAKE_OP.none)); // the bucket refills: checkpoints due
    const fx = b.elapse(HOUR);
    expect(fx.filter((e) => e.type === "tick")).toEqual([]);
    expect(fx[0]).toMatchObject({ type: "persist", codes: 0, minutes: HOUR / LEASE_MS });
  });

  it("loses at most one lease (a minute) of credit to a power cut", () => {
    const b = nexus();
    b.boot();
    b.enter(add(1, 5 * 60));
    b.elapse(MINUTE + 20_000);
    b.cut();
    b.boot();
    // 80 s used, the 40 s left of the running minute lost: what remains is paid less two whole minutes.
    expect(remainingMs(b.state)).toBe(5 * HOUR - 2 * LEASE_MS);
  });

  it("asks to be woken when the lease runs out", () => {
    const b = nexus();
    b.boot();
    b.enter(add(1, 100));
    expect(nextWakeMs(b.state)).toBe(LEASE_MS);
    b.elapse(99 * MINUTE + 20_000);
    expect(nextWakeMs(b.state)).toBe(40_000); // the rest of the last minute
    b.elapse(40_000);
    expect(loadOn(b.state)).toBe(false);
  });

  it("rejects negative or fractional elapsed time", () => {
    const protocol = fakeProtocol("openpaygo");
    const state = reduce(protocol, mount(freshState(protocol)), { type: "boot" }).state;
    expect(() => reduce(protocol, state, { type: "elapsed", ms: -1 })).toThrow(RangeError);
    expect(() => reduce(protocol, state, { type: "elapsed", ms: 0.5 })).toThrow(RangeError);
  });

  it.each([
    ["a number", 12345],
    ["undefined", undefined],
    ["an array", ["1", "2"]],
  ])("rejects %s as entry digits with a TypeError", (_name, digits) => {
    const protocol = fakeProtocol("nexus-full");
    const state = reduce(protocol, mount(freshState(protocol)), { type: "boot" }).state;
    expect(() => reduce(protocol, state, { type: "entry", digits: digits as unknown as string })).toThrow(TypeError);
  });
});

describe("ledger: two engines", () => {
  const script: ScriptStep[] = [
    { type: "boot" },
    { type: "entry", digits: "00000001" },
    { type: "entry", digits: add(1, 61) },
    { type: "query" },
    { type: "elapsed", ms: HOUR + 5 },
    { type: "entry", digits: fakeCode(2, FAKE_OP.test, 3) },
    { type: "cut" },
    { type: "boot" },
    { type: "entry", digits: "1" },
    { type: "entry", digits: "2" },
    { type: "entry", digits: "3" },
    { type: "entry", digits: "4" },
    { type: "elapsed", ms: 20 * MINUTE },
    { type: "entry", digits: fakeCode(3, FAKE_OP.unlock) },
    { type: "query" },
  ];

  it.each(["nexus-full", "openpaygo"] as const)("yields the same trace inside XS as under Node (%s)", async (name) => {
    const node = runScript(name, script);
    expect(node.flat().some((e) => e.type === "persist")).toBe(true);
    const xs = await XsProbe.load("test/probes/ledger.probe.ts");
    try {
      const { result } = await xs.call<unknown>("runScript", name, script);
      expect(result).toEqual(JSON.parse(JSON.stringify(node)));
    } finally {
      await xs.close();
    }
  });
});
