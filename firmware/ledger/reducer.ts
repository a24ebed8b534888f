// The PAYG state machine: a pure reducer from (state, event) to (state, effects), issue 6 "firmware/ledger".
//
// Time is powered uptime only: the caller reports how much has passed (`elapsed`), so no wall clock is read and
// setting one back cannot add credit. Credit is charged AHEAD, one minute at a time (LEASE_MS): a `tick` effect
// charges the next minute in the journal's tally (one word, docs/SPEC.md "Tally") before the load may use it, or a
// step that persists anyway deducts it in its record. A power cut loses the rest of the running minute (at most 60 s
// per cut, issue 21); pulling the plug never gives free time, because the minute in use was paid before it began.
import type { Action } from "../protocols/action";
import type { KeycodeProtocol } from "../protocols/protocol";
import { bootLimiter, chargeLimiter, elapseLimiter, limiterWaitMs, type AttemptOutcome } from "./limiter";
import { MAX_SECONDS, type DeviceState, type Payg } from "./state";
import { MINUTE_MS } from "../storage/journal";

/**
 * Powered time between checkpoints of a refilling limiter: a record per hour of uptime while it refills. A cut loses
 * at most this much refill (fewer attempts, never more). Hourly, not every 15 minutes: the Nexus bucket refills for
 * hours after each code, and 15-minute checkpoints (~24 records a day) left nRF52 at 23.8 years under the v2 clock.
 */
export const CHECKPOINT_INTERVAL_MS = 60 * 60_000;

/**
 * The lease charged ahead: one tally minute. A power cut costs the customer at most this much credit (issue 21);
 * the tally costs 4 bytes per minute (25+ years on both boards: `npm run bench -- wear`).
 */
export const LEASE_MS = MINUTE_MS;

/** Powered time already deducted from the device's record but not yet used by the load. */
export interface Lease {
  readonly testMs: number;
  readonly creditMs: number;
}

/** The reducer's state: the durable record plus what lives only in RAM and a power cut forgets. */
export interface LedgerState<S> {
  /** What the next persist writes (the limiter may be ahead of the journal by up to one checkpoint of refill). */
  readonly device: DeviceState<S>;
  /** The part of the last record's paid-ahead lease not yet used; lost on a power cut. */
  readonly lease: Lease;
  /** Uptime since the last persist. */
  readonly sinceCheckpointMs: number;
  /** The limiter has refilled or run down since the last persist. */
  readonly limiterDirty: boolean;
  /** False until the boot event: the load stays off until the state is mounted. */
  readonly booted: boolean;
}

export type LedgerEvent =
  /** Power-on with the state mounted from the journal (also what a reboot looks like: the lease is gone). */
  | { readonly type: "boot" }
  /** `ms` of powered uptime have passed since the last event (monotonic; never negative). */
  | { readonly type: "elapsed"; readonly ms: number }
  /** A framed entry: the digits between start and end keys. */
  | { readonly type: "entry"; readonly digits: string }
  /** The customer asked for the credit left (for example `*#`). */
  | { readonly type: "query" };

/** What the customer is shown. */
export type Feedback =
  | { readonly kind: "applied"; readonly action: Action }
  /** A genuine code that is used already, or that this device state does not take (test code on a credited unit). */
  | { readonly kind: "duplicate" }
  | { readonly kind: "invalid"; readonly reason: string }
  /** Entry refused by the attempt limiter without being checked; `waitMs` of uptime until the next attempt. */
  | { readonly kind: "locked_out"; readonly waitMs: number }
  | { readonly kind: "display_id" }
  /** Credit query: powered time left (credit plus test power) and the days to blink, rounded up. */
  | { readonly kind: "credit"; readonly unlocked: boolean; readonly seconds: number; readonly days: number };

/**
 * What the caller does, in array order. `persist` always comes first and must be committed as ONE journal record
 * before the rest is shown: if it fails, the caller turns the load off and shows nothing.
 */
