// Errors that the CLI entry point turns into one line on stderr and an exit code.

/** The user's words are off (a missing file, a value out of range): exit 2. The message names the fix. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The work failed for a reason the user can act on (a device refused, a database is locked): exit 1. */
export class SolkeyError extends Error {
  override name = "SolkeyError";
}
