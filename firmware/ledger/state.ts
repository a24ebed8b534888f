// The device's whole durable PAYG state: what one journal record holds (issue 5), plain data, no methods.
import { initialLimiter, type LimiterState } from "./limiter";
import type { KeycodeProtocol } from "../protocols/protocol";

/** Largest credit or test time a record holds, in seconds (u32: 136 years); larger amounts saturate here. */
export const MAX_SECONDS = 0xffff_ffff;

/**
 * Whether PAYG meters the load. Unlocked for ever has no credit to count: that state cannot carry one.
 * `creditSeconds` and `testSeconds` are what is left AFTER the running one-minute lease (see reducer.ts): a
 * device that boots from this state has already paid for the time it may have used before the cut.
 */
export type Payg =
  | { readonly kind: "unlocked" }
  | {
      readonly kind: "metered";
      /** Paid credit left, in seconds of powered time. */
      readonly creditSeconds: number;
      /** Test power left, in seconds of powered time; used before credit (Nexus adds test time to credit). */
      readonly testSeconds: number;
    };

/**
 * Everything a power cut must not lose, committed as one journal record. `S` is the protocol's replay state:
 * used-code window or count, Nexus factory QC counters and restricted flag are all protocol-owned, so the ledger
 * keeps no counters of its own.
 */
export interface DeviceState<S> {
  readonly payg: Payg;
  /** The protocol's replay state, as its verify() last returned it for an applied code. */
  readonly protocol: S;
  /** Attempt limiter, in uptime durations (the journal never sees a wall clock). */
  readonly limiter: LimiterState;
}

/**
 * The state of a factory-fresh device: metered, no credit, the protocol's initial replay state. A product that
 * ships restricted says so to its protocol (`nexusFull({ key, restricted: true })`): the flag lives in S.
 */
export function freshState<S>(protocol: KeycodeProtocol<S>): DeviceState<S> {
  return {
    payg: { kind: "metered", creditSeconds: 0, testSeconds: 0 },
    protocol: protocol.initialState(),
    limiter: initialLimiter(protocol.name),
  };
}

/**
 * `payg` less `minutes` charged in the journal's tally since it was written (docs/SPEC.md, "Tally"): test power
 * first, then credit, as the reducer's lease takes them, never below zero. Unlocked is unchanged.
 */
export function chargeMinutes(payg: Payg, minutes: number): Payg {
  if (payg.kind === "unlocked" || minutes === 0) return payg;
  let seconds = minutes * 60;
  const test = Math.min(payg.testSeconds, seconds);
  seconds -= test;
  const credit = Math.min(payg.creditSeconds, seconds);
  return { kind: "metered", creditSeconds: payg.creditSeconds - credit, testSeconds: payg.testSeconds - test };
}
