// Regression tests for the flaws of the OpenPAYGO Token reference decoders (OpenPAYGO-python `token_decode.py` and
// its device simulator, OpenPAYGO-HW `opaygo_decoder.c`). Each test says what the reference does; each would fail
// on that behaviour.
import { hexToBytes } from "../firmware/hex";
import { sipKey } from "../firmware/crypto/siphash";
import { ChainCache, TokenChain, stateAt } from "../firmware/protocols/openpaygo/chain";
import { formatToken } from "../firmware/protocols/openpaygo/digits";
import { TokenIssuer } from "../firmware/protocols/openpaygo/encoder";
import { INITIAL_STATE, type OpenPaygoState } from "../firmware/protocols/openpaygo/replay";
import { openPaygo } from "../firmware/protocols/openpaygo/verifier";
import type { Verdict } from "../firmware/protocols/action";

const key = hexToBytes("bc41ec9530f6dac86b1a29ab82edc5fb");
const startingCode = 516959010;

/** A genuine token at `count` carrying `value`, whatever the encoder allows (the references issue such tokens). */
function rawToken(count: number, value: number, restricted = false): string {
  const chain = new TokenChain(sipKey(key), startingCode, false);
  const base = chain.baseFor(value);
  return formatToken(chain.mask(stateAt(chain, new ChainCache(1), base, count), base), false, restricted);
}

/** Enters tokens one after another, keeping each applied state; returns the verdict kinds and the final state. */
function enter(tokens: string[], from: OpenPaygoState = INITIAL_STATE) {
  const device = openPaygo({ key, startingCode, timeDivider: 1, restricted: false });
  let state = from;
  const kinds = tokens.map((token) => {
    const verdict: Verdict<OpenPaygoState> = device.verify(state, token);
    if (verdict.kind === "applied") state = verdict.state;
    return verdict.kind;
  });
  return { kinds, state };
}

const issuer = () => new TokenIssuer({ key, startingCode });

