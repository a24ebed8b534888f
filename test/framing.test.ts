// Entry framing per protocol keypad: start and end keys, lengths, idle timeout, start-key restart.
import fc from "fast-check";
import { FRAMES, Framer, IDLE_TIMEOUT_MS, type FrameResult } from "../firmware/io/framing";

function type(framer: Framer, keys: string): FrameResult[] {
  return [...keys].map((key) => framer.press(key));
}

const entries = (results: FrameResult[]) => results.flatMap((r) => (r.kind === "entry" ? [r.digits] : []));

describe("framing", () => {
  it("frames a Nexus full code between * and #, blinking each key", () => {
    const results = type(new Framer(FRAMES["nexus-full"]), "*59979149319443#");
    expect(results.slice(0, -1).every((r) => r.kind === "key")).toBe(true);
    expect(results.at(-1)).toEqual({ kind: "entry", digits: "59979149319443" });
  });

  it("ignores digits typed before the start key", () => {
    expect(entries(type(new Framer(FRAMES.openpaygo), "12*123456789#"))).toEqual(["123456789"]);
  });

  it("restarts the entry on the start key", () => {
    const results = type(new Framer(FRAMES.openpaygo), "*5555*123456789#");
    expect(results[5]).toEqual({ kind: "restart" });
    expect(entries(results)).toEqual(["123456789"]);
  });

  it("completes a Nexus small code after the start key and 14 symbols, with no end key", () => {
    const results = type(new Framer(FRAMES["nexus-small"]), "135242422455244");
    expect(results.at(-1)).toEqual({ kind: "entry", digits: "35242422455244" });
    expect(results.slice(0, -1).every((r) => r.kind === "key")).toBe(true);
  });

  it("restarts a Nexus small entry on 1, its start key", () => {
    expect(entries(type(new Framer(FRAMES["nexus-small"]), "1234135242422455244"))).toEqual(["35242422455244"]);
  });

  it("completes a restricted OpenPAYGO token at 15 digits with no start key", () => {
    expect(entries(type(new Framer(FRAMES["openpaygo-restricted"]), "314114432231134"))).toEqual(["314114432231134"]);
  });

  it("asks for the credit on start then end", () => {
    expect(type(new Framer(FRAMES.openpaygo), "*#").at(-1)).toEqual({ kind: "query" });
  });

  it("drops an entry that ends too short or runs too long, without verifying it", () => {
    expect(type(new Framer(FRAMES.openpaygo), "*12345678#").at(-1)).toEqual({ kind: "malformed" });
    expect(type(new Framer(FRAMES.openpaygo), "*1234567890123").at(-1)).toEqual({ kind: "malformed" });
  });

  it("drops a partial entry when the idle timer expires (16 s for every protocol)", () => {
    const framer = new Framer(FRAMES.openpaygo);
    type(framer, "*1234");
    expect(framer.expire()).toBe("timeout");
    expect(framer.active).toBe(false);
    expect(framer.press("5")).toEqual({ kind: "ignored" });
    expect(framer.expire()).toBe("none");
    for (const spec of Object.values(FRAMES)) expect(spec.idleTimeoutMs).toBe(IDLE_TIMEOUT_MS);
    expect(IDLE_TIMEOUT_MS).toBe(16_000);
  });

  it("asks for the credit on keypads without an end key: one key, then the idle timeout", () => {
    const small = new Framer(FRAMES["nexus-small"]);
    type(small, "1");
    expect(small.expire()).toBe("query");
    type(small, "12");
    expect(small.expire()).toBe("timeout"); // a started code is a timeout, not a query
    const restricted = new Framer(FRAMES["openpaygo-restricted"]);
    type(restricted, "3");
    expect(restricted.expire()).toBe("query");
    type(restricted, "34");
    expect(restricted.expire()).toBe("timeout");
    const full = new Framer(FRAMES["nexus-full"]); // full keypads ask with *# and time out a lone *
    type(full, "*");
    expect(full.expire()).toBe("timeout");
    expect(type(full, "*#").at(-1)).toEqual({ kind: "query" });
  });

  it("a restricted entry starts from nothing after the timeout", () => {
    const framer = new Framer(FRAMES["openpaygo-restricted"]);
    type(framer, "1111");
    framer.expire();
    expect(entries(type(framer, "314114432231134"))).toEqual(["314114432231134"]);
  });

  it("never passes on a key that is not one of the protocol's digits (property)", () => {
    for (const spec of Object.values(FRAMES)) {
      fc.assert(
        fc.property(fc.array(fc.constantFrom(..."0123456789*#ABCD")), (keys) => {
          for (const digits of entries(type(new Framer(spec), keys.join("")))) {
            expect([...digits].every((d) => spec.digits.includes(d))).toBe(true);
            expect(digits.length).toBeGreaterThanOrEqual(spec.minDigits);
            expect(digits.length).toBeLessThanOrEqual(spec.maxDigits);
          }
        }),
        { numRuns: 200 },
      );
    }
  });
});
