// No code applies twice through the ledger, whatever the order of entries, repeats and power cuts: real Nexus and
// OpenPAYGO codes, the record round-tripped through its bytes at every cut (fast-check).
import fc from "fast-check";
import { NEXUS_BUCKET } from "../firmware/ledger/limiter";
import { remainingMs } from "../firmware/ledger/reducer";
import { fullDigits } from "../firmware/protocols/nexus/full";
import { nexusFull } from "../firmware/protocols/nexus/full_device";
import { TokenIssuer } from "../firmware/protocols/openpaygo/encoder";
import { openPaygo } from "../firmware/protocols/openpaygo/verifier";
import type { KeycodeProtocol } from "../firmware/protocols/protocol";
import { hexToBytes } from "../firmware/hex";
import { Bench } from "./ledger.helpers";

const key = hexToBytes("0123456789abcdef0123456789abcdef");

/** Add-credit codes a server issued in order, and each one's seconds. */
interface Issued {
  readonly codes: readonly string[];
  readonly seconds: readonly number[];
}

function openPaygoCodes(n: number): Issued {
  const issuer = new TokenIssuer({ key, startingCode: 987654321 });
  const codes: string[] = [];
  let count = 1;
  for (let i = 0; i < n; i++) {
    const issued = issuer.issue({ count, type: "add_time", value: i + 1 });
    codes.push(issued.token);
    count = issued.count;
  }
  return { codes, seconds: codes.map((_, i) => (i + 1) * 86400) };
}

function nexusCodes(n: number): Issued {
  const codes = Array.from({ length: n }, (_, i) => fullDigits({ type: "add_credit", key, id: 24 + i, hours: i + 1 }));
  return { codes, seconds: codes.map((_, i) => (i + 1) * 3600) };
}

type Step = { readonly type: "enter"; readonly index: number } | { readonly type: "cut" };

function replayProperty<S>(protocol: () => KeycodeProtocol<S>, issued: Issued): void {
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 5, arbitrary: fc.nat(issued.codes.length - 1).map((index) => ({ type: "enter", index }) as const) },
    { weight: 1, arbitrary: fc.constant({ type: "cut" } as const) },
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
      const b = new Bench(protocol());
      b.boot();
      const applied = new Set<number>();
      let paid = 0;
      for (const s of steps) {
        if (s.type === "cut") {
          b.cut();
          b.boot();
          continue;
        }
        // Keep the Nexus bucket from refusing (the limiter is tested elsewhere); no credit is left running.
        b.elapse(NEXUS_BUCKET.refillMs);
        const feedback = b.enter(issued.codes[s.index]);
        if (feedback?.kind === "applied") {
          expect(applied.has(s.index)).toBe(false);
          applied.add(s.index);
          paid += issued.seconds[s.index] * 1000;
        } else {
          expect(feedback?.kind).toBe("duplicate");
          expect(applied.has(s.index)).toBe(true);
        }
        expect(remainingMs(b.state)).toBeLessThanOrEqual(paid);
      }
    }),
    { numRuns: 200 },
  );
}

describe("no code applies twice through the ledger", () => {
  it("OpenPAYGO add-time tokens, in any order within the window, repeated, across power cuts", () => {
    // 8 tokens: counts 2..16, so after any of them the others lie within the 15 older counts taken once each.
    replayProperty(
      () => openPaygo({ key, startingCode: 987654321, timeDivider: 1, restricted: false }),
      openPaygoCodes(8),
    );
  });

  it("Nexus full add-credit codes, in any order within the window, repeated, across power cuts", () => {
    // IDs 24..43: after any of them the others lie within the window (highest - 23 .. highest + 40).
    replayProperty(() => nexusFull({ key }), nexusCodes(20));
  });
});
