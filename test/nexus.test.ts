import { sipKey } from "../firmware/crypto/siphash";
import { hexToBytes } from "../firmware/hex";
import type { Verdict } from "../firmware/protocols/action";
import { encodeFull, fullDigits } from "../firmware/protocols/nexus/full";
import { nexusFull } from "../firmware/protocols/nexus/full_device";
import { NexusHasher } from "../firmware/protocols/nexus/hash";
import {
  addIncrementDays,
  encodeSmall,
  roundSmallDays,
  setIncrementDays,
  smallEntry,
  smallMac,
  smallSymbols,
} from "../firmware/protocols/nexus/small";
import { nexusSmall } from "../firmware/protocols/nexus/small_device";
import { type NexusState } from "../firmware/protocols/nexus/window";
import { XsProbe } from "../hosts/xsnap/engine";
import type { NexusRow } from "../tools/conformance/nexus";
import { checkRows, verifyEntries } from "../tools/probes/nexus.probe";
import { NOT_STRINGS } from "./bad-inputs";
import { readVectors } from "./vectors";

const rows = readVectors<NexusRow>("nexus.jsonl");
const KEY = hexToBytes("c4b84048cf0424a25dc5e9d3f0674036");

describe("Nexus Keycode vectors", () => {
  it("has the 32 published rows", () => {
    expect(rows).toHaveLength(32);
    expect(rows.filter((r) => r.protocol === "nexus-full")).toHaveLength(13);
  });

  it("encodes and verifies every row under Node", () => {
    expect(checkRows(rows)).toEqual(rows.map(() => null));
  });

  it("encodes and verifies every row inside XS", async () => {
    const xs = await XsProbe.load("tools/probes/nexus.probe.ts");
    try {
      const { result } = await xs.call<(string | null)[]>("checkRows", rows);
      expect(result).toEqual(rows.map(() => null));
    } finally {
      await xs.close();
    }
  });

  it("gives the same verdicts inside XS as under Node for a run with duplicates and garbage", async () => {
    const codes = [24, 25, 24, 90, 26].map((id) => fullDigits({ type: "add_credit", key: KEY, id, hours: 1 }));
    const entries = [...codes, "12345678901234", "4064983"];
    const node = verifyEntries("nexus-full", "c4b84048cf0424a25dc5e9d3f0674036", entries);
    const xs = await XsProbe.load("tools/probes/nexus.probe.ts");
    try {
      const { result } = await xs.call("verifyEntries", "nexus-full", "c4b84048cf0424a25dc5e9d3f0674036", entries);
      expect(result).toEqual(node);
      expect(node).toEqual({ applied: 4, duplicate: 1, invalid: 2 }); // id 90 is beyond 23+40; the allow-test applies
    } finally {
      await xs.close();
    }
  });
});

/** The reference's own window test (nexus-embedded test_nexus_keycode_pro_full.c, messages_shift_window). */
describe("Nexus full: the reference's stateful sequence", () => {
  const device = nexusFull({ key: hexToBytes("12ff00ffffffffffffffffffffcdffab") });
  const DAY = 86400;
  // [entry, expected verdict, expected action] in order on one fresh device.
  const steps: [string, "applied" | "duplicate" | "invalid", object?][] = [
    ["17512175671270", "applied", { type: "add_credit", seconds: DAY }], // ID 0
    ["54351282878335", "applied", { type: "add_credit", seconds: DAY }], // ID 18
    ["54351282878335", "duplicate"],
    ["16661656430865", "applied", { type: "set_credit", seconds: DAY }], // set, ID 17
    ["18741480856587", "duplicate"], // ID 16, below the set
    ["37812659533400", "applied", { type: "add_credit", seconds: DAY }], // ID 63
    ["58409523890468", "applied", { type: "add_credit", seconds: DAY }], // ID 85
    ["84961300121900", "applied", { type: "add_credit", seconds: DAY }], // ID 125
    ["90216400698647", "applied", { type: "add_credit", seconds: DAY }], // ID 165
    ["27843005971327", "applied", { type: "add_credit", seconds: DAY }], // ID 205
    ["23815985837906", "applied", { type: "add_credit", seconds: 7 * DAY }], // ID 245
    ["74837625389313", "applied", { type: "add_credit", seconds: 30 * DAY }], // ID 285
    ["80226322507031", "applied", { type: "set_credit", seconds: DAY }], // set, ID 275
    ["74745234263745", "duplicate"], // ID 274
    ["97120210121779", "applied", { type: "set_credit", seconds: 365 * DAY }], // set, ID 300
    ["80226322507031", "invalid"], // ID 275 is now below the window: it expands to 339, the MAC says no
    ["16008638417832", "applied", { type: "add_credit", seconds: DAY }], // ID 325
    ["57297667770280", "invalid"], // ID 400 is too far above 325
    ["21096794406802", "applied", { type: "unlock" }], // ID 350
  ];

  it("gives the reference's verdict and action at every step", () => {
    let state = device.initialState();
    const got = steps.map(([entry]) => {
      const verdict = device.verify(state, entry);
      if (verdict.kind === "applied") state = verdict.state;
      return verdict.kind === "applied" ? [verdict.kind, verdict.action] : [verdict.kind];
    });
    expect(got).toEqual(steps.map(([, kind, action]) => (action ? [kind, action] : [kind])));
    expect(state.highest).toBe(350);
  });
});

