// Nexus interop with servers and devices that follow the references (docs/CONFORMANCE.md): the encoder refuses what
// nexus-python refuses and every code a window could accept at two IDs, the ledger skips such IDs, small-keypad
// unlocks and demo codes protect what the customer paid for, and solkey's own vector rows
// (vectors/nexus-interop.jsonl) pass under Node and inside XS.
import fc from "fast-check";
import { sipKey } from "../firmware/crypto/siphash";
import { hexToBytes } from "../firmware/hex";
import { fullDigits } from "../firmware/protocols/nexus/full";
import { nexusFull } from "../firmware/protocols/nexus/full_device";
import { NexusHasher } from "../firmware/protocols/nexus/hash";
import {
  extendedMac,
  setIncrement,
  smallEntry,
  smallMac,
  smallRefusal,
  smallSymbols,
  type SmallMessage,
} from "../firmware/protocols/nexus/small";
import { nexusSmall } from "../firmware/protocols/nexus/small_device";
import { isUsed, WINDOW_ABOVE, WINDOW_BELOW, type NexusState } from "../firmware/protocols/nexus/window";
import type { KeycodeProtocol } from "../firmware/protocols/protocol";
import path from "path";
import { encodeCode, type CodeRequest, type DeviceSecrets } from "../fleet/codes";
import { openFleet } from "../fleet/database";
import { provisionBatch } from "../fleet/devices";
import { Ledger } from "../fleet/ledger";
import { makeProfile } from "../fleet/profile";
import { MASTER_HEX, scratch } from "./fleet.helpers";
import type { NexusRow } from "../tools/conformance/nexus";
import { Bench } from "./ledger.helpers";
import { checkRows } from "../tools/probes/nexus.probe";
import { INTEROP_VECTORS_DIR, inXs, readVectors } from "./vectors";

const rows = readVectors<NexusRow>("nexus-interop.jsonl", INTEROP_VECTORS_DIR);
const KEY = hexToBytes("c4b84048cf0424a25dc5e9d3f0674036");
const README_KEY = hexToBytes("deadbeefdeadbeefdeadbeefdeadbeef");
const full = nexusFull({ key: KEY });
const small = nexusSmall({ key: KEY });
const extendedSmall = (key = KEY) => nexusSmall({ key, enableExtendedSmallMessage: true });

/** A fresh device state whose window top is `highest`, nothing used. */
const at = (device: KeycodeProtocol<NexusState>, highest: number): NexusState => ({
  ...device.initialState(),
  highest,
});

describe("Nexus interop vectors (vectors/nexus-interop.jsonl)", () => {
  it("has 379 rows: refusals, extended codes and window edges", () => {
    expect(rows).toHaveLength(379);
    expect(rows.filter((r) => r.refused === true)).toHaveLength(17);
    expect(rows.filter((r) => r.type === "extended_set_credit")).toHaveLength(320);
    expect(rows.filter((r) => r.highest !== undefined)).toHaveLength(23);
  });

  it("encodes, refuses and verifies every row under Node", () => {
    expect(checkRows(rows)).toEqual(rows.map(() => null));
  });

  it("does the same inside XS", async () => {
    expect(await inXs("tools/probes/nexus.probe.ts", "checkRows", rows)).toEqual(rows.map(() => null));
  });

  it("fails a refused row the encoder would issue, and an edge row on the wrong window", () => {
    const refused = rows.find((r) => r.refused === true && r.type === "set_credit") as NexusRow;
    expect(checkRows([{ ...refused, days: 2 }])).toEqual(["encoder issued a message the row says it must refuse"]);
    const edge = rows.find((r) => r.highest !== undefined && r.id === (r.highest ?? 0) + WINDOW_ABOVE) as NexusRow;
    expect(checkRows([{ ...edge, highest: (edge.highest ?? 0) - 1 }])[0]).toMatch(/device said invalid/);
  });
});

