// Keycode attempt limiter: Nexus's token bucket plus the doubling lockout, and OpenPAYGO's doubling lockout, counted
// in powered uptime only. Sources: angaza nexus-embedded nexus_keycode_mas.c (bucket of seconds, every finished entry
// costs one attempt); OpenPAYGO-HW device_payg_logic.c (two forgiven failures, then 2^(failures-2) minutes, failures
// capped at 11). Nexus gets the lockout too, stricter than its reference: the bucket alone lets 43,830 guesses a year.

/**
 * Nexus (all keypads): a bucket of uptime. An entry is verified only while the bucket holds one attempt's worth
 * and no lockout (OPAYGO_LOCKOUT's schedule) runs; every verified entry costs one attempt whatever its verdict (as
 * the reference does, which also makes a valid code cost one attempt). Refilled by powered uptime, never by
 * wall-clock time.
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
 * The doubling lockout, OpenPAYGO's own and Nexus's on top of its bucket: failures are counted; the first
 * `freeFailures` cost nothing, after that failure number n locks entry for 2^(n-2) minutes, at most 512 (OpenPAYGO's
 * reference schedule: 2, 4, ... 512). A valid code resets the count; a code already used is not a failure. The
 * lockout runs down in powered uptime only, so neither a power cut nor a clock set back shortens it.
 */
export const OPAYGO_LOCKOUT = Object.freeze({
  freeFailures: 2,
  /** Counting stops here: the lockout has reached its maximum (2^(11-2) = 512 minutes). */
  maxFailures: 11,
  maxLockoutMs: 512 * 60_000,
} as const);

/** Failures since the last valid code, and the uptime left before entry is allowed again. */
export interface Lockout {
  readonly failures: number;
  readonly lockoutMs: number;
}

/** The limiter's durable state. Durations, not deadlines: uptime restarts at every boot. */
export type LimiterState =
  /** Nexus: attempts held, as uptime in ms (one attempt per NEXUS_BUCKET.refillMs), and the lockout. */
  | ({ readonly kind: "bucket"; readonly bucketMs: number } & Lockout)
  /** OpenPAYGO: the lockout alone. */
  | ({ readonly kind: "lockout" } & Lockout);

/** How a verified entry ended, as the limiter counts it. */
export type AttemptOutcome = "applied" | "duplicate" | "invalid";

const _BUCKET_MAX_MS = NEXUS_BUCKET.maxAttempts * NEXUS_BUCKET.refillMs;

/** The limiter a protocol gets on a factory-fresh device, chosen by the protocol's provisioning name. */
export function initialLimiter(protocolName: string): LimiterState {
  if (protocolName === "openpaygo") return { kind: "lockout", failures: 0, lockoutMs: 0 };
  if (protocolName === "nexus-full" || protocolName === "nexus-small")
    return {
      kind: "bucket",
      bucketMs: NEXUS_BUCKET.initialAttempts * NEXUS_BUCKET.refillMs,
      failures: 0,
      lockoutMs: 0,
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
  const lockoutMs = Math.max(0, limiter.lockoutMs - ms);
  if (limiter.kind === "bucket") {
    const bucketMs = Math.min(_BUCKET_MAX_MS, limiter.bucketMs + ms);
    if (bucketMs === limiter.bucketMs && lockoutMs === limiter.lockoutMs) return limiter;
    return { ...limiter, bucketMs, lockoutMs };
  }
  return lockoutMs === limiter.lockoutMs ? limiter : { ...limiter, lockoutMs };
}

/**
 * The limiter after one verified entry. Call only when limiterWaitMs is 0: an entry refused by the limiter is
 * not verified and costs nothing more.
 */
export function chargeLimiter(limiter: LimiterState, outcome: AttemptOutcome): LimiterState {
  const { failures, lockoutMs } = _chargeLockout(limiter, outcome);
  if (limiter.kind === "bucket")
    return { kind: "bucket", bucketMs: Math.max(0, limiter.bucketMs - NEXUS_BUCKET.refillMs), failures, lockoutMs };
  // Unchanged (a used code, or a valid one with no failures counted): the same object, so nothing is written.
  if (failures === limiter.failures && lockoutMs === limiter.lockoutMs) return limiter;
  return { kind: "lockout", failures, lockoutMs };
}

/** The lockout after a verified entry. */
function _chargeLockout(lockout: Lockout, outcome: AttemptOutcome): Lockout {
  if (outcome === "duplicate") return lockout;
  if (outcome === "applied") return { failures: 0, lockoutMs: 0 };
  const failures = Math.min(OPAYGO_LOCKOUT.maxFailures, lockout.failures + 1);
  return { failures, lockoutMs: lockoutAfter(failures) };
}

/** The lockout, in ms, that failure number `failures` (counted from 1) starts. */
export function lockoutAfter(failures: number): number {
  if (failures <= OPAYGO_LOCKOUT.freeFailures) return 0;
  return Math.min(OPAYGO_LOCKOUT.maxLockoutMs, 2 ** (failures - 2) * 60_000);
}

/** Whether `limiter` is a state this firmware can produce (used to reject corrupt records). */
export function isLimiterState(limiter: LimiterState): boolean {
  if (limiter.kind === "bucket" && !_isCount(limiter.bucketMs, _BUCKET_MAX_MS)) return false;
  return (
    _isCount(limiter.failures, OPAYGO_LOCKOUT.maxFailures) &&
    _isCount(limiter.lockoutMs, lockoutAfter(limiter.failures))
  );
}

function _isCount(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}
