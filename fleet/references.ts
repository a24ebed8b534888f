// Payment references (receipts such as M-Pesa's `QX81...`) as the ledger stores and compares them. Operators and
// payment gateways type one receipt many ways (case, stray spaces, a Unicode hyphen pasted from a chat), and the
// ledger's promise "one reference, one code" holds only if those are one string.
import { UsageError } from "./errors";

/** Longest reference kept: receipts are short; anything longer is a paste gone wrong. */
const MAX_LENGTH = 128;
/** Dashes, hyphens and minus signs (Unicode Pd, the minus sign U+2212), all read as "-". */
const DASHES = /[\p{Pd}\u2212]/gu;

/**
 * The canonical form of a payment reference: Unicode NFKC (full-width letters and digits become ASCII), upper case,
 * every dash variant a "-", every whitespace removed. Refuses an empty reference and control characters.
 */
export function normalizeRef(text: string): string {
  if (/\p{Cc}/u.test(text.replace(/[\t ]/g, "")))
    throw new UsageError(`payment reference ${JSON.stringify(text)} holds control characters; type it again`);
  const ref = text.normalize("NFKC").toUpperCase().replace(DASHES, "-").replace(/\s+/gu, "");
  if (ref === "") throw new UsageError("a payment reference cannot be empty: give the receipt, or leave --ref out");
  if (ref.length > MAX_LENGTH)
    throw new UsageError(`payment reference expected at most ${MAX_LENGTH} characters, got ${ref.length}`);
  return ref;
}