describe("Nexus encoder refusals", () => {
  it("refuses a 1-day small set credit at every ID of 63 mod 64, as nexus-python does, and nothing else", () => {
    for (const id of [63, 127, 4095, 65535, 0xffffffff]) {
      expect(smallRefusal({ type: "set_credit", key: KEY, id, days: 1 })).toMatch(/63 mod 64/);
      expect(() => smallSymbols({ type: "set_credit", key: KEY, id, days: 1 })).toThrow(RangeError);
      expect(smallRefusal({ type: "set_credit", key: KEY, id: id - 1, days: 1 })).toBeNull();
      expect(smallRefusal({ type: "set_credit", key: KEY, id, days: 2 })).toBeNull();
      expect(smallRefusal({ type: "add_credit", key: KEY, id, days: 1 })).toBeNull();
    }
    // Why: that header is [63][set credit][increment 0], the older small-protocol test code's.
    expect(setIncrement(1)).toBe(0);
  });

  it("refuses nexus-python's README collision (ID 50, 84 days) and issues its next ID, 51", () => {
    const at50: SmallMessage = { type: "extended_set_credit", key: README_KEY, id: 50, days: 84 };
    expect(smallRefusal(at50)).toMatch(/same MAC at ID/);
    expect(smallSymbols({ ...at50, id: 51 })).toBe("45545244442435");
  });

  it("a refused extended code, issued anyway, applies twice on a device (why the encoder refuses it)", () => {
    const message: SmallMessage = { type: "extended_set_credit", key: README_KEY, id: 50, days: 84 };
    const other = Number(/at ID (\d+):/.exec(smallRefusal(message) ?? "")?.[1]);
    // The same bits the encoder would have written (small.ts, extended_set_credit).
    const h = new NexusHasher();
    const increment = setIncrement(84);
    const mac = extendedMac(h, sipKey(README_KEY), 50, increment);
    const code = smallEntry(h, ((0x20 | (50 & 3)) << 10) | (1 << 8) | increment, mac);
    const device = extendedSmall(README_KEY);
    let state = at(device, Math.min(50, other) + WINDOW_BELOW);
    let applied = 0;
    for (let i = 0; i < 3; i++) {
      const verdict = device.verify(state, code);
      if (verdict.kind === "applied") {
        applied++;
        state = verdict.state;
      }
    }
    expect(applied).toBe(2);
  });
});

describe("the ledger's encoder skips an ID it refuses", () => {
  const device: DeviceSecrets = {
    deviceId: 1,
    protocol: "nexus-small",
    key: KEY,
    startingCode: 0,
    timeDivider: 1,
    extended: false,
    restricted: false,
  };
  const set1: CodeRequest = { kind: "set", seconds: 86400 };

  it("issues a 1-day set credit after ID 62 at ID 64, which the device applies", () => {
    const code = encodeCode(device, set1, 62);
    expect(code.seq).toBe(64);
    const digits = code.keycode.replace(/\s/g, "").slice(1); // after the start key
    expect(small.verify(at(small, 62), digits)).toMatchObject({ kind: "applied", state: { highest: 64 } });
    expect(encodeCode(device, { kind: "set", seconds: 2 * 86400 }, 62).seq).toBe(63);
  });
});

describe("the ledger skips an ID at which an earlier code of the device would also apply", () => {
  it("issues 1-day adds past the first ID whose code repeats 64 IDs later, without issuing that ID", async () => {
    const file = path.join(scratch("interop"), "fleet.db");
    const db = openFleet(file, { create: true });
    try {
      const profile = makeProfile({ protocol: "nexus-small" });
      const { devices } = provisionBatch(db, file, { profile, count: 40, master: hexToBytes(MASTER_HEX) });
      // The device and ID whose 1-day add has the same MAC 64 IDs on (expected about 4,096 / 40 IDs in).
      const h = new NexusHasher();
      const repeatAt = (key: Uint8Array) => {
        const k = sipKey(key);
        for (let id = 24; ; id++) if (smallMac(h, k, id, 0, 0) === smallMac(h, k, id + 64, 0, 0)) return id;
      };
      const found = devices.map((d) => ({ d, id: repeatAt(d.record.key) })).sort((a, b) => a.id - b.id)[0];
      const { d, id } = found;
      const stale = smallSymbols({ type: "add_credit", key: d.record.key, id, days: 1 });
      // Why it matters: that code, re-entered once the window has passed its ID, applies at ID + 64.
      const own = nexusSmall({ key: d.record.key });
      expect(own.verify(at(own, id + 64), stale)).toMatchObject({ kind: "applied", state: { highest: id + 64 } });

      const ledger = Ledger.sqlite(db, file);
      const add = { device: d.serial, code: { kind: "add", seconds: 86400 } as const, pastWindow: true };
      const issued = await ledger.issueMany(Array.from({ length: id + 64 - 23 }, () => add));
      const seqs = issued.map((c) => c.seq);
      expect(seqs).toContain(id);
      expect(seqs).not.toContain(id + 64);
      expect(seqs).toContain(id + 65);
      expect(new Set(issued.map((c) => c.keycode)).size).toBe(issued.length);
    } finally {
      db.close();
    }
  });
});

