// The device-side contract every keycode protocol meets, so the ledger drives Nexus and OpenPAYGO alike.
import type { Verdict } from "./action";

/**
 * A protocol bound to one device's secrets (key, starting code, time divider...). Its replay state `S` is plain
 * data that the ledger keeps inside the device state and commits to the journal with each code's effect.
 */
export interface KeycodeProtocol<S> {
  /** Name recorded in provisioning: "openpaygo", "nexus-full" or "nexus-small". */
  readonly name: string;
  /** The replay state of a factory-fresh device. */
  initialState(): S;
  /**
   * Verifies one framed entry: the digits between the start and end keys, nothing else. Pure and total: bad input
   * is an `invalid` verdict with a reason, never an exception.
   */
  verify(state: S, entry: string): Verdict<S>;
  /** The state as unsigned 32-bit words for the journal record. */
  toWords(state: S): number[];
  /** Back from words; undefined when they are not a state this firmware can read (the device then stays locked). */
  fromWords(words: readonly number[]): S | undefined;
}
