// Text from the command line or a database shown on a terminal: control characters and terminal escapes (a stored
// reference or note holding ESC [ 2 J would clear the operator's screen) are printed escaped, as JSON writes them.

/** `text` with every control, format (bidi override) and line-separator character escaped as \uXXXX. */
export function printable(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
