// The attempt counts behind README "Security: the odds of guessing": a guesser who enters a wrong code the moment
// the limiter allows one, for 10 years of uptime, against the closed forms the README's arithmetic uses.
import { NEXUS_BUCKET, OPAYGO_LOCKOUT, lockoutAfter } from "../firmware/ledger/limiter";
import { Bench, MINUTE } from "./ledger.helpers";
import { fakeProtocol } from "./probes/ledger.probe";

const TEN_YEARS_MS = 10 * 365.25 * 86_400_000;

/** Wrong guesses a guesser gets in `uptimeMs`, entering one whenever the ledger would verify it. */
function fastestGuesses(name: "nexus-full" | "nexus-small" | "openpaygo", uptimeMs: number): number {
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

/** The lockout's closed form: 11 guesses in the first 510 minutes, then one per 512 minutes. */
function lockoutGuesses(uptimeMs: number): number {
  let ramp = 0;
  for (let failures = 1; failures < OPAYGO_LOCKOUT.maxFailures; failures++) ramp += lockoutAfter(failures);
  expect(ramp).toBe(510 * MINUTE);
  return OPAYGO_LOCKOUT.maxFailures + Math.floor((uptimeMs - ramp) / OPAYGO_LOCKOUT.maxLockoutMs);
}

describe("guessing rate at the limiters' fastest", () => {
  it("OpenPAYGO: 11 guesses in the first 510 minutes, then one per 512 minutes", () => {
    const expected = lockoutGuesses(TEN_YEARS_MS);
    expect(expected).toBe(11 + 10_271);
    expect(fastestGuesses("openpaygo", TEN_YEARS_MS)).toBe(expected);
  });

  it("Nexus: the lockout binds, not the bucket (6 at first boot plus one per 720 s would allow 438,306)", () => {
    const bucketOnly = NEXUS_BUCKET.initialAttempts + Math.floor(TEN_YEARS_MS / NEXUS_BUCKET.refillMs);
    expect(bucketOnly).toBe(6 + 438_300);
    const expected = lockoutGuesses(TEN_YEARS_MS);
    expect(expected).toBe(11 + 10_271);
    expect(fastestGuesses("nexus-full", TEN_YEARS_MS)).toBe(expected);
  });

  it("Nexus small: the first success at p = 2^-12 is expected after 4,096 guesses, about 4 years of uptime", () => {
    // Guess number 4,096 comes 510 + (4,096 - 11) x 512 minutes after the first.
    const minutes = 510 + (4_096 - OPAYGO_LOCKOUT.maxFailures) * (OPAYGO_LOCKOUT.maxLockoutMs / MINUTE);
    expect(minutes).toBe(2_092_030);
    expect(fastestGuesses("nexus-small", minutes * MINUTE)).toBe(4_096);
    expect(minutes / (365.25 * 24 * 60)).toBeCloseTo(3.98, 2);
  });
});
