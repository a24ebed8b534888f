// OpenPAYGO interop with servers and devices that follow the references (docs/CONFORMANCE.md): a device fresh from
// count 0 (the reference server's first count) is a valid state everywhere a state is read, while a token at count 0
// stays refused; restricted-digit entries with keys outside 1-4 get solkey's own reason; solkey's own vector rows
// (vectors/openpaygo-interop.jsonl) pass under Node and inside XS.
import { CHIPS } from "../firmware/storage/flash";
import { freshState } from "../firmware/ledger/state";
import { hexToBytes } from "../firmware/hex";
import { sipKey } from "../firmware/crypto/siphash";
import { ChainCache, TokenChain, stateAt } from "../firmware/protocols/openpaygo/chain";
import { formatToken } from "../firmware/protocols/openpaygo/digits";
import { TokenIssuer } from "../firmware/protocols/openpaygo/encoder";
import type { OpenPaygoState } from "../firmware/protocols/openpaygo/replay";
import { openPaygo } from "../firmware/protocols/openpaygo/verifier";
import { encodeProvision } from "../firmware/provision/record";
import { journalImage } from "../fleet/journal";
import { recoveryState } from "../fleet/recovery";
import { demoRecord, nextCodes, DEMO_KEY } from "../hosts/node/simdemo";
import type { OpenPaygoRow } from "../tools/conformance/openpaygo";
import { checkRows } from "../tools/probes/openpaygo.probe";
import { INTEROP_VECTORS_DIR, inXs, readVectors } from "./vectors";

const rows = readVectors<OpenPaygoRow>("openpaygo-interop.jsonl", INTEROP_VECTORS_DIR);
const key = hexToBytes("bc41ec9530f6dac86b1a29ab82edc5fb");
const startingCode = 516959010;
const AT_ZERO: OpenPaygoState = { lastCount: 0, usedMask: 0 };
const device = (restricted = false) => openPaygo({ key, startingCode, timeDivider: 1, restricted, extended: true });

describe("OpenPAYGO interop vectors (vectors/openpaygo-interop.jsonl)", () => {
  it("has 128 rows, all from a device at count 0, every type and format", () => {
    expect(rows).toHaveLength(128);
    expect(rows.every((r) => r.count === 0)).toBe(true);
    expect(new Set(rows.map((r) => `${r.type} ${r.extended} ${r.restricted}`)).size).toBe(16);
    expect(new Set(rows.map((r) => r.new_count))).toEqual(new Set([1, 2]));
  });

  it("encodes and verifies every row under Node", () => {
    expect(checkRows(rows)).toEqual([]);
  });

  it("encodes and verifies every row inside XS", async () => {
    expect(await inXs("tools/probes/openpaygo.probe.ts", "checkRows", rows)).toEqual([]);
  });
});

