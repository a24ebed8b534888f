// Amounts of credit as operators write them (days, hours or a named package) and the packages kept in the fleet
// database. Everything becomes seconds here; each protocol's encoder rounds up to the unit it carries.
import { UsageError } from "./errors";
import type { Db } from "./database";

/** Longest credit one code may ask for: 100 years (every protocol's own limit is lower and reported by it). */
const MAX_SECONDS = 100 * 365 * 86400;

export interface AmountOptions {
  days?: string;
  hours?: string;
  package?: string;
}

/** Seconds for exactly one of --days, --hours, --package; undefined when none is given. */
export function amountSeconds(db: Db | null, o: AmountOptions): number | undefined {
  const given = [o.days, o.hours, o.package].filter((v) => v !== undefined).length;
  if (given > 1) throw new UsageError("give one amount: --days, --hours or --package");
  if (o.days !== undefined) return _whole(o.days, 86400, "--days");
  if (o.hours !== undefined) return _whole(o.hours, 3600, "--hours");
  if (o.package !== undefined) {
    if (db === null) throw new UsageError("--package needs a fleet database (--db); use --days or --hours");
    return packageSeconds(db, o.package);
  }
  return undefined;
}

/** An amount written `7d`, `12h` or a package name (batch files). */
export function parseAmount(db: Db, text: string): number {
  const m = /^(\d+)([dh])$/.exec(text.trim());
  if (m !== null) return _whole(m[1], m[2] === "d" ? 86400 : 3600, "amount");
  return packageSeconds(db, text.trim());
}

export function packageSeconds(db: Db, name: string): number {
  const row = db.prepare("SELECT seconds FROM packages WHERE name = ?").get(name) as { seconds: number } | undefined;
  if (row === undefined) {
    const names = (db.prepare("SELECT name FROM packages ORDER BY seconds").all() as { name: string }[]).map(
      (r) => r.name,
    );
    throw new UsageError(`no package "${name}"; packages: ${names.join(", ")} (add one with --define-package NAME=7d)`);
  }
  return row.seconds;
}

/** `NAME=7d` or `NAME=12h`: adds or replaces a package. */
export function definePackage(db: Db, text: string): { name: string; seconds: number } {
  const m = /^([A-Za-z][\w-]{0,31})=(\d+[dh])$/.exec(text.trim());
  if (m === null) throw new UsageError(`--define-package expected NAME=DAYSd or NAME=HOURSh, got "${text}"`);
  const seconds = parseAmount(db, m[2]);
  db.prepare("INSERT OR REPLACE INTO packages (name, seconds) VALUES (?, ?)").run(m[1], seconds);
  return { name: m[1], seconds };
}

function _whole(text: string, unit: number, flag: string): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n * unit > MAX_SECONDS)
    throw new UsageError(`${flag} expected a whole number from 1 up to 100 years, got "${text}"`);
  return n * unit;
}
