// Regression tests for the six flaws of the reference device code (angaza/nexus-embedded v2.0.1,
// nexus/src/nexus_keycode_pro.c and nexus_keycode_pro_extended.c). Each test builds the code that the reference
// accepts and asserts solkey's verdict; the comment says what the reference does with the same code.
import { sipKey } from "../firmware/crypto/siphash";
import { hexToBytes } from "../firmware/hex";
import { remainingMs } from "../firmware/ledger/reducer";
import { fullDigits, fullMac, obscureFull } from "../firmware/protocols/nexus/full";
import { nexusFull } from "../firmware/protocols/nexus/full_device";
import { NexusHasher } from "../firmware/protocols/nexus/hash";
import { smallEntry, smallSymbols } from "../firmware/protocols/nexus/small";
import { nexusSmall } from "../firmware/protocols/nexus/small_device";
import type { NexusState } from "../firmware/protocols/nexus/window";
import type { KeycodeProtocol } from "../firmware/protocols/protocol";
import { Bench, DAY } from "./ledger.helpers";

const KEY = hexToBytes("c4b84048cf0424a25dc5e9d3f0674036");
const full = nexusFull({ key: KEY });

/** Enters `entries` in order from `state`; the verdict kinds and the final state. */
function run(device: KeycodeProtocol<NexusState>, entries: string[], state = device.initialState()) {
  const kinds = entries.map((entry) => {
    const verdict = device.verify(state, entry);
    if (verdict.kind === "applied") state = verdict.state;
    return verdict.kind;
  });
  return { kinds, state };
}

/** Power cycle: the state goes to journal words and comes back. */
function powerCycle(device: KeycodeProtocol<NexusState>, state: NexusState): NexusState {
  const back = device.fromWords(device.toWords(state));
  if (back === undefined) throw new Error("state did not survive its words");
  return back;
}

describe("flaw 1: message IDs are 32-bit everywhere", () => {
  // Reference: get/set_full_message_id_flag and the window helpers take `uint16_t full_message_id`. Past 65535 the
  // truncated ID lies below the window, reads as "not received", and setting it marks the Pd slot instead, so the
  // same code applies on every entry.
  it("a code whose ID passed 65535 applies once, then is a duplicate", () => {
    // Walk the window up the honest way: a set-credit code every 40 IDs from 40 to 65600.
    const walk: string[] = [];
    for (let id = 40; id <= 65600; id += 40) walk.push(fullDigits({ type: "set_credit", key: KEY, id, hours: 1 }));
    const { kinds, state } = run(full, walk);
    expect(kinds.every((k) => k === "applied")).toBe(true);
    const code = fullDigits({ type: "add_credit", key: KEY, id: 65610, hours: 5 });
    expect(run(full, [code, code, code], state).kinds).toEqual(["applied", "duplicate", "duplicate"]);
  });

  it("IDs near 2^32-1 still infer, apply once and survive a power cycle", () => {
    const start: NexusState = { ...full.initialState(), highest: 0xffffffe0 };
    const code = fullDigits({ type: "add_credit", key: KEY, id: 0xfffffffe, hours: 1 });
    const first = run(full, [code], start);
    expect(first.kinds).toEqual(["applied"]);
    expect(run(full, [code], powerCycle(full, first.state)).kinds).toEqual(["duplicate"]);
  });

  it("the small keypad too", () => {
    const small = nexusSmall({ key: KEY });
    const start: NexusState = { ...small.initialState(), highest: 65560 };
    const code = smallSymbols({ type: "add_credit", key: KEY, id: 65570, days: 3 });
    expect(run(small, [code, code], start).kinds).toEqual(["applied", "duplicate"]);
  });
});

