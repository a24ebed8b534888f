// Keycode attempt limiter: Nexus's token bucket plus the doubling lockout, and OpenPAYGO's doubling lockout, counted
// in powered uptime only. Sources: angaza nexus-embedded nexus_keycode_mas.c (bucket of seconds, every finished entry
// costs one attempt); OpenPAYGO-HW device_payg_logic.c (two forgiven failures, then 2^(failures-2) minutes, failures
// capped at 11). Nexus gets the lockout too, stricter than its reference: the bucket alone lets 43,830 guesses a year.

/**
 * Nexus (all keypads): a bucket of uptime. An entry is verified only while the bucket holds one attempt's worth
 * and no lockout (LOCKOUT) runs; every verified entry costs one attempt (as the reference), except that a code
 * spent for the first time refunds its own. So public codes, which anyone can type, cost one each. Refilled by
 * powered uptime, never by wall-clock time.
 */
export const NEXUS_BUCKET = Object.freeze({
  /** Attempts in the bucket of a factory-fresh device. */
  initialAttempts: 6,
  /** Uptime that earns one attempt back (NEXUS_KEYCODE_PROTOCOL_RATE_LIMIT_REFILL_SECONDS_PER_ATTEMPT). */
  refillMs: 720_000,
  /** The bucket never holds more than this many attempts. */
  maxAttempts: 128,
} as const);

/**
 * The lockout, every protocol's (Nexus's on top of its bucket): a count of failures that only a guess raises and
 * only powered time lowers (issue 11). The first `freeFailures` cost nothing, then failure number n locks entry for
 * 2^(n-2) minutes (2, 4, ... as OpenPAYGO-HW), at most `maxLockoutMs`; one failure is forgiven per `decayMs` of
 * powered uptime with no lockout running and no new failure. No code relieves it: a valid code, a used one, a
 * public one and a malformed entry leave the count as it is (the references reset it on a valid code, so each code
 * bought or read off a sticker bought about 11 quick guesses). So in any uptime T an attacker gets at most
 * maxFailures + T / decayMs guesses, whatever they interleave (docs/SECURITY.md, "The keypad attacker"):
 * 656 in 10 years, against 10,282 with OpenPAYGO-HW's 512-minute cap and reset.
 */
export const LOCKOUT = Object.freeze({
  freeFailures: 2,
  /** Counting stops here: the lockout has reached its maximum (2^(15-2) = 8,192 minutes, 5.7 days). */
  maxFailures: 15,
  maxLockoutMs: 8192 * 60_000,
  /**
   * Quiet powered uptime that forgives one failure. Equal to the longest lockout: each guess past the ramp then
   * costs one of them, so the 10-year count is the goal's (Nexus small: 656 guesses x 2^-12 is 16 % against 25 %;
   * OpenPAYGO 8.8 % against 10 %; simulated by `npm run bench -- odds`). A customer's three mistypes on a clean count wait 2 minutes in all.
   */
  decayMs: 8192 * 60_000,
} as const);

/**
 * Failures not yet forgiven, the uptime left before entry is allowed again, and the quiet uptime counted towards
 * forgiving the next failure (0 unless failures > 0 and no lockout runs).
 */
export interface Lockout {
  readonly failures: number;
  readonly lockoutMs: number;
  readonly decayMs: number;
}

/** The limiter's durable state. Durations, not deadlines: uptime restarts at every boot. */
export type LimiterState =
  /** Nexus: attempts held, as uptime in ms (one attempt per NEXUS_BUCKET.refillMs), and the lockout. */
  | ({ readonly kind: "bucket"; readonly bucketMs: number } & Lockout)
  /** OpenPAYGO: the lockout alone. */
  | ({ readonly kind: "lockout" } & Lockout);

/**
 * How a verified entry ended, as the limiter counts it: `spent` a code that needed the device's secret, applied for
 * the first time (it refunds its own bucket attempt, nothing more); `public` a code anyone can type (test, display,
 * passthrough, ID confirmation); `duplicate` a code already used or not taken now; `invalid` a well-formed guess
 * that failed. Malformed entries never reach the limiter.
 */
export type AttemptOutcome = "spent" | "public" | "duplicate" | "invalid";

const _BUCKET_MAX_MS = NEXUS_BUCKET.maxAttempts * NEXUS_BUCKET.refillMs;
const _CLEAR: Lockout = Object.freeze({ failures: 0, lockoutMs: 0, decayMs: 0 });

/** The limiter a protocol gets on a factory-fresh device, chosen by the protocol's provisioning name. */
export function initialLimiter(protocolName: string): LimiterState {
  if (protocolName === "openpaygo") return { kind: "lockout", ..._CLEAR };
  if (protocolName === "nexus-full" || protocolName === "nexus-small")
    return {
      kind: "bucket",
      bucketMs: NEXUS_BUCKET.initialAttempts * NEXUS_BUCKET.refillMs,
      ..._CLEAR,
    };
  throw new RangeError(`"protocol" expected openpaygo, nexus-full or nexus-small, got ${protocolName}`);
}

