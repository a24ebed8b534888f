// What a verified keycode asks of the device, in one vocabulary for every protocol: the ledger reads these and never
// a protocol's own message types. Credit is in seconds (a JS number: exact to 2^53, far past any credit).

export type Action =
  /** Adds credit. */
  | { readonly type: "add_credit"; readonly seconds: number }
  /** Replaces credit; 0 locks the device (and ends an unlock for ever). */
  | { readonly type: "set_credit"; readonly seconds: number }
  /** PAYG off for ever: the load stays on whatever the credit, until a set_credit. */
  | { readonly type: "unlock" }
  /** Temporary test power; `whenLocked`: only applies to a device with no credit (Nexus allow-test). */
  | { readonly type: "test"; readonly seconds: number; readonly whenLocked: boolean }
  /** Clears the product's restricted flag (Nexus). */
  | { readonly type: "clear_restricted_flag" }
  /** Shows the device id on the feedback output. */
  | { readonly type: "display_id" }
  /** A code that only changes the protocol's own state (counter sync, wipe IDs): the used-mark is its effect. */
  | { readonly type: "none" }
  /** A Nexus passthrough code, handed to the product hook as its digits. */
  | { readonly type: "passthrough"; readonly digits: string };

/**
 * The device-side answer to one keycode. `applied` carries the protocol's new replay state, which the caller
 * commits together with the action's effect in one journal record. `duplicate` is a genuine code already used
 * (not a failed attempt); `invalid` is anything else, with a reason for logs and tests.
 *
 * The attempt limiter reads two more facts (docs/SECURITY.md, "The keypad attacker"): `secret` says whether making
 * the code needed the device's secret (false: public, test, display, passthrough and ID-confirmation codes, which
 * anyone can type, so they never relieve the limiter); `malformed` says that the entry was refused on its shape
 * alone (length, keys, fields no code holds, a MAC under a published key), which anyone can check without the
 * secret, so it is no guess and is not counted as one.
 */
export type Verdict<S> =
  | { readonly kind: "applied"; readonly action: Action; readonly state: S; readonly secret: boolean }
  | { readonly kind: "duplicate" }
  | { readonly kind: "invalid"; readonly reason: string; readonly malformed?: true };