describe("flaw 2: no reusable codes", () => {
  it("a demo code applies once", () => {
    // Reference: case NEXUS_KEYCODE_PRO_FULL_ACTIVATION_DEMO_CODE adds minutes without setting the ID flag
    // ("Demo codes *can* be reused"): applied, applied, applied.
    // (ID 20: inside a fresh window, so the code moves nothing; test/nexus_interop.test.ts has the window rule.)
    const demo = fullDigits({ type: "demo", key: KEY, id: 20, minutes: 90 });
    const { kinds } = run(full, [demo, demo, demo]);
    expect(kinds).toEqual(["applied", "duplicate", "duplicate"]);
    const verdict = full.verify(full.initialState(), demo);
    expect(verdict).toMatchObject({ kind: "applied", action: { type: "add_credit", seconds: 90 * 60 } });
  });

  it("a wipe-IDs code applies once, and does not re-open the codes before it over and over", () => {
    // Reference: WIPE_STATE_TARGET_MASK_ONLY masks IDs <= 45, then resets Pd to 23 and clears the mask, so ID 45
    // reads as unused again: the wipe applies on every entry, and after each one the add-credit code (ID 42) too.
    const add = fullDigits({ type: "add_credit", key: KEY, id: 42, hours: 24 });
    const wipe = fullDigits({ type: "wipe_state", key: KEY, id: 45, wipe: "ids" });
    const { kinds, state } = run(full, [add, wipe, wipe]);
    expect(kinds).toEqual(["applied", "applied", "duplicate"]);
    // The reset itself is the code's meaning (the server restarts its IDs), so ID 42 may apply once more, not twice.
    expect(run(full, [add, wipe, add], state).kinds).toEqual(["applied", "duplicate", "duplicate"]);
    expect(run(full, [wipe], powerCycle(full, state)).kinds).toEqual(["duplicate"]);
  });

  it("two wipe-IDs codes entered in turn apply once each, not for ever", () => {
    // Remembering only the last wipe let W1, W2, W1, W2... each apply, every time re-opening the IDs below them.
    const w1 = fullDigits({ type: "wipe_state", key: KEY, id: 45, wipe: "ids" });
    const w2 = fullDigits({ type: "wipe_state", key: KEY, id: 50, wipe: "ids" });
    expect(run(full, [w1, w2, w1, w2, w1]).kinds).toEqual([
      "applied",
      "applied",
      "duplicate",
      "duplicate",
      "duplicate",
    ]);
    expect(run(full, [w2, w1]).kinds).toEqual(["applied", "duplicate"]); // an older wipe after a newer one: used
  });

  it("a wipe-credit-and-IDs code applies once", () => {
    const wipe = fullDigits({ type: "wipe_state", key: KEY, id: 50, wipe: "credit_and_ids" });
    expect(run(full, [wipe, wipe]).kinds).toEqual(["applied", "duplicate"]);
  });

  it.each(["wipe_ids", "wipe_credit_and_ids"] as const)(
    "the small keypad's %s code (one constant code per device) applies once per lifetime",
    (type) => {
      // Reference: MAINTENANCE wipe codes carry no ID and reset the window on every entry: add (ID 30) applied, wipe,
      // add applied again, wipe, add applied again... without limit. Here the second wipe is a duplicate.
      const small = nexusSmall({ key: KEY });
      const add = smallSymbols({ type: "add_credit", key: KEY, id: 30, days: 7 });
      const wipe = smallSymbols({ type, key: KEY });
      const first = run(small, [add, wipe, add]);
      expect(first.kinds).toEqual(["applied", "applied", "applied"]); // the one resync re-opens ID 30 once
      const after = powerCycle(small, first.state);
      expect(run(small, [wipe, add, wipe, add], after).kinds).toEqual([
        "duplicate",
        "duplicate",
        "duplicate",
        "duplicate",
      ]);
      // The other wipe is spent on its own.
      const other = smallSymbols({ type: type === "wipe_ids" ? "wipe_credit_and_ids" : "wipe_ids", key: KEY });
      expect(run(small, [other, other], after).kinds).toEqual(["applied", "duplicate"]);
    },
  );
});

describe("flaw 3: digits the MAC does not cover must be zero", () => {
  const h = new NexusHasher();

  it("a QC test code with non-zero reserved digits is invalid", () => {
    // Reference: parse_factory_and_passthrough pulls the 3 reserved digits and discards them; the MAC covers only the
    // minutes, so "5 123 60 MAC" applies like "5 000 60 MAC" (and 999 other variants).
    const genuine = fullDigits({ type: "qc_test", minutes: 60 });
    const variant = `5123${genuine.slice(4)}`;
    expect(full.verify(full.initialState(), genuine).kind).toBe("applied");
    expect(full.verify(full.initialState(), variant)).toEqual({
      kind: "invalid",
      reason: expect.stringMatching(/000/),
    });
  });

  it("a wipe code with non-zero reserved digits is invalid", () => {
    // Reference: parse_activation discards the 4 reserved digits of WIPE_STATE before the target digit.
    const genuine = fullDigits({ type: "wipe_state", key: KEY, id: 40, wipe: "credit" });
    const mac = Number(genuine.slice(8));
    const digits = Uint8Array.from(genuine, (c) => c.charCodeAt(0) - 48);
    obscureFull(h, digits, mac, -1);
    expect(Array.from(digits.subarray(3, 8))).toEqual([0, 0, 0, 0, 0]); // [reserved 0000][target 0]
    digits[4] = 7;
    obscureFull(h, digits, mac, 1);
    const variant = Array.from(digits).join("");
    expect(full.verify(full.initialState(), genuine).kind).toBe("applied");
    expect(full.verify(full.initialState(), variant).kind).toBe("invalid");
  });
});