describe("OpenPAYGO: a device fresh from count 0", () => {
  const server = () => new TokenIssuer({ key, startingCode });

  it("takes the reference server's first tokens (set time at count 1, add time at 2), each once", () => {
    const p = device();
    const set = server().issue({ count: 0, type: "set_time", value: 3 });
    const add = server().issue({ count: 0, type: "add_time", value: 5 });
    expect([set.count, add.count]).toEqual([1, 2]);
    const afterSet = p.verify(AT_ZERO, set.token);
    expect(afterSet).toMatchObject({ kind: "applied", action: { type: "set_credit" }, state: { lastCount: 1 } });
    const afterAdd = p.verify(AT_ZERO, add.token);
    expect(afterAdd).toMatchObject({ kind: "applied", action: { type: "add_credit" }, state: { lastCount: 2 } });
    if (afterAdd.kind !== "applied" || afterSet.kind !== "applied") throw new Error("unreachable");
    expect(p.verify(afterAdd.state, add.token).kind).toBe("duplicate");
    // The set-time token at count 1 is older than the add at 2: set time never applies below the last count.
    expect(p.verify(afterAdd.state, set.token).kind).toBe("duplicate");
  });

  it("still refuses every token at count 0, whose digits need no key", () => {
    const p = device();
    const chain = new TokenChain(sipKey(key), startingCode, false);
    for (const value of [0, 1, 7, 995, 998, 999]) {
      const base = chain.baseFor(value);
      const token = formatToken(chain.mask(stateAt(chain, new ChainCache(1), base, 0), base), false, false);
      expect(p.verify(AT_ZERO, token).kind).not.toBe("applied");
    }
  });

  it("reads count 0 from journal words, and writes a journal image that mounts (provisioning, sim)", () => {
    const p = device();
    expect(p.fromWords(p.toWords(AT_ZERO))).toEqual(AT_ZERO);
    const state = { ...freshState(p), protocol: AT_ZERO };
    for (const board of ["esp32", "nrf52"] as const)
      expect(journalImage(board, p, state, new Uint8Array(16).fill(7)).length).toBeGreaterThan(0);
  });

  it("gets the sim's next codes from a journal at count 0, and they apply", () => {
    const record = demoRecord("openpaygo");
    if (record.protocol !== "openpaygo") throw new Error("unreachable");
    const p = openPaygo({ key: DEMO_KEY, startingCode: record.startingCode, timeDivider: 1, restricted: false });
    const journal = journalImage("esp32", p, { ...freshState(p), protocol: AT_ZERO }, DEMO_KEY);
    expect(journal.length % CHIPS.esp32.blockLength).toBe(0);
    const codes = nextCodes(encodeProvision(record), journal);
    expect(codes).toBeDefined();
    const token = (codes ?? [])[0].keys.replace(/[*#]/g, "");
    expect(p.verify(AT_ZERO, token)).toMatchObject({ kind: "applied", state: { lastCount: 2 } });
  });

  it("recovers a device whose server never issued past count 0", () => {
    const p = device();
    const recovered = recoveryState(p, 0, { kind: "credit", seconds: 0 });
    expect(recovered.protocol).toMatchObject({ lastCount: 0 });
    const first = server().issue({ count: 0, type: "set_time", value: 3 });
    expect(p.verify(recovered.protocol, first.token).kind).toBe("applied");
  });
});

describe("OpenPAYGO tokens older than the window", () => {
  it("calls a genuine add-time token more than 15 counts below the last one invalid (the reference: already used)", () => {
    // OpenPAYGO-python walks from count 0 on every entry and so can say ALREADY_USED; solkey searches only the
    // counts a token could still apply at (ARCHITECTURE.md, OpenPAYGO cost).
    const p = device();
    const old = new TokenIssuer({ key, startingCode }).issue({ count: 19, type: "add_time", value: 1 });
    expect(old.count).toBe(20);
    expect(p.verify({ lastCount: 35, usedMask: 0 }, old.token).kind).toBe("applied");
    expect(p.verify({ lastCount: 36, usedMask: 0 }, old.token)).toEqual({
      kind: "invalid",
      reason: expect.stringMatching(/^not this device's token for counts 21-/),
    });
  });
});

describe("OpenPAYGO restricted digits", () => {
  // The reference decoders turn each digit into two bits of digit - 1 without checking it (OpenPAYGO-python
  // `convert_from_4_digit_token`: key 5 reads as key 1), so a key typed by mistake can still decode to a genuine
  // token. solkey refuses any key outside 1-4 and says which one, where.
  it("refuses a genuine restricted token with any one digit outside 1-4, naming the key and its position", () => {
    const p = device(true);
    const good = new TokenIssuer({ key, startingCode, restricted: true }).issue({
      count: 1,
      type: "add_time",
      value: 1,
    }).token;
    expect(p.verify({ lastCount: 1, usedMask: 0 }, good).kind).toBe("applied");
    for (let i = 0; i < good.length; i++) {
      for (const key of "056789") {
        const entry = good.slice(0, i) + key + good.slice(i + 1);
        expect(p.verify({ lastCount: 1, usedMask: 0 }, entry)).toEqual({
          kind: "invalid",
          reason: `expected keys 1-4, got "${key}" at ${i + 1}`,
          malformed: true, // refused on its keys: no guess for the limiter (issue 11)
        });
      }
    }
  });
});
