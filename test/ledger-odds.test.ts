// The attempt counts behind README "Security: the odds of guessing": a guesser who enters a wrong code the moment
// the limiter allows one, for 10 years of uptime, against the closed forms the README's arithmetic uses.
import { LOCKOUT, NEXUS_BUCKET, lockoutAfter } from "../firmware/ledger/limiter";
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

/** The lockout's closed form: 15 guesses in the first 8,190 minutes, then one per 8,192 minutes. */
function lockoutGuesses(uptimeMs: number): number {
  let ramp = 0;
  for (let failures = 1; failures < LOCKOUT.maxFailures; failures++) ramp += lockoutAfter(failures);
  expect(ramp).toBe(8190 * MINUTE);
  return LOCKOUT.maxFailures + Math.floor((uptimeMs - ramp) / LOCKOUT.maxLockoutMs);
}

describe("guessing rate at the limiters' fastest", () => {
  it("OpenPAYGO: 15 guesses in the first 8,190 minutes, then one per 8,192 minutes: 656 in 10 years", () => {
    const expected = lockoutGuesses(TEN_YEARS_MS);
    expect(expected).toBe(15 + 641);
    expect(fastestGuesses("openpaygo", TEN_YEARS_MS)).toBe(expected);
  });

  it("Nexus: the lockout binds, not the bucket (6 at first boot plus one per 720 s would allow 438,306)", () => {
    const bucketOnly = NEXUS_BUCKET.initialAttempts + Math.floor(TEN_YEARS_MS / NEXUS_BUCKET.refillMs);
    expect(bucketOnly).toBe(6 + 438_300);
    const expected = lockoutGuesses(TEN_YEARS_MS);
    expect(fastestGuesses("nexus-full", TEN_YEARS_MS)).toBe(expected);
    expect(fastestGuesses("nexus-small", TEN_YEARS_MS)).toBe(expected);
  });

  it("waiting for failures to be forgiven gives fewer guesses than guessing at once", () => {
    // Forgiving needs decayMs of quiet time after the lockout, which is as long as the longest lockout.
    expect(LOCKOUT.decayMs).toBeGreaterThanOrEqual(LOCKOUT.maxLockoutMs);
  });
});
