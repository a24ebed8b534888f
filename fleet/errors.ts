// Errors that the CLI entry point turns into one line on stderr and an exit code.

/** The user's words are off (a missing file, a value out of range): exit 2. The message names the fix. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The work failed for a reason the user can act on (a device refused, a database is locked): exit 1. */
export class SolkeyError extends Error {
  override name = "SolkeyError";
}

/** Nothing by that name (a serial, a payment): exit 2, HTTP 404. */
export class NotFoundError extends UsageError {
  override name = "NotFoundError";
}

/** Why the fleet refuses a code as things stand: the window is full (HTTP 409), or the device cannot say it (422). */
export type Refusal = "window_full" | "not_expressible" | "no_sms";

/** A well-formed request the fleet refuses; `refusal` names why for programs (the API's `refusal` field). */
export class RefusedError extends UsageError {
  override name = "RefusedError";
  constructor(
    readonly refusal: Refusal,
    message: string,
  ) {
    super(message);
  }
}