export type Effect<S> =
  /**
   * Commit `device` as one record; `codes`: codes this step applied, `minutes`: minutes charged in `device` itself
   * since the last commit instead of as tally words (the journal's anchor counts both, docs/SPEC.md "Anchor").
   */
  | { readonly type: "persist"; readonly device: DeviceState<S>; readonly codes: number; readonly minutes: number }
  /** Charge the next minute of the running lease in the journal's tally (already deducted from `device`). */
  | { readonly type: "tick" }
  | { readonly type: "load"; readonly on: boolean }
  | { readonly type: "feedback"; readonly feedback: Feedback }
  /** A Nexus passthrough code for the product hook. */
  | { readonly type: "passthrough"; readonly digits: string };

export interface Step<S> {
  readonly state: LedgerState<S>;
  readonly effects: Effect<S>[];
}

const _NO_LEASE: Lease = Object.freeze({ testMs: 0, creditMs: 0 });

/** The ledger over a state read from the journal (or freshState), before its boot event: load off. */
export function mount<S>(device: DeviceState<S>): LedgerState<S> {
  return { device, lease: _NO_LEASE, sinceCheckpointMs: 0, limiterDirty: false, booted: false };
}

/** Whether the load is on: only after boot, and exactly while unlocked or any credit or test power is left. */
export function loadOn<S>(state: LedgerState<S>): boolean {
  return state.booted && (state.device.payg.kind === "unlocked" || _leaseMs(state.lease) > 0);
}

/** Powered time left in ms (credit plus test power, including the running lease); Infinity when unlocked. */
export function remainingMs<S>(state: LedgerState<S>): number {
  const payg = state.device.payg;
  if (payg.kind === "unlocked") return Infinity;
  return (payg.creditSeconds + payg.testSeconds) * 1000 + _leaseMs(state.lease);
}

/**
 * Uptime in ms after which the caller must report `elapsed` even if nothing happens: when the lease runs out
 * (renew it, or turn the load off at the right moment) or a refilled limiter is due for its checkpoint.
 * Undefined when nothing is scheduled.
 */
export function nextWakeMs<S>(state: LedgerState<S>): number | undefined {
  if (!state.booted) return undefined;
  const leaseMs = _leaseMs(state.lease);
  const checkpointMs = state.limiterDirty ? Math.max(0, CHECKPOINT_INTERVAL_MS - state.sinceCheckpointMs) : Infinity;
  const wake = Math.min(leaseMs > 0 ? leaseMs : Infinity, checkpointMs);
  return wake === Infinity ? undefined : wake;
}

/** The next state and the effects to carry out, in order. Pure: the caller does all IO. */
export function reduce<S>(protocol: KeycodeProtocol<S>, state: LedgerState<S>, event: LedgerEvent): Step<S> {
  switch (event.type) {
    case "boot": {
      // The clamped limiter is written with the next record; until then every boot clamps the saved one again.
      const limiter = bootLimiter(state.device.limiter);
      const mounted = {
        ...mount(limiter === state.device.limiter ? state.device : { ...state.device, limiter }),
        booted: true,
      };
      const booted = _takeLease(mounted);
      // Measured against a mounted (unbooted) ledger, so a reboot states the load too. The boot's minute is a tally
      // word, not a record: a boot writes 4 bytes (DESIGN.md, "Brown-out back-off").
      return _finish(mount(state.device), booted, [], { ticks: booted !== mounted ? 1 : 0 });
    }
    case "elapsed":
      if (typeof event.ms !== "number" || !Number.isInteger(event.ms) || event.ms < 0)
        throw new RangeError(`"ms" expected a non-negative integer, got ${event.ms}`);
      return state.booted ? _elapse(state, event.ms) : { state, effects: [] };
    case "entry":
      if (typeof event.digits !== "string")
        throw new TypeError(`"digits" expected a string, got ${typeof event.digits}`);
      return state.booted ? _entry(protocol, state, event.digits) : { state, effects: [] };
    case "query":
      return state.booted ? { state, effects: [_feedback(_creditFeedback(state))] } : { state, effects: [] };
  }
}

