// The verdicts both Nexus keypads give (./full_device.ts, ./small_device.ts), and the test codes they count alike:
// nexus_keycode_pro.c's allow-test (short test) and QC test, with the lifetime caps the reference lacks.
import type { Action, Verdict } from "../action";
import type { NexusState } from "./window";

/** Seconds of power an allow-test code gives a device that is out of credit (UNIVERSAL_SHORT_TEST_SECONDS). */
export const ALLOW_TEST_SECONDS = 127;
/**
 * Default lifetime cap on allow-test (and the small keypad's short-test) codes. The reference has none, and the code
 * is the same public digits on every device: typed each time the attempt limiter allows (one per 720 s), it gave
 * 120 x 127 s, about 4.2 h of free power a day. Five, as the reference's QC caps, covers testing at the factory and at
 * installation (10.6 minutes in all); a product that needs more raises it.
 */
export const SHORT_TEST_LIFETIME_MAX = 5;
/** QC test codes of at most this many seconds count as short (NEXUS_KEYCODE_PRO_QC_SHORT_TEST_MESSAGE_SECONDS). */
export const QC_SHORT_SECONDS = 600;
/** The one QC length that may stack on top of credit (NEXUS_KEYCODE_PRO_QC_LONG_TEST_MESSAGE_SECONDS). */
export const QC_LONG_SECONDS = 3600;

/** How many test codes of each kind a device accepts in its life (the small keypad has no short QC code: 0). */
export interface TestCaps {
  readonly shortTests: number;
  readonly qcShort: number;
  readonly qcLong: number;
}

export const invalid = (reason: string): Verdict<NexusState> => ({ kind: "invalid", reason });
/** Refused on its shape: no secret decides it, so the limiter does not count it as a guess. */
export const malformed = (reason: string): Verdict<NexusState> => ({ kind: "invalid", reason, malformed: true });
export const DUPLICATE: Verdict<NexusState> = Object.freeze({ kind: "duplicate" });

/** A code made with the device's key. */
export function applied(action: Action, state: NexusState): Verdict<NexusState> {
  return { kind: "applied", action, state, secret: true };
}

/** A factory code: a published key or none (test, display ID, ID confirmation, passthrough). */
export function appliedPublic(action: Action, state: NexusState): Verdict<NexusState> {
  return { kind: "applied", action, state, secret: false };
}

/**
 * The allow-test (full) or short-test (small) code: 127 s to a device out of credit. The reference counts nothing
 * here (one public code, free power whenever the limiter allows); counted in the state journalled with the test
 * power, and at the cap a duplicate (no lockout failure).
 */
export function shortTest(state: NexusState, caps: TestCaps): Verdict<NexusState> {
  if (state.shortTests >= caps.shortTests) return DUPLICATE;
  return appliedPublic(
    { type: "test", seconds: ALLOW_TEST_SECONDS, whenLocked: true },
    { ...state, shortTests: state.shortTests + 1 },
  );
}

/**
 * A QC test code of `seconds`. Flaw 6: the lifetime counts travel in the replay state, committed with the credit in
 * one journal record, and no wipe resets them (the reference's wipe-IDs codes zero qc_test_codes_received). Only the
 * one-hour code stacks on credit; others need a locked device (nexus_keycode_pro_can_unit_accept_qc_code).
 */
export function qcTest(state: NexusState, seconds: number, caps: TestCaps): Verdict<NexusState> {
  const short = seconds <= QC_SHORT_SECONDS;
  if (short ? state.qcShort >= caps.qcShort : state.qcLong >= caps.qcLong) return DUPLICATE;
  const next = short ? { ...state, qcShort: state.qcShort + 1 } : { ...state, qcLong: state.qcLong + 1 };
  return appliedPublic({ type: "test", seconds, whenLocked: seconds !== QC_LONG_SECONDS }, next);
}