describe("flaw 4: a code shorter than its type requires is rejected", () => {
  // Reference: nexus_keycode_pro_full_parse sends every non-14-digit frame to parse_factory_and_passthrough, which
  // for type digits 0-6 reads [type][MAC] with body 0 and ID 0; apply_activation then checks the MAC under the device
  // key: "0" + MAC(ID 0, add credit, 0 hours) is "add 0 hours" and marks ID 0 used.
  const h = new NexusHasher();
  const key = sipKey(KEY);

  it.each([0, 1, 2, 3])("a 7-digit code of type %i is invalid", (type) => {
    const short = `${type}${String(fullMac(h, key, 0, type, 0)).padStart(6, "0")}`;
    const verdict = full.verify(full.initialState(), short);
    expect(verdict).toEqual({ kind: "invalid", reason: `type ${type} expects 14 digits, got 7` });
  });

  it("factory codes must have their exact length", () => {
    const allowTest = fullDigits({ type: "allow_test" });
    expect(full.verify(full.initialState(), allowTest).kind).toBe("applied");
    expect(full.verify(full.initialState(), `${allowTest}0`).kind).toBe("invalid");
    expect(full.verify(full.initialState(), allowTest.slice(0, 6)).kind).toBe("invalid");
  });
});

describe("flaw 5: the extended small message is off unless a product enables it", () => {
  const code = smallSymbols({ type: "extended_set_credit", key: KEY, id: 30, days: "unlock" });

  it("a genuine extended code is invalid on a default device", () => {
    // Reference: nexus_keycode_pro_small_internal_bitstream_passthrough always hands it to the extended parser.
    const device = nexusSmall({ key: KEY });
    expect(device.verify(device.initialState(), code)).toEqual({
      kind: "invalid",
      reason: "extended small messages are disabled",
    });
  });

  it("applies once where enabled, and clears the restricted flag", () => {
    const device = nexusSmall({ key: KEY, enableExtendedSmallMessage: true, restricted: true });
    const { kinds, state } = run(device, [code, code]);
    expect(kinds).toEqual(["applied", "duplicate"]);
    expect(state.restricted).toBe(false);
    expect(device.verify(device.initialState(), code)).toMatchObject({ action: { type: "unlock" } });
  });

  it("accepts about 1 random extended guess in 256 where enabled, none where not", () => {
    // 2 ID bits leave 16 window IDs to try, each with a 12-bit MAC: 16/4096 = 1/256 per guess.
    const on = nexusSmall({ key: KEY, enableExtendedSmallMessage: true });
    const off = nexusSmall({ key: KEY });
    const h = new NexusHasher();
    let seed = 0x2545f491; // xorshift32: reproducible guesses
    const next = () => ((seed ^= seed << 13), (seed ^= seed >>> 17), (seed ^= seed << 5), seed >>> 0);
    let accepted = 0;
    for (let i = 0; i < 4096; i++) {
      const r = next();
      const header = ((0x20 | (r & 3)) << 10) | (1 << 8) | ((r >>> 2) % 240); // a set-credit increment
      const guess = smallEntry(h, header, (r >>> 12) & 0xfff);
      if (on.verify(on.initialState(), guess).kind === "applied") accepted++;
      expect(off.verify(off.initialState(), guess).kind).toBe("invalid");
    }
    expect(accepted).toBeGreaterThanOrEqual(4); // expected 16
    expect(accepted).toBeLessThanOrEqual(40);
  });
});