describe("Nexus replay state words", () => {
  const device = nexusSmall({ key: KEY });

  it("round-trips a state that has seen every kind of change", () => {
    let state: NexusState = { ...device.initialState(), highest: 0xfffffff0, used: 0xabcdef, qcShort: 3, qcLong: 5 };
    state = { ...state, shortTests: 255, smallWipeIds: true, smallWipeCreditAndIds: true };
    state = { ...state, restricted: true, lastWipe: 0xffffffff };
    const words = device.toWords(state);
    expect(words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)).toBe(true);
    expect(device.fromWords(words)).toEqual(state);
    expect(device.fromWords(device.toWords(device.initialState()))).toEqual(device.initialState());
  });

  it("reads words of layout 1 (before the short-test count) with a count of 0, and still writes them for it", () => {
    // Written by the firmware before layout 2: restricted, QC counts 3 and 5, a full-keypad wipe at ID 45.
    const layout1 = [0x4e580001, 0xfffffff0, 0xabcdef, 0x30503, 45];
    const state = device.fromWords(layout1);
    expect(state).toEqual({
      highest: 0xfffffff0,
      used: 0xabcdef,
      qcShort: 3,
      qcLong: 5,
      shortTests: 0,
      smallWipeIds: false,
      smallWipeCreditAndIds: false,
      restricted: true,
      lastWipe: 45,
    });
    expect(device.toWords(state!)).toEqual(layout1);
    expect(device.toWords({ ...state!, shortTests: 2 })).toEqual([0x4e580002, 0xfffffff0, 0xabcdef, 0xb0503, 45]);
    expect(device.toWords({ ...state!, smallWipeIds: true })).toEqual([
      0x4e580002, 0xfffffff0, 0xabcdef, 0x4030503, 45,
    ]);
  });

  it.each([
    ["no words", []],
    ["a word short", [0x4e580001, 23, 0, 0]],
    ["another tag", [0x4e580003, 23, 0, 0, 0]],
    ["highest below 23", [0x4e580001, 22, 0, 0, 0]],
    ["a 25-bit mask", [0x4e580001, 23, 0x1000000, 0, 0]],
    ["layout-2 flags under the layout-1 tag", [0x4e580001, 23, 0, 0x40000, 0]],
    ["layout 2 for flags layout 1 holds", [0x4e580002, 23, 0, 0x3ffff, 0]],
    ["unknown flag bits", [0x4e580002, 23, 0, 0x10000000, 0]],
    ["a wipe ID without its flag", [0x4e580001, 23, 0, 0, 7]],
    ["a negative word", [0x4e580001, -1, 0, 0, 0]],
    ["a fraction", [0x4e580001, 23.5, 0, 0, 0]],
  ])("refuses %s", (_name, words) => {
    expect(device.fromWords(words)).toBeUndefined();
  });
});

