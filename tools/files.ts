// Input files named on the command line, read whole: a missing file, a directory or an unreadable file is one
// usage line naming it, never a stack trace.
import fs from "fs";
import { UsageError } from "../fleet/errors";

/** The bytes of `file`, given as `what` (e.g. "scenario file"). */
export function readInput(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UsageError(`no such ${what}: ${file}`);
    if (code === "EISDIR") throw new UsageError(`${file} is a directory; expected a ${what}`);
    throw new UsageError(`cannot read ${what} ${file} (${code ?? (e as Error).message})`);
  }
}