describe("flaw 6: factory and test codes stay within their lifetime counts across power cycles", () => {
  // Reference: the QC counts live in the keycode NV block, written after nxp_keycode_payg_credit_add (a power cut
  // between the two keeps the credit and loses the count), and every wipe-IDs code zeroes them
  // (nexus_keycode_pro_reset_test_code_count). Here the count is in the verdict's state, one journal record with the
  // credit, and wipes leave it alone.
  it("full: five one-hour QC codes, a power cycle after each, a wipe, then no more", () => {
    const qc = fullDigits({ type: "qc_test", minutes: 60 });
    const wipe = fullDigits({ type: "wipe_state", key: KEY, id: 30, wipe: "credit_and_ids" });
    let state = full.initialState();
    const kinds: string[] = [];
    for (const entry of [qc, qc, qc, qc, qc, wipe, qc, qc]) {
      const verdict = full.verify(state, entry);
      kinds.push(verdict.kind);
      if (verdict.kind === "applied") state = powerCycle(full, verdict.state);
    }
    expect(kinds).toEqual(["applied", "applied", "applied", "applied", "applied", "applied", "duplicate", "duplicate"]);
  });

  it("full: short (<= 10 minute) and long QC codes have separate caps", () => {
    const device = nexusFull({ key: KEY, qcShortLifetimeMax: 2, qcLongLifetimeMax: 1 });
    const short = fullDigits({ type: "qc_test", minutes: 10 });
    const long = fullDigits({ type: "qc_test", minutes: 11 });
    expect(run(device, [short, long, short, long, short]).kinds).toEqual([
      "applied",
      "applied",
      "applied",
      "duplicate",
      "duplicate",
    ]);
  });

  it("small: the QC code stops at its cap, through power cycles and the wipe-IDs code", () => {
    const small = nexusSmall({ key: KEY, qcLongLifetimeMax: 2 });
    const qc = smallSymbols({ type: "qc_test" });
    const wipe = smallSymbols({ type: "wipe_ids", key: KEY });
    let state = small.initialState();
    const kinds: string[] = [];
    for (const entry of [qc, qc, wipe, qc]) {
      const verdict = small.verify(state, entry);
      kinds.push(verdict.kind);
      if (verdict.kind === "applied") state = powerCycle(small, verdict.state);
    }
    expect(kinds).toEqual(["applied", "applied", "applied", "duplicate"]);
  });
});

describe("flaw 6: the public allow-test and short-test codes are not free power every 720 s", () => {
  // Reference and solkey before this fix: both are one public code for every device, with no count. On a unit with no
  // credit, typed each time the attempt limiter refills (one per 720 s), each gave 127 s: 120 a day, about 4.2 h.
  const cases = [
    ["full allow-test", nexusFull({ key: KEY }), fullDigits({ type: "allow_test" })],
    ["small short test", nexusSmall({ key: KEY }), smallSymbols({ type: "short_test" })],
  ] as const;

  it.each(cases)(
    "%s: a day of one entry per 720 s, a power cut after each, applies 5 times in all",
    (_n, device, code) => {
      const bench = new Bench<NexusState>(device);
      bench.boot();
      let applied = 0;
      let testMs = 0;
      for (let t = 0; t < DAY; t += 720_000) {
        if (bench.enter(code)?.kind === "applied") {
          applied++;
          testMs += remainingMs(bench.state); // the unit has no credit: all of it is test power
        }
        bench.elapse(720_000);
        bench.cut();
        bench.boot();
      }
      expect(applied).toBe(5);
      expect(testMs).toBe(5 * 127_000);
      expect(bench.saved.protocol.shortTests).toBe(5);
    },
  );

  it.each(cases)("%s: the cap survives power cycles and every wipe, and is a duplicate past it", (_n, device, code) => {
    const wipes =
      device.name === "nexus-full"
        ? [fullDigits({ type: "wipe_state", key: KEY, id: 30, wipe: "credit_and_ids" })]
        : [smallSymbols({ type: "wipe_credit_and_ids", key: KEY })];
    let state = device.initialState();
    const kinds: string[] = [];
    for (const entry of [code, code, code, code, code, ...wipes, code, code]) {
      const verdict = device.verify(state, entry);
      kinds.push(verdict.kind);
      if (verdict.kind === "applied") state = powerCycle(device, verdict.state);
    }
    expect(kinds).toEqual(["applied", "applied", "applied", "applied", "applied", "applied", "duplicate", "duplicate"]);
  });

  it("the cap is an option (0 turns the code off)", () => {
    const off = nexusFull({ key: KEY, allowTestLifetimeMax: 0 });
    expect(off.verify(off.initialState(), fullDigits({ type: "allow_test" }))).toEqual({ kind: "duplicate" });
    const two = nexusSmall({ key: KEY, shortTestLifetimeMax: 2 });
    const short = smallSymbols({ type: "short_test" });
    expect(run(two, [short, short, short]).kinds).toEqual(["applied", "applied", "duplicate"]);
    expect(() => nexusFull({ key: KEY, allowTestLifetimeMax: 256 })).toThrow(RangeError);
  });
});