describe("Nexus bad input", () => {
  const full = nexusFull({ key: KEY });
  const small = nexusSmall({ key: KEY });
  const BAD = ["", "1", "*12345678901234#", "1234567890123a", "١٢٣٤٥٦٧٨٩٠١٢٣٤", "9".repeat(31), "5".repeat(15)];

  it.each(BAD)("full and small say invalid, without throwing, to %j", (entry) => {
    expect(full.verify(full.initialState(), entry).kind).toBe("invalid");
    expect(small.verify(small.initialState(), entry).kind).toBe("invalid");
  });

  // Every way a caller's state can fail to be a NexusState: the wrong type, a field missing, out of range or mistyped.
  const fresh = full.initialState();
  const BAD_STATES: [string, unknown][] = [
    ...NOT_STRINGS.filter((v) => typeof v !== "string").map((v): [string, unknown] => [String(v), v]),
    ["a string", "state"],
    ["no highest", { ...fresh, highest: undefined }],
    ["highest below 23", { ...fresh, highest: 22 }],
    ["highest past 2^32-1", { ...fresh, highest: 2 ** 32 }],
    ["highest NaN", { ...fresh, highest: NaN }],
    ["highest as text", { ...fresh, highest: "30" }],
    ["a 25-bit mask", { ...fresh, used: 0x1000000 }],
    ["a fractional mask", { ...fresh, used: 1.5 }],
    ["a negative mask", { ...fresh, used: -1 }],
    ["qcShort 256", { ...fresh, qcShort: 256 }],
    ["qcLong -1", { ...fresh, qcLong: -1 }],
    ["shortTests missing", { ...fresh, shortTests: undefined }],
    ["shortTests Infinity", { ...fresh, shortTests: Infinity }],
    ["restricted as 0", { ...fresh, restricted: 0 }],
    ["smallWipeIds missing", { ...fresh, smallWipeIds: undefined }],
    ["smallWipeCreditAndIds as text", { ...fresh, smallWipeCreditAndIds: "false" }],
    ["lastWipe -2", { ...fresh, lastWipe: -2 }],
    ["lastWipe null", { ...fresh, lastWipe: null }],
  ];

  it.each(BAD_STATES)("verify is total: a state that is not a NexusState (%s) is invalid, never a throw", (_n, bad) => {
    // Before: verify(null, code) threw a TypeError and verify({}, code) judged the code against NaN IDs.
    const codes: [typeof full, string][] = [
      [full, fullDigits({ type: "add_credit", key: KEY, id: 30, hours: 1 })],
      [full, fullDigits({ type: "allow_test" })],
      [small, smallSymbols({ type: "add_credit", key: KEY, id: 30, days: 1 })],
      [small, smallSymbols({ type: "short_test" })],
    ];
    for (const [device, code] of codes) {
      expect(device.verify(bad as NexusState, code)).toEqual({
        kind: "invalid",
        reason: "bad state: not a Nexus replay state",
      });
    }
  });

  it("passes every state the words can hold: fresh, and every field at its maximum", () => {
    const max = full.fromWords([0x4e580002, 0xffffffff, 0xffffff, 0xfffffff, 7])!;
    expect(full.verify(fresh, fullDigits({ type: "allow_test" })).kind).toBe("applied");
    expect(small.verify(small.initialState(), smallSymbols({ type: "short_test" })).kind).toBe("applied");
    const last = { key: KEY, id: 0xffffffff } as const;
    expect(full.verify(max, fullDigits({ type: "add_credit", ...last, hours: 1 }))).toEqual({ kind: "duplicate" });
    expect(small.verify(max, smallSymbols({ type: "add_credit", ...last, days: 1 }))).toEqual({ kind: "duplicate" });
  });

  it("says invalid to a non-string entry", () => {
    expect(full.verify(full.initialState(), 12345678901234 as unknown as string).kind).toBe("invalid");
    expect(small.verify(small.initialState(), null as unknown as string).kind).toBe("invalid");
  });

  it.each([15, 17])("factories refuse a %i-byte key with a RangeError", (n) => {
    const message = `"key" expected 16 bytes, got ${n}`;
    expect(() => nexusFull({ key: new Uint8Array(n) })).toThrow(new RangeError(message));
    expect(() => nexusSmall({ key: new Uint8Array(n) })).toThrow(new RangeError(message));
  });

  it("factories refuse a key that is not bytes with a TypeError", () => {
    expect(() => nexusFull({ key: "00".repeat(16) as unknown as Uint8Array })).toThrow(TypeError);
  });

  it.each([
    ["a negative ID", { type: "add_credit", key: KEY, id: -1, hours: 1 }, RangeError],
    ["an ID past 2^32", { type: "add_credit", key: KEY, id: 2 ** 32, hours: 1 }, RangeError],
    ["100000 hours", { type: "add_credit", key: KEY, id: 1, hours: 100000 }, RangeError],
    ["set credit 99999 (that is unlock)", { type: "set_credit", key: KEY, id: 1, hours: 99999 }, RangeError],
    ["fractional hours", { type: "add_credit", key: KEY, id: 1, hours: 1.5 }, TypeError],
    ["a wipe target it does not know", { type: "wipe_state", key: KEY, id: 1, wipe: "all" }, RangeError],
    ["a QC test of 100 minutes", { type: "qc_test", minutes: 100 }, RangeError],
    ["a short key", { type: "unlock", key: new Uint8Array(15), id: 1 }, RangeError],
  ])("encodeFull refuses %s", (_name, message, error) => {
    expect(() => encodeFull(message as never)).toThrow(error);
  });

  it.each([
    ["0 days", { type: "add_credit", key: KEY, id: 1, days: 0 }],
    ["406 days of add credit", { type: "add_credit", key: KEY, id: 1, days: 406 }],
    ["961 days of set credit", { type: "set_credit", key: KEY, id: 1, days: 961 }],
  ])("encodeSmall refuses %s with a RangeError", (_name, message) => {
    expect(() => encodeSmall(message as never)).toThrow(RangeError);
  });
});