/** A server's issue history: IDs rising by 1-6 from `start`, with the kinds and amounts of each code. */
const history = fc.record({
  start: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 65400, max: 0xfffff000 })),
  // Amounts: 1 often (a 1-day small set credit is what the encoder refuses at 63 mod 64), else up to 960.
  issued: fc.array(
    fc.tuple(fc.integer({ min: 1, max: 6 }), fc.nat(5), fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 960 }))),
    {
      minLength: 1,
      maxLength: 12,
    },
  ),
});

/**
 * Whether `code`, issued at `id`, is accepted at `id` and only there: on every window that holds `id` (top from
 * id - 40 to id + 23) it applies, marks `id` used, moves the window exactly as far as `id` does, and is a duplicate
 * when entered again. A code accepted at another ID marks that one instead or moves the window further.
 */
function acceptedOnlyAt(device: KeycodeProtocol<NexusState>, code: string, id: number): boolean {
  for (let highest = Math.max(WINDOW_BELOW, id - WINDOW_ABOVE); highest <= id + WINDOW_BELOW; highest++) {
    const verdict = device.verify(at(device, highest), code);
    if (verdict.kind !== "applied") return false;
    if (!isUsed(verdict.state, id) || verdict.state.highest !== Math.max(highest, id)) return false;
    if (device.verify(verdict.state, code).kind === "applied") return false;
  }
  return true;
}