function _elapse<S>(state: LedgerState<S>, ms: number): Step<S> {
  const limiter = elapseLimiter(state.device.limiter, ms);
  let next: LedgerState<S> = {
    ...state,
    device: limiter === state.device.limiter ? state.device : { ...state.device, limiter },
    sinceCheckpointMs: state.sinceCheckpointMs + ms,
    limiterDirty: state.limiterDirty || limiter !== state.device.limiter,
  };
  let ticks = 0;
  let left = ms;
  // Use the lease, charging the next minute each time it runs out (a tally word each, or one record for them all).
  while (left > 0 && _leaseMs(next.lease) > 0) {
    const test = Math.min(left, next.lease.testMs);
    const credit = Math.min(left - test, next.lease.creditMs);
    left -= test + credit;
    next = { ...next, lease: { testMs: next.lease.testMs - test, creditMs: next.lease.creditMs - credit } };
    if (_leaseMs(next.lease) === 0) {
      next = _takeLease(next);
      if (_leaseMs(next.lease) > 0) ticks++;
    }
  }
  const checkpointDue = next.limiterDirty && next.sinceCheckpointMs >= CHECKPOINT_INTERVAL_MS;
  // A checkpoint's record deducts the minutes charged meanwhile instead of their tally words: it reports them.
  return _finish(state, next, [], checkpointDue ? { persist: true, minutes: ticks } : { ticks });
}

function _entry<S>(protocol: KeycodeProtocol<S>, state: LedgerState<S>, digits: string): Step<S> {
  const waitMs = limiterWaitMs(state.device.limiter);
  if (waitMs > 0) return { state, effects: [_feedback({ kind: "locked_out", waitMs })] };

  const verdict = protocol.verify(state.device.protocol, digits);
  // Refused on its shape alone (anyone can check it): no guess, so nothing is charged or written.
  if (verdict.kind === "invalid" && verdict.malformed === true)
    return { state, effects: [_feedback({ kind: "invalid", reason: verdict.reason })] };
  let next = state;
  let outcome: AttemptOutcome;
  let feedback: Feedback;
  const extra: Effect<S>[] = [];
  let spent = false;
  if (verdict.kind === "invalid") {
    outcome = "invalid";
    feedback = { kind: "invalid", reason: verdict.reason };
  } else if (verdict.kind === "duplicate") {
    outcome = "duplicate";
    feedback = { kind: "duplicate" };
  } else {
    const applied = _apply(state, verdict.action, verdict.state);
    next = applied.state;
    spent = applied.outcome === "spent";
    // Only a code that needed the secret, spent now, refunds its own attempt; a public one never relieves.
    outcome = applied.outcome === "spent" && !verdict.secret ? "public" : applied.outcome;
    feedback = applied.feedback;
    if (verdict.action.type === "passthrough" && spent)
      extra.push({ type: "passthrough", digits: verdict.action.digits });
  }
  const limiter = chargeLimiter(next.device.limiter, outcome);
  if (limiter !== next.device.limiter) next = { ...next, device: { ...next.device, limiter } };
  const changed = next.device !== state.device;
  const leased = _takeLease(next);
  // A step that writes a record anyway deducts the new minute in it; otherwise the minute is a tally word.
  const commit: _Commit = changed
    ? { persist: true, codes: spent ? 1 : 0, minutes: leased !== next ? 1 : 0 }
    : { ticks: leased !== next ? 1 : 0 };
  return _finish(state, leased, [_feedback(feedback), ...extra], commit);
}

interface _Applied<S> {
  readonly state: LedgerState<S>;
  readonly outcome: "spent" | "duplicate";
  readonly feedback: Feedback;
}

