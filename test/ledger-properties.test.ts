// Property tests of the ledger against an honest model: no created credit, no credit lost beyond one checkpoint
// interval per power cut, a limiter that never goes back, every change durable before it is shown.
import fc from "fast-check";
import { decodeDevice, encodeDevice } from "../firmware/ledger/codec";
import { NEXUS_BUCKET, bootLimiter } from "../firmware/ledger/limiter";
import { LEASE_MS, loadOn, remainingMs } from "../firmware/ledger/reducer";
import { atLeastAsStrict } from "../tools/torture/ledger";
import { Bench, HOUR, feedbackOf } from "./ledger.helpers";
import { FAKE_OP, fakeCode, fakeProtocol } from "./probes/ledger.probe";

type Step =
  | { readonly type: "elapsed"; readonly ms: number }
  | { readonly type: "entry"; readonly digits: string }
  | { readonly type: "query" }
  | { readonly type: "cut" };

/** The fake's ops that stand for codes made with the device's secret (the probe's `secret`). */
const SECRET_OPS: readonly number[] = [FAKE_OP.add, FAKE_OP.set, FAKE_OP.unlock, FAKE_OP.clearRestricted];
const OPS = [FAKE_OP.add, FAKE_OP.add, FAKE_OP.set, FAKE_OP.unlock, FAKE_OP.test, FAKE_OP.allowTest, FAKE_OP.none];

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 5_000 }).map((ms) => ({ type: "elapsed", ms }) as const) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 3 * HOUR }).map((ms) => ({ type: "elapsed", ms }) as const) },
  {
    weight: 5,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 15 }), fc.constantFrom(...OPS), fc.integer({ min: 0, max: 600 }))
      .map(([id, op, minutes]) => ({ type: "entry", digits: fakeCode(id, op, minutes) }) as const),
  },
  { weight: 3, arbitrary: fc.constantFrom("00000001", "", "9").map((digits) => ({ type: "entry", digits }) as const) },
  { weight: 1, arbitrary: fc.constant({ type: "query" } as const) },
  { weight: 2, arbitrary: fc.constant({ type: "cut" } as const) },
);

describe.each(["nexus-full", "openpaygo"] as const)("ledger properties (%s)", (name) => {
  it("neither creates nor loses credit against an honest model, and is durable before it shows", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const b = new Bench(fakeProtocol(name));
        b.boot();
        let model = 0; // powered ms an ideal device that never loses power would have left
        let loss = 0; // what power cuts may have cost since the last set/unlock: one lease (a minute) each
        let verified = 0;
        let uptime = 0;
        for (const s of steps) {
          if (s.type === "cut") {
            const before = b.state.device.limiter;
            b.cut();
            b.boot();
            expect(atLeastAsStrict(b.state.device.limiter, before)).toBe(true);
            loss += LEASE_MS;
          } else {
            const limiterBefore = b.state.device.limiter;
            const replayBefore = b.state.device.protocol;
            const effects = b.send(s);
            if (s.type === "elapsed") {
              uptime += s.ms;
              model = Math.max(0, model - s.ms);
            }
            const feedback = feedbackOf(effects);
            // What costs a bucket attempt: every entry the limiter let through except a malformed one (the fake's
            // are those not 8 digits long) and a code that needed the secret, spent now (issue 11).
            if (s.type === "entry" && feedback?.kind !== "locked_out" && s.digits.length === 8) {
              const spent = replayBefore !== b.state.device.protocol && SECRET_OPS.includes(Number(s.digits[2]));
              if (!spent) verified++;
            }
            if (feedback?.kind === "applied") {
              const action = feedback.action;
              if (action.type === "add_credit" || action.type === "test") model += action.seconds * 1000;
              if (action.type === "set_credit") [model, loss] = [action.seconds * 1000, 0];
              if (action.type === "unlock") [model, loss] = [Infinity, 0];
            }
            // No entry lowers the failure count, not even a genuine new code: only powered time does (issue 11).
            if (s.type !== "elapsed")
              expect(b.state.device.limiter.failures).toBeGreaterThanOrEqual(limiterBefore.failures);
            // Durable before shown: a persist, when there is one, is the first effect, and no minute's tally word
            // comes after the load or feedback it pays for.
            effects.forEach((e, i) => expect(e.type !== "persist" || i === 0).toBe(true));
            const shown = effects.findIndex((e) => e.type !== "persist" && e.type !== "tick");
            if (shown >= 0) expect(effects.slice(shown).some((e) => e.type === "tick")).toBe(false);
          }
          const actual = remainingMs(b.state);
          expect(actual).toBeLessThanOrEqual(model);
          expect(actual).toBeGreaterThanOrEqual(model - loss);
          expect(loadOn(b.state)).toBe(actual > 0);
          // Everything but the limiter is in the journal; the limiter a cut would restore is the stricter one.
          expect({ ...b.saved, limiter: null }).toEqual({ ...b.state.device, limiter: null });
          expect(atLeastAsStrict(bootLimiter(b.saved.limiter), b.state.device.limiter)).toBe(true);
          expect(decodeDevice(b.protocol, encodeDevice(b.protocol, b.saved))).toEqual(b.saved);
        }
        if (name === "nexus-full")
          expect(verified).toBeLessThanOrEqual(
            NEXUS_BUCKET.initialAttempts + Math.floor(uptime / NEXUS_BUCKET.refillMs),
          );
      }),
      { numRuns: 400 },
    );
  });

  it("without power cuts, matches the honest model to the millisecond", () => {
    fc.assert(
      fc.property(
        fc.array(
          step.filter((s) => s.type !== "cut"),
          { maxLength: 60 },
        ),
        (steps) => {
          const b = new Bench(fakeProtocol(name));
          b.boot();
          let model = 0;
          for (const s of steps) {
            const feedback = feedbackOf(b.send(s));
            if (s.type === "elapsed") model = Math.max(0, model - s.ms);
            if (feedback?.kind !== "applied") continue;
            const action = feedback.action;
            if (action.type === "add_credit" || action.type === "test") model += action.seconds * 1000;
            if (action.type === "set_credit") model = action.seconds * 1000;
            if (action.type === "unlock") model = Infinity;
          }
          expect(remainingMs(b.state)).toBe(model);
        },
      ),
      { numRuns: 300 },
    );
  });
});
