// Issue 6 "Done when": scripted scenarios per protocol, through the simulated keypad, on firmware/main.ts.
import type { TraceEvent } from "../hosts/node/simdevice";
import { DEMO_PROTOCOLS } from "../hosts/node/simdemo";
import { scenario as run } from "../tools/probes/sim.probe";
import { scenario, type Case } from "./scenarios/scenarios";

/** Credit of the demo devices' first code (OpenPAYGO: 1 day; Nexus full: 1 hour; Nexus small: 1 day). */
const FIRST_CODE_SECONDS = { openpaygo: 86_400, "nexus-full": 3_600, "nexus-small": 86_400 } as const;

function trace(protocol: (typeof DEMO_PROTOCOLS)[number], name: Case): TraceEvent[] {
  const s = scenario(protocol, name);
  return run(s.text, s.provisionHex).trace;
}

const patterns = (t: TraceEvent[], pattern: string) => t.filter((e) => e.type === "feedback" && e.pattern === pattern);
const verdicts = (t: TraceEvent[]) =>
  t.flatMap((e) =>
    e.type === "feedback" && ["applied", "duplicate", "invalid", "locked_out", "rejected"].includes(e.pattern)
      ? [e.pattern]
      : [],
  );
const loads = (t: TraceEvent[]) => t.flatMap((e) => (e.type === "load" ? [{ t: e.t, on: e.on }] : []));

describe.each(DEMO_PROTOCOLS)("%s device", (protocol) => {
  const credit = FIRST_CODE_SECONDS[protocol];

  it("applies a code typed on the keypad: load on, credit shown", () => {
    const t = trace(protocol, "happy");
    expect(verdicts(t)).toEqual(["applied"]);
    const applied = patterns(t, "applied")[0];
    expect(loads(t)).toEqual([
      { t: 0, on: false },
      { t: applied.t, on: true },
    ]);
    expect(t.find((e) => e.type === "credit" && e.t === applied.t)).toMatchObject({ seconds: credit });
    // Every key of the code blinked; the last one completes the entry and shows the verdict instead.
    expect(patterns(t, "key").length).toBeGreaterThanOrEqual(protocol === "nexus-small" ? 14 : 10);
    if (protocol !== "nexus-small") expect(patterns(t, "credit")).toEqual([expect.objectContaining({ value: 1 })]);
  });

  it("drops a partial entry 16 s after its last key; the rest alone is no code", () => {
    const t = trace(protocol, "timeout");
    const timeout = patterns(t, "timeout");
    expect(timeout).toHaveLength(1);
    const lastKeyBefore = patterns(t, "key")
      .filter((e) => e.t < timeout[0].t)
      .at(-1) as TraceEvent;
    expect(timeout[0].t - lastKeyBefore.t).toBe(16_000);
    expect(verdicts(t)).toEqual(["applied"]);
  });

  it("restarts the entry on the start key", () => {
    expect(verdicts(trace(protocol, "restart"))).toEqual(["applied"]);
  });

  it("keeps a lockout through a power cut and an hour without power; powered time ends it", () => {
    const t = trace(protocol, "lockout");
    const v = verdicts(t);
    expect(v.at(-1)).toBe("applied");
    expect(v.filter((x) => x === "applied")).toHaveLength(1);
    expect(v).toContain("locked_out");
    // The start key after the cut, and again after the hour off, is refused without an entry.
    const boots = t.filter((e) => e.type === "boot").map((e) => e.t);
    expect(boots).toHaveLength(3);
    for (const boot of boots.slice(1)) {
      const next = t.find((e) => e.t > boot && e.type === "feedback");
      expect(next).toMatchObject({ pattern: "rejected" });
    }
  });

  it("turns the load off when the credit is used up, to the second", () => {
    const t = trace(protocol, "credit-out");
    const [off, on, end] = loads(t);
    expect([off.on, on.on, end.on]).toEqual([false, true, false]);
    expect(Math.abs(end.t - on.t - credit * 1000)).toBeLessThanOrEqual(1000);
    expect(Math.floor((end.t - on.t) / 60_000)).toBe(credit / 60);
  });

  it("forgets an entry cut by a power loss, charges nothing for it, and applies the code once", () => {
    const t = trace(protocol, "cut-mid-entry");
    expect(verdicts(t)).toEqual(["applied", "duplicate"]);
    expect(t.filter((e) => e.type === "boot")).toHaveLength(2);
  });

  it("boots with a damaged provisioning record: load off, not-provisioned pattern, keys ignored", () => {
    const t = trace(protocol, "unprovisioned");
    expect(t.filter((e) => e.type === "boot").map((e) => (e.type === "boot" ? e.status : ""))).toEqual([
      "not_provisioned",
      "not_provisioned",
    ]);
    expect(loads(t).every((l) => !l.on)).toBe(true);
    expect(new Set(t.filter((e) => e.type === "feedback").map((e) => e.type === "feedback" && e.pattern))).toEqual(
      new Set(["not_provisioned"]),
    );
  });
});
