// The attempt counts behind README "Security: the odds of guessing": a guesser who enters a wrong code the moment
// the limiter allows one, for 10 years of uptime, against the closed forms the README's arithmetic uses.
import { NEXUS_BUCKET, OPAYGO_LOCKOUT, lockoutAfter } from "../firmware/ledger/limiter";
import { Bench, MINUTE } from "./ledger.helpers";
import { fakeProtocol } from "./probes/ledger.probe";

const TEN_YEARS_MS = 10 * 365.25 * 86_400_000;

/** Wrong guesses a guesser gets in `uptimeMs`, entering one whenever the ledger would verify it. */
function fastestGuesses(name: "nexus-full" | "openpaygo", uptimeMs: number): number {
  const b = new Bench(fakeProtocol(name));
  b.boot();
  let guesses = 0;
  let t = 0;
  for (;;) {
    const feedback = b.enter("00000001");
    if (feedback?.kind === "invalid") {
      guesses++;
      continue;
    }
    if (feedback?.kind !== "locked_out") throw new Error(`unexpected ${feedback?.kind}`);
    if (t + feedback.waitMs > uptimeMs) return guesses;
    t += feedback.waitMs;
    b.elapse(feedback.waitMs);
  }
}

describe("guessing rate at the limiters' fastest", () => {
  it("Nexus: 6 at first boot plus one per 720 s of uptime", () => {
    const expected = NEXUS_BUCKET.initialAttempts + Math.floor(TEN_YEARS_MS / NEXUS_BUCKET.refillMs);
    expect(expected).toBe(6 + 438_300);
    expect(fastestGuesses("nexus-full", TEN_YEARS_MS)).toBe(expected);
  });

  it("OpenPAYGO: 11 guesses in the first 510 minutes, then one per 512 minutes", () => {
    let ramp = 0;
    for (let failures = 1; failures < OPAYGO_LOCKOUT.maxFailures; failures++) ramp += lockoutAfter(failures);
    expect(ramp).toBe(510 * MINUTE);
    const expected = OPAYGO_LOCKOUT.maxFailures + Math.floor((TEN_YEARS_MS - ramp) / OPAYGO_LOCKOUT.maxLockoutMs);
    expect(expected).toBe(11 + 10_271);
    expect(fastestGuesses("openpaygo", TEN_YEARS_MS)).toBe(expected);
  });
});