describe("Nexus: the encoder never issues a code accepted at two IDs (random ID sequences)", () => {
  const KINDS: CodeRequest[] = [
    { kind: "add", seconds: 3600 },
    { kind: "set", seconds: 7200 },
    { kind: "unlock" },
    { kind: "lock" },
    { kind: "wipe", target: "credit" },
    { kind: "wipe", target: "restricted_flag" },
  ];
  const secrets = (protocol: "nexus-full" | "nexus-small"): DeviceSecrets => ({
    deviceId: 1,
    protocol,
    key: KEY,
    startingCode: 0,
    timeDivider: 1,
    extended: false,
    restricted: false,
  });

  it.each(["nexus-full", "nexus-small"] as const)("%s, through the ledger's encoder", (protocol) => {
    const device = protocol === "nexus-full" ? full : small;
    fc.assert(
      fc.property(history, ({ start, issued }) => {
        let last = start;
        for (const [step, kind, days] of issued) {
          // Small amounts in days (1-960, adds 1-405) so that 1-day set-credit codes come up, at 63 mod 64 among
          // others; full amounts in hours.
          const base = KINDS[kind];
          const unit = protocol === "nexus-full" ? 3600 : 86400;
          const amount = base.kind === "add" ? 1 + (days % 405) : days;
          // Rounded as the device carries it (above 90 days the small keypad counts in steps): the IDs are the point.
          const request =
            base.kind === "add" || base.kind === "set"
              ? { ...base, seconds: amount * unit, round: "down" as const }
              : base;
          const code = encodeCode(secrets(protocol), request, last + step - 1);
          if (code.seq === null) continue; // a small wipe-credit code carries no ID (maintenance code)
          const printed = code.keycode.replace(/\s/g, "");
          const digits = protocol === "nexus-full" ? printed.replace(/[*#]/g, "") : printed.slice(1);
          if (!acceptedOnlyAt(device, digits, code.seq)) return false;
          last = code.seq;
        }
        return true;
      }),
      { numRuns: 40 },
    );
  });

  it("nexus-small extended set credit, skipping the IDs the encoder refuses", () => {
    const device = extendedSmall();
    fc.assert(
      fc.property(history, ({ start, issued }) => {
        let id = start;
        for (const [step, , days] of issued) {
          let message: SmallMessage = { type: "extended_set_credit", key: KEY, id: id + step, days };
          while (smallRefusal(message) !== null) message = { ...message, id: message.id + 1 };
          if (!acceptedOnlyAt(device, smallSymbols(message), message.id)) return false;
          id = message.id;
        }
        return true;
      }),
      { numRuns: 60 },
    );
  });
});

describe("small keypad unlock codes", () => {
  const unlock = (id: number) => smallSymbols({ type: "unlock", key: KEY, id });
  const set = (id: number, days: number) => smallSymbols({ type: "set_credit", key: KEY, id, days });

  it("an unlock entered before a lower set-credit code keeps the unit unlocked (the reference relocks it)", () => {
    // Reference: the unlock is an add-credit message that marks only its own ID, so the set credit at 27 still
    // applies and puts a paid-off unit back on 30 days of metering. Here the unlock marks every lower ID used.
    const bench = new Bench(small);
    bench.boot();
    expect(bench.enter(unlock(28))).toMatchObject({ kind: "applied", action: { type: "unlock" } });
    expect(bench.enter(set(27, 30))).toEqual({ kind: "duplicate" });
    expect(bench.saved.payg).toEqual({ kind: "unlocked" });
  });

  it("an unlock on a unit already unlocked is applied again, and changes nothing but its ID (the reference: duplicate)", () => {
    const bench = new Bench(small);
    bench.boot();
    bench.enter(unlock(24));
    const before = bench.saved.protocol;
    expect(bench.enter(unlock(25))).toMatchObject({ kind: "applied", action: { type: "unlock" } });
    expect(bench.saved.payg).toEqual({ kind: "unlocked" });
    expect(bench.saved.protocol).toEqual({ ...before, highest: 25, used: 0xffffff });
    expect(bench.enter(unlock(25))).toEqual({ kind: "duplicate" });
  });
});

describe("small keypad maintenance and test codes carry ID 0", () => {
  it("refuses a test or maintenance code whose MAC covers another ID (the reference accepts all 64)", () => {
    const h = new NexusHasher();
    const ff = sipKey(new Uint8Array(16).fill(0xff));
    for (const id of [1, 5, 63]) {
      const test = smallEntry(h, (id << 10) | (3 << 8) | 1, smallMac(h, ff, id, 3, 1));
      expect(small.verify(small.initialState(), test)).toEqual({
        kind: "invalid",
        reason: "maintenance and test codes carry ID 0",
        malformed: true, // refused on its public header: no guess for the limiter (issue 11)
      });
      const wipe = smallEntry(h, (id << 10) | (3 << 8) | 0x82, smallMac(h, sipKey(KEY), id, 3, 0x82));
      expect(small.verify(small.initialState(), wipe).kind).toBe("invalid");
    }
    expect(small.verify(small.initialState(), smallSymbols({ type: "qc_test" })).kind).toBe("applied");
  });
});

describe("full keypad demo codes never void a code the customer has not entered", () => {
  const demo = (id: number) => fullDigits({ type: "demo", key: KEY, id, minutes: 30 });
  const add = (id: number) => fullDigits({ type: "add_credit", key: KEY, id, hours: 24 });
  const setCredit = (id: number) => fullDigits({ type: "set_credit", key: KEY, id, hours: 24 });

  it("refuses a demo code at 61 while the add at 27 is pending (the reference applies both)", () => {
    // Applied as the reference would, a demo code that marks its ID moves the window to 61, and the add at 27 falls
    // out of it: invalid. The reference does not mark demo IDs (and so replays them, flaw 2).
    const start = at(full, 26);
    expect(full.verify(start, demo(61))).toEqual({
      kind: "invalid",
      reason: "demo code would push unused IDs out of the window",
    });
    expect(full.verify(start, add(27)).kind).toBe("applied");
  });

  it("applies a demo code that moves the window only over used IDs, once, and the pending codes still apply", () => {
    const paid = full.verify(at(full, 23), setCredit(40));
    if (paid.kind !== "applied") throw new Error("set credit refused");
    const moved = full.verify(paid.state, demo(60));
    expect(moved).toMatchObject({ kind: "applied", action: { type: "add_credit", seconds: 1800 } });
    if (moved.kind !== "applied") throw new Error("unreachable");
    expect(full.verify(moved.state, demo(60)).kind).toBe("duplicate");
    expect(full.verify(moved.state, add(41)).kind).toBe("applied");
  });

  it("never leaves an unused ID below the window, whatever the window and the demo ID (exhaustive)", () => {
    for (const used of [0, 0xffffff, 0xfffffe, 0x7fffff, 0x000fff]) {
      for (let id = 0; id <= 23 + WINDOW_ABOVE + 30; id++) {
        const state = { ...at(full, 40), used };
        const verdict = full.verify(state, demo(id));
        if (verdict.kind !== "applied") continue;
        for (let k = 40 - WINDOW_BELOW; k < verdict.state.highest - WINDOW_BELOW; k++)
          expect(isUsed(state, k)).toBe(true);
      }
    }
  });
});