/**
 * The limiter a boot starts from. Nexus: at most the first-boot allowance, as the reference, which reloads its bucket
 * at boot from a saved grace count of at most 6 attempts; so a reboot never hands out a saved burst of up to 128.
 * A lockout survives the boot as it is.
 */
export function bootLimiter(limiter: LimiterState): LimiterState {
  const allowance = NEXUS_BUCKET.initialAttempts * NEXUS_BUCKET.refillMs;
  if (limiter.kind !== "bucket" || limiter.bucketMs <= allowance) return limiter;
  return { ...limiter, bucketMs: allowance };
}

/** Uptime in ms before the next entry may be verified; 0 when one may be now. */
export function limiterWaitMs(limiter: LimiterState): number {
  if (limiter.kind === "bucket") return Math.max(NEXUS_BUCKET.refillMs - limiter.bucketMs, limiter.lockoutMs);
  return limiter.lockoutMs;
}

/** The limiter after `ms` more of powered uptime. */
export function elapseLimiter(limiter: LimiterState, ms: number): LimiterState {
  const lockout = _elapseLockout(limiter, ms);
  if (limiter.kind === "bucket") {
    const bucketMs = Math.min(_BUCKET_MAX_MS, limiter.bucketMs + ms);
    if (bucketMs === limiter.bucketMs && lockout === limiter) return limiter;
    return _bucket(bucketMs, lockout);
  }
  return lockout === limiter ? limiter : _lockout(lockout);
}

/** The lockout runs down first; quiet uptime after it forgives one failure per LOCKOUT.decayMs. */
function _elapseLockout(lockout: Lockout, ms: number): Lockout {
  const { failures, lockoutMs, decayMs } = lockout;
  if (failures === 0 || ms === 0) return lockout;
  const quiet = decayMs + Math.max(0, ms - lockoutMs);
  const forgiven = Math.min(failures, Math.floor(quiet / LOCKOUT.decayMs));
  const left = failures - forgiven;
  return {
    failures: left,
    lockoutMs: Math.max(0, lockoutMs - ms),
    decayMs: left === 0 ? 0 : quiet - forgiven * LOCKOUT.decayMs,
  };
}

/**
 * The limiter after one verified entry. Call only when limiterWaitMs is 0: an entry refused by the limiter is
 * not verified and costs nothing more.
 */
export function chargeLimiter(limiter: LimiterState, outcome: AttemptOutcome): LimiterState {
  const lockout = outcome === "invalid" ? _fail(limiter) : limiter;
  if (limiter.kind === "bucket") {
    const bucketMs = outcome === "spent" ? limiter.bucketMs : Math.max(0, limiter.bucketMs - NEXUS_BUCKET.refillMs);
    if (bucketMs === limiter.bucketMs && lockout === limiter) return limiter;
    return _bucket(bucketMs, lockout);
  }
  // Unchanged (anything but a failure): the same object, so nothing is written.
  return lockout === limiter ? limiter : _lockout(lockout);
}

/**
 * The states built field by field: `lockout` may be the whole limiter, whose own `bucketMs` a spread would copy
 * over the new one (that left the bucket uncharged and unrefilled while no failure was counted).
 */
function _bucket(bucketMs: number, { failures, lockoutMs, decayMs }: Lockout): LimiterState {
  return { kind: "bucket", bucketMs, failures, lockoutMs, decayMs };
}

function _lockout({ failures, lockoutMs, decayMs }: Lockout): LimiterState {
  return { kind: "lockout", failures, lockoutMs, decayMs };
}

/** The lockout after a failed guess: one more failure, its lockout, and the quiet time starts again. */
function _fail(lockout: Lockout): Lockout {
  const failures = Math.min(LOCKOUT.maxFailures, lockout.failures + 1);
  return { failures, lockoutMs: lockoutAfter(failures), decayMs: 0 };
}

/** The lockout, in ms, that failure number `failures` (counted from 1) starts. */
export function lockoutAfter(failures: number): number {
  if (failures <= LOCKOUT.freeFailures) return 0;
  return Math.min(LOCKOUT.maxLockoutMs, 2 ** (failures - 2) * 60_000);
}

/** Whether `limiter` is a state this firmware can produce (used to reject corrupt records). */
export function isLimiterState(limiter: LimiterState): boolean {
  if (limiter.kind === "bucket" && !_isCount(limiter.bucketMs, _BUCKET_MAX_MS)) return false;
  return (
    _isCount(limiter.failures, LOCKOUT.maxFailures) &&
    _isCount(limiter.lockoutMs, lockoutAfter(limiter.failures)) &&
    _isCount(limiter.decayMs, LOCKOUT.decayMs - 1) &&
    // Quiet time is counted only while a failure waits to be forgiven and no lockout runs.
    (limiter.decayMs === 0 || (limiter.failures > 0 && limiter.lockoutMs === 0))
  );
}

function _isCount(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}
