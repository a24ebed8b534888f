// OpenPAYGO Token: the official vectors under Node and inside XS, the encoder's and verifier's boundaries, the journal
// words of the replay state, and the chain-state cache (it may only ever save time).
import { hexToBytes } from "../firmware/hex";
import { TokenIssuer, encodeToken } from "../firmware/protocols/openpaygo/encoder";
import { INITIAL_STATE, type OpenPaygoState } from "../firmware/protocols/openpaygo/replay";
import { openPaygo, type OpenPaygoOptions } from "../firmware/protocols/openpaygo/verifier";
import { XsProbe } from "../hosts/xsnap/engine";
import type { OpenPaygoRow } from "../tools/conformance/openpaygo";
import { checkRows, prepareVerdict, runVerdict } from "../tools/probes/openpaygo.probe";
import { readVectors } from "./vectors";

const rows = readVectors<OpenPaygoRow>("openpaygo.jsonl");
const key = hexToBytes("bc41ec9530f6dac86b1a29ab82edc5fb");
const startingCode = 516959010;
const device = (options: Partial<OpenPaygoOptions> = {}) =>
  openPaygo({ key, startingCode, timeDivider: 1, restricted: false, ...options });

describe("OpenPAYGO Token vectors", () => {
  it("has the 80 official rows, every type and format", () => {
    expect(rows).toHaveLength(80);
    expect(new Set(rows.map((r) => `${r.type} ${r.extended} ${r.restricted}`)).size).toBe(16);
  });

  it("encodes and verifies every row under Node", () => {
    expect(checkRows(rows)).toEqual([]);
  });

  it("encodes and verifies every row inside XS", async () => {
    const xs = await XsProbe.load("tools/probes/openpaygo.probe.ts");
    try {
      const { result } = await xs.call<string[]>("checkRows", rows);
      expect(result).toEqual([]);
    } finally {
      await xs.close();
    }
  });

  it("reports a row whose token differs", () => {
    const row = { ...rows[0], token: rows[0].token.replace(/^./, (d) => String((Number(d) + 1) % 10)) };
    expect(checkRows([row])).toEqual([expect.stringMatching(/^0: encoded \d+, expected \d+$/)]);
  });
});

describe("OpenPAYGO encoder", () => {
  const issue = (request: object) => encodeToken({ key, startingCode, count: 1, type: "add_time", ...request });

  it.each([
    ["add_time", 1, 2],
    ["add_time", 2, 4],
    ["set_time", 1, 3],
    ["set_time", 2, 3],
    ["disable_payg", 4, 5],
    ["counter_sync", 5, 7],
  ] as const)("issues %s after count %i at count %i", (type, count, expected) => {
    const value = type === "add_time" || type === "set_time" ? 1 : undefined;
    expect(issue({ type, count, value }).count).toBe(expected);
  });

  it("issues the same tokens with and without its cache, in any order of counts", () => {
    const issuer = new TokenIssuer({ key, startingCode, cacheSize: 2 });
    for (const count of [1, 41, 9, 300, 299, 41, 2]) {
      for (const value of [5, 30, 5, 995]) {
        expect(issuer.issue({ count, type: "add_time", value })).toEqual(issue({ count, value }));
      }
    }
  });

  it("keeps issuing a repeated value cheap as counts grow", () => {
    const issuer = new TokenIssuer({ key, startingCode });
    issuer.issue({ count: 999, type: "add_time", value: 30 });
    const before = issuer.hashes;
    issuer.issue({ count: 1000, type: "add_time", value: 30 });
    expect(issuer.hashes - before).toBe(2);
  });

  it.each([
    [{ value: 996 }, RangeError, /"value" expected 0..995, got 996/],
    [{ extended: true, value: 996 }, RangeError, /"value" 996-999 are reserved, got 996/],
    [{ extended: true, value: 999 }, RangeError, /reserved/],
    [{ value: 1000 }, RangeError, /"value" expected 0..995, got 1000/],
    [{ value: -1 }, RangeError, /"value"/],
    [{ value: 1.5 }, TypeError, /"value" expected an integer/],
    [{ value: undefined }, TypeError, /"value"/],
    [{ type: "disable_payg", value: 3 }, TypeError, /"value" expected none/],
    [{ type: "add_credit", value: 3 }, TypeError, /"type" expected one of/],
    [{ count: -1, value: 3 }, RangeError, /"count"/],
    [{ key: new Uint8Array(15), value: 3 }, RangeError, /"key" expected 16 bytes, got 15/],
    [{ startingCode: 1e9, value: 3 }, RangeError, /"startingCode"/],
    [{ extended: "yes", value: 3 }, TypeError, /"extended" expected a boolean/],
  ])("refuses %o", (request, kind, message) => {
    expect(() => issue(request)).toThrow(kind);
    expect(() => issue(request)).toThrow(message);
  });

  it("issues extended values above 999", () => {
    const { token } = issue({ extended: true, value: 123456 });
    const verdict = device({ extended: true }).verify(INITIAL_STATE, token);
    expect(verdict).toEqual({
      kind: "applied",
      action: { type: "add_credit", seconds: 123456 * 86400 },
      state: { lastCount: 2, usedMask: 1 },
    });
  });
});