describe("OpenPAYGO Token: flaws of the reference decoders", () => {
  // 1. A count-0 token is the starting code with the value in its last digits: no hash, so no key is needed. The
  //    Python decoder scans from count 0 and takes it as an unused older add-time token while the last count is
  //    below 16 (every new device); the C decoder takes a count-0 counter sync while the count is below 48.
  it("never accepts count 0, whose token needs no key", () => {
    for (const value of [1, 995, 999]) {
      const token = rawToken(0, value);
      expect(token).toBe(String(startingCode - (startingCode % 1000) + ((startingCode + value) % 1000)));
      for (const lastCount of [1, 2, 10, 15, 16, 40]) {
        expect(enter([token], { lastCount, usedMask: 0 }).kinds).not.toContain("applied");
      }
    }
  });

  // 2. The C decoder's MarkCountAsUsed moves the used bits with SET_BIT(v, i, CHECK_BIT(old, i - gap)), and
  //    CHECK_BIT yields the bit's value (1 << k), not 1: each kept bit lands at 2i - gap or falls off the 16 bits.
  //    After add-time tokens at counts 2, 4, 6, 8 its mask only remembers count 6, so 2 and 4 apply a second time.
  it("replays no add-time count after 2, 4, 6, 8 were entered (the used mask keeps every bit in place)", () => {
    const server = issuer();
    const tokens = [1, 2, 4, 6].map((count) => server.issue({ count, type: "add_time", value: 10 }).token);
    const { kinds, state } = enter([...tokens, ...tokens, ...tokens.slice().reverse()]);
    expect(kinds).toEqual([...tokens.map(() => "applied"), ...[...tokens, ...tokens].map(() => "duplicate")]);
    expect(state.lastCount).toBe(8);
  });

  it("replays no add-time count whatever the order and gaps, exhaustively over 6 tokens", () => {
    const server = issuer();
    let count = 1;
    const tokens = [0, 1, 0, 1, 0, 0].map((skip) => {
      const issued = server.issue({ count: count + 2 * skip, type: "add_time", value: 3 });
      count = issued.count;
      return issued.token;
    });
    const orders: number[][] = [];
    const permute = (done: number[], rest: number[]) => {
      if (rest.length === 0) orders.push(done);
      rest.forEach((x, i) => permute([...done, x], [...rest.slice(0, i), ...rest.slice(i + 1)]));
    };
    permute([], [0, 1, 2, 3, 4, 5]);
    for (const order of orders) {
      const entries = [...order, ...order].map((i) => tokens[i]);
      const { kinds } = enter(entries);
      // Counts 2, 6, 8, 12, 14, 16: within 15 of each other, so each applies once, then each repeat is a duplicate.
      expect(kinds.filter((k) => k === "applied")).toHaveLength(6);
      expect(kinds.slice(6)).toEqual(order.map(() => "duplicate"));
    }
  });

  // 3. Both references take a counter-sync token up to 64 (Python) or 48 (C) counts *below* the last count. The
  //    Python device simulator then sets its count to the token's (so newer tokens apply again); the C decoder
  //    marks all older counts used (burning add-time tokens already paid for but not yet entered).
  it("never lowers the count with a counter sync, nor burns unused add-time tokens with an old one", () => {
    const server = issuer();
    const sync = server.issue({ count: 20, type: "counter_sync" }); // count 21
    const adds = [];
    let count = sync.count;
    for (let i = 0; i < 10; i++) {
      const issued = server.issue({ count, type: "add_time", value: 1 });
      adds.push(issued.token);
      count = issued.count; // 22 ... 40
    }
    const unused = adds.splice(7, 1)[0]; // count 36: paid for, entered late
    const { kinds, state } = enter([...adds, sync.token, ...adds, unused]);
    // Counts below the window (last - 15) are not searched: such old tokens are `invalid`, not `duplicate`.
    const applied = kinds.map((kind) => kind === "applied");
    expect(applied).toEqual([...adds.map(() => true), false, ...adds.map(() => false), true]);
    expect(state.lastCount).toBe(40);
  });

  // 4. The references decode values 996 and 997 as add/set time of 996-997 days, and 998/999 at an even count as
  //    add time of 998-999 days (the Python full test procedure even issues its disable token that way).
  it.each([
    [2, 996],
    [3, 996],
    [2, 997],
    [3, 997],
    [2, 998],
    [2, 999],
  ])("refuses a genuine token at count %i with reserved value %i", (count, value) => {
    const verdict = openPaygo({ key, startingCode, timeDivider: 1, restricted: false }).verify(
      INITIAL_STATE,
      rawToken(count, value),
    );
    expect(verdict).toEqual({ kind: "invalid", reason: expect.stringMatching(/reserved/) });
  });

  it("still takes 998 and 999 at odd counts as disable PAYG and counter sync", () => {
    expect(enter([rawToken(3, 998)]).kinds).toEqual(["applied"]);
    expect(enter([rawToken(3, 999)]).kinds).toEqual(["applied"]);
  });

  // 5. The Python decoder raises ValueError for a token too long and for non-digits (int("12a")), and reads keys
  //    0 and 5-9 of a restricted entry as some other 2 bits; the C decoder reads a restricted digit d as d - 1
  //    whatever it is. Here every bad entry is an `invalid` verdict with a reason.
  describe("answers bad input with a reason, never an exception", () => {
    const standard = openPaygo({ key, startingCode, timeDivider: 1, restricted: false });
    const both = openPaygo({ key, startingCode, timeDivider: 1, restricted: false, extended: true });
    const restricted = openPaygo({ key, startingCode, timeDivider: 1, restricted: true, extended: true });
    const goodRestricted = rawToken(2, 1, true);
    it.each([
      [standard, "", /expected 9 digits, got 0/],
      [standard, "12345678", /expected 9 digits, got 8/],
      [standard, "1234567890", /expected 9 digits, got 10/],
      [standard, "123456789012", /expected 9 digits, got 12/],
      [both, "12345678901", /expected 9 or 12 digits, got 11/],
      [both, "1234567890123", /expected 9 or 12 digits, got 13/],
      [standard, "12345678a", /expected digits 0-9, got "a" at 9/],
      [standard, "123 45678", /expected digits 0-9, got " " at 4/],
      [standard, "*12345678", /expected digits 0-9, got "\*" at 1/],
      [standard, "1234567.8", /expected digits 0-9/],
      [standard, "-12345678", /expected digits 0-9/],
      [standard, "１２３４５６７８９", /expected digits 0-9/],
      [standard, "9".repeat(100000), /expected 9 digits, got 100000/],
      [restricted, "123456789", /expected 15 or 20 digits, got 9/],
      [restricted, goodRestricted.replace(/^./, "5"), /expected keys 1-4, got "5" at 1/],
      [restricted, goodRestricted.replace(/.$/, "0"), /expected keys 1-4, got "0" at 15/],
      [restricted, "444444444444444", /above any code/],
      [restricted, "44444444444444444444", /above any code/],
      [standard, null, /expected a string of digits, got object/],
      [standard, undefined, /expected a string of digits, got undefined/],
      [standard, 588224011, /expected a string of digits, got number/],
      [standard, ["588224011"], /expected a string of digits, got object/],
    ])("entry %#", (protocol, entry, reason) => {
      let verdict: Verdict<OpenPaygoState> | undefined;
      expect(() => {
        verdict = protocol.verify(INITIAL_STATE, entry as string);
      }).not.toThrow();
      expect(verdict).toEqual({ kind: "invalid", reason: expect.stringMatching(reason) });
    });

    it.each([null, undefined, {}, { lastCount: "5", usedMask: 0 }, { lastCount: -1, usedMask: 0 }])(
      "state %p",
      (state) => {
        expect(standard.verify(state as unknown as OpenPaygoState, "588224011")).toEqual({
          kind: "invalid",
          reason: "not an OpenPAYGO replay state",
        });
      },
    );

    it("a restricted device takes a good restricted entry", () => {
      expect(restricted.verify(INITIAL_STATE, goodRestricted).kind).toBe("applied");
    });
  });
});