/** One genuine, new code's effect, with the protocol's new replay state (the used-mark) in the same record. */
function _apply<S>(state: LedgerState<S>, action: Action, replay: S): _Applied<S> {
  const device = state.device;
  const payg = device.payg;
  const marked = { ...device, protocol: replay };
  const applied = (next: DeviceState<S>, lease: Lease = state.lease): _Applied<S> => ({
    state: { ...state, device: next, lease },
    outcome: "spent",
    feedback: action.type === "display_id" ? { kind: "display_id" } : { kind: "applied", action },
  });
  switch (action.type) {
    case "add_credit":
      // Nexus: an unlocked unit marks the code used and answers "duplicate"; there is no credit to add to.
      if (payg.kind === "unlocked")
        return { state: { ...state, device: marked }, outcome: "spent", feedback: { kind: "duplicate" } };
      return applied({ ...marked, payg: _metered(_sum(payg.creditSeconds, action.seconds), payg.testSeconds) });
    case "set_credit":
      // Replaces everything left, test power and the running lease included (Nexus sets its one credit counter).
      return applied({ ...marked, payg: _metered(Math.min(MAX_SECONDS, action.seconds), 0) }, _NO_LEASE);
    case "unlock":
      return applied({ ...marked, payg: { kind: "unlocked" } }, _NO_LEASE);
    case "test":
      // Not taken by an unlocked unit, nor (allow-test) by one with time left: the code stays unused.
      if (payg.kind === "unlocked" || (action.whenLocked && remainingMs(state) > 0))
        return { state, outcome: "duplicate", feedback: { kind: "duplicate" } };
      return applied({ ...marked, payg: _metered(payg.creditSeconds, _sum(payg.testSeconds, action.seconds)) });
    case "clear_restricted_flag": // the flag is the protocol's (Nexus keeps it in its replay state)
    case "display_id":
    case "none":
    case "passthrough":
      return applied(marked);
  }
}

/** Pays the next lease out of the record when the running one is used up and time is left. */
function _takeLease<S>(state: LedgerState<S>): LedgerState<S> {
  const payg = state.device.payg;
  if (payg.kind === "unlocked" || _leaseMs(state.lease) > 0 || payg.creditSeconds + payg.testSeconds === 0)
    return state;
  const intervalSeconds = LEASE_MS / 1000;
  const test = Math.min(payg.testSeconds, intervalSeconds);
  const credit = Math.min(payg.creditSeconds, intervalSeconds - test);
  return {
    ...state,
    device: { ...state.device, payg: _metered(payg.creditSeconds - credit, payg.testSeconds - test) },
    lease: { testMs: test * 1000, creditMs: credit * 1000 },
  };
}

/** What a step commits: a record (with the codes it applied and minutes it charged), or `ticks` tally minutes. */
type _Commit =
  | { readonly persist: true; readonly codes?: number; readonly minutes: number }
  | { readonly persist?: false; readonly ticks: number };

/** Wraps up a step: the commit (if any) first, then the load if it changed (always at boot), then the rest. */
function _finish<S>(before: LedgerState<S>, after: LedgerState<S>, rest: Effect<S>[], commit: _Commit): Step<S> {
  const effects: Effect<S>[] = [];
  let state = after;
  if (commit.persist) {
    state = { ...after, sinceCheckpointMs: 0, limiterDirty: false };
    effects.push({ type: "persist", device: state.device, codes: commit.codes ?? 0, minutes: commit.minutes });
  } else {
    for (let i = 0; i < commit.ticks; i++) effects.push({ type: "tick" });
  }
  const on = loadOn(state);
  if (!before.booted || on !== loadOn(before)) effects.push({ type: "load", on });
  effects.push(...rest);
  return { state, effects };
}

function _creditFeedback<S>(state: LedgerState<S>): Feedback {
  const ms = remainingMs(state);
  if (ms === Infinity) return { kind: "credit", unlocked: true, seconds: 0, days: 0 };
  const seconds = Math.floor(ms / 1000);
  return { kind: "credit", unlocked: false, seconds, days: Math.ceil(seconds / 86_400) };
}

function _feedback<S>(feedback: Feedback): Effect<S> {
  return { type: "feedback", feedback };
}

function _metered(creditSeconds: number, testSeconds: number): Payg {
  return { kind: "metered", creditSeconds, testSeconds };
}

function _sum(a: number, b: number): number {
  return Math.min(MAX_SECONDS, a + b);
}

function _leaseMs(lease: Lease): number {
  return lease.testMs + lease.creditMs;
}