describe("Nexus small day rounding (server side)", () => {
  it("rounds every add request up to the smallest increment that covers it", () => {
    for (let days = 1; days <= 405; days++) {
      const rounded = roundSmallDays("add_credit", days);
      const representable = Array.from({ length: 255 }, (_, i) => addIncrementDays(i));
      expect(rounded).toBe(Math.min(...representable.filter((d) => d >= days)));
    }
  });

  it("rounds every set request up to the smallest increment that covers it", () => {
    const representable = Array.from({ length: 240 }, (_, i) => setIncrementDays(i));
    for (let days = 1; days <= 960; days++) {
      expect(roundSmallDays("set_credit", days)).toBe(Math.min(...representable.filter((d) => d >= days)));
    }
  });

  it("credits the rounded amount on the device", () => {
    const device = nexusSmall({ key: KEY });
    const code = encodeSmall({ type: "add_credit", key: KEY, id: 30, days: 181 }).replace(/ /g, "").slice(1);
    const verdict: Verdict<NexusState> = device.verify(device.initialState(), code);
    expect(verdict).toMatchObject({ kind: "applied", action: { type: "add_credit", seconds: 183 * 86400 } });
  });
});

describe("Nexus actions beyond the vectors", () => {
  const full = nexusFull({ key: KEY, deviceId: 123456789, restricted: true });
  const small = nexusSmall({ key: KEY, restricted: true });
  const fresh = full.initialState();

  it("hands passthrough digits (after the type digit 8) to the product", () => {
    const code = fullDigits({ type: "passthrough", digits: "1234567" });
    expect(full.verify(fresh, code)).toEqual({
      kind: "applied",
      action: { type: "passthrough", digits: "1234567" },
      state: fresh,
    });
    expect(full.verify(fresh, "81").kind).toBe("invalid");
  });

  it("confirms the device ID only when it matches", () => {
    expect(full.verify(fresh, fullDigits({ type: "device_id_confirmation", deviceId: 123456789 }))).toMatchObject({
      kind: "applied",
      action: { type: "none" },
    });
    expect(full.verify(fresh, fullDigits({ type: "device_id_confirmation", deviceId: 123456788 })).kind).toBe(
      "invalid",
    );
    const noId = nexusFull({ key: KEY });
    expect(noId.verify(fresh, fullDigits({ type: "device_id_confirmation", deviceId: 123456789 })).kind).toBe(
      "invalid",
    );
  });

  it("clears the restricted flag in the state it returns, full and small", () => {
    const f = full.verify(fresh, fullDigits({ type: "wipe_state", key: KEY, id: 30, wipe: "restricted_flag" }));
    expect(fresh.restricted).toBe(true);
    expect(f).toMatchObject({
      kind: "applied",
      action: { type: "clear_restricted_flag" },
      state: { restricted: false },
    });
    const s = small.verify(small.initialState(), smallSymbols({ type: "clear_restricted_flag", key: KEY, id: 30 }));
    expect(s).toMatchObject({
      kind: "applied",
      action: { type: "clear_restricted_flag" },
      state: { restricted: false },
    });
  });

  it("refuses a small maintenance code re-labelled with another ID", () => {
    // Wipe credit is 0x80 under ID 0; the same body and MAC under ID 5 is not a code the server issues.
    const h = new NexusHasher();
    const mac = smallMac(h, sipKey(KEY), 5, 3, 0x80);
    expect(small.verify(small.initialState(), smallEntry(h, (5 << 10) | (3 << 8) | 0x80, mac)).kind).toBe("invalid");
  });

  it("refuses the reserved set-credit increments 240-252 (the reference locks the device on them)", () => {
    const h = new NexusHasher();
    for (let increment = 240; increment <= 252; increment++) {
      const mac = smallMac(h, sipKey(KEY), 30, 2, increment);
      const entry = smallEntry(h, (30 << 10) | (2 << 8) | increment, mac);
      expect(small.verify(small.initialState(), entry)).toEqual({
        kind: "invalid",
        reason: `set credit increment ${increment} is reserved`,
      });
    }
  });
});