describe("OpenPAYGO verifier", () => {
  it("is named openpaygo and starts from count 1 with nothing used", () => {
    expect(device().name).toBe("openpaygo");
    expect(device().initialState()).toEqual({ lastCount: 1, usedMask: 0 });
  });

  it.each([
    [1, 86400],
    [24, 3600],
    [7, 12342], // 86400 / 7 = 12342.86: rounded down, never more than paid
    [255, 338],
  ])("turns one unit into seconds with time divider %i", (timeDivider, seconds) => {
    const { token } = encodeToken({ key, startingCode, count: 1, type: "set_time", value: 1 });
    const verdict = device({ timeDivider }).verify(INITIAL_STATE, token);
    expect(verdict.kind === "applied" && verdict.action).toEqual({ type: "set_credit", seconds });
  });

  it("takes 12-digit tokens only when extended", () => {
    const { token } = encodeToken({ key, startingCode, count: 1, type: "add_time", value: 1, extended: true });
    expect(device().verify(INITIAL_STATE, token)).toEqual({ kind: "invalid", reason: "expected 9 digits, got 12" });
    expect(device({ extended: true }).verify(INITIAL_STATE, token).kind).toBe("applied");
  });

  it.each([
    [{ key: new Uint8Array(17) }, RangeError, '"key" expected 16 bytes, got 17'],
    [{ key: "bc41" }, TypeError, '"key" expected Uint8Array, got string'],
    [{ startingCode: -1 }, RangeError, '"startingCode" expected 0..999999999, got -1'],
    [{ timeDivider: 0 }, RangeError, '"timeDivider" expected 1..255, got 0'],
    [{ timeDivider: 256 }, RangeError, '"timeDivider" expected 1..255, got 256'],
    [{ restricted: 1 }, TypeError, '"restricted" expected a boolean, got number 1'],
    [{ cacheSize: 0 }, RangeError, '"cacheSize" expected 1..64, got 0'],
  ])("refuses options %o", (options, kind, message) => {
    expect(() => device(options as Partial<OpenPaygoOptions>)).toThrow(new kind(message));
  });

  it("round-trips its state through journal words and refuses words it cannot have written", () => {
    const p = device();
    const state: OpenPaygoState = { lastCount: 123456, usedMask: 0x5a5a & 0x7fff };
    expect(p.fromWords(p.toWords(state))).toEqual(state);
    expect(p.toWords(state).every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)).toBe(true);
    for (const words of [
      [],
      [1],
      [0x7fffffff, 0x10000],
      [1, 0x20000],
      [1, 0x18000],
      [1, 0x10000, 0],
      [1.5, 0x10000],
      [-1, 0x10000],
      [1, 2 ** 32 + 0x10000],
    ]) {
      expect(p.fromWords(words)).toBeUndefined();
    }
  });

  it("gives the same verdicts with any cache size and after a state rolled back", () => {
    const issuer = new TokenIssuer({ key, startingCode });
    const tokens: string[] = [];
    let count = 1;
    for (const value of [5, 30, 5, 90, 30, 5, 7, 5]) {
      const issued = issuer.issue({ count: count + 3, type: "add_time", value });
      tokens.push(issued.token);
      count = issued.count;
    }
    const run = (p: ReturnType<typeof device>) => {
      const verdicts = [];
      let state = p.initialState();
      for (const token of [...tokens, ...tokens.slice().reverse()]) {
        const verdict = p.verify(state, token);
        verdicts.push(verdict);
        // Every other applied state is "lost" (power cut before the journal commit): the cache ran ahead of it.
        if (verdict.kind === "applied" && verdicts.length % 2 === 0) state = verdict.state;
      }
      return verdicts;
    };
    const reference = run(device({ cacheSize: 1 }));
    expect(reference.filter((v) => v.kind === "applied").length).toBeGreaterThan(tokens.length / 2);
    expect(run(device({ cacheSize: 8 }))).toEqual(reference);
    const warm = device();
    run(warm);
    expect(run(warm)).toEqual(reference);
  });

  it("verifies a recently seen value at count 10,000 within one window of hashes", () => {
    prepareVerdict(10000, "repeated");
    expect(runVerdict()).toBeLessThan(100);
    prepareVerdict(10000, "replayed");
    expect(runVerdict()).toBeLessThan(100);
    prepareVerdict(10000, "new");
    expect(runVerdict()).toBeGreaterThan(10000);
  });
});
