// Amounts of credit as operators write them (days, hours or a named package) and the packages kept in the fleet
// database. Everything becomes seconds here; an amount a device's codes cannot carry exactly is refused, or rounded
// only the way the operator says (exactCredit).
import { roundSmallDays } from "../firmware/protocols/nexus/small";
import { isReservedValue, valueToSeconds } from "../firmware/protocols/openpaygo/token";
import type { DeviceSecrets } from "./codes";
import { UsageError } from "./errors";
import type { Steps } from "./sql";

/** Longest credit one code may ask for: 100 years (every protocol's own limit is lower and reported by it). */
const MAX_SECONDS = 100 * 365 * 86400;

export interface AmountOptions {
  days?: string;
  hours?: string;
  package?: string;
}

/** The fleet's named packages: seconds by name, smallest first (read once per command, fleet/ledger.ts). */
export type Packages = ReadonlyMap<string, number>;

export function* packagesSteps(): Steps<Packages> {
  const rows = (yield { sql: "SELECT name, seconds FROM packages ORDER BY seconds, name", args: [] }) as {
    name: string;
    seconds: number;
  }[];
  return new Map(rows.map((r) => [r.name, r.seconds]));
}

/** Seconds for exactly one of --days, --hours, --package; undefined when none is given. */
export function amountSeconds(packages: Packages | null, o: AmountOptions): number | undefined {
  const given = [o.days, o.hours, o.package].filter((v) => v !== undefined).length;
  if (given > 1) throw new UsageError("give one amount: --days, --hours or --package");
  if (o.days !== undefined) return _whole(o.days, 86400, "--days");
  if (o.hours !== undefined) return _whole(o.hours, 3600, "--hours");
  if (o.package !== undefined) {
    if (packages === null) throw new UsageError("--package needs a fleet database (--db); use --days or --hours");
    return packageSeconds(packages, o.package);
  }
  return undefined;
}

/** An amount written `7d`, `12h` or a package name (batch files). */
export function parseAmount(packages: Packages, text: string): number {
  const m = /^(\d+)([dh])$/.exec(text.trim());
  if (m !== null) return _whole(m[1], m[2] === "d" ? 86400 : 3600, "amount");
  return packageSeconds(packages, text.trim());
}

function packageSeconds(packages: Packages, name: string): number {
  const seconds = packages.get(name);
  if (seconds === undefined)
    throw new UsageError(
      `no package "${name}"; packages: ${[...packages.keys()].join(", ")} (add one with --define-package NAME=7d)`,
    );
  return seconds;
}

/** `NAME=7d` or `NAME=12h`: adds or replaces a package. */
export function* definePackageSteps(text: string): Steps<{ name: string; seconds: number }> {
  const m = /^([A-Za-z][\w-]{0,31})=(\d+[dh])$/.exec(text.trim());
  if (m === null) throw new UsageError(`--define-package expected NAME=DAYSd or NAME=HOURSh, got "${text}"`);
  const seconds = parseAmount(new Map(), m[2]);
  yield {
    sql: "INSERT INTO packages (name, seconds) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET seconds = excluded.seconds",
    args: [m[1], seconds],
  };
  return { name: m[1], seconds };
}

function _whole(text: string, unit: number, flag: string): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n * unit > MAX_SECONDS)
    throw new UsageError(`${flag} expected a whole number from 1 up to 100 years, got "${text}"`);
  return n * unit;
}

/** Which way an amount the device cannot carry exactly may be rounded; undefined: refuse it. */
export type Rounding = "up" | "down";
export const ROUNDINGS: readonly Rounding[] = ["up", "down"];

/**
 * The credit a device grants for `seconds` of add or set credit: exactly `seconds`, or, when its codes cannot carry
 * that amount (whole hours on Nexus full, whole days and coarser steps on Nexus small, 1/timeDivider days on
 * OpenPAYGO), the nearest amount the way `round` says. Without `round` an inexact amount is a UsageError naming the
 * device's granularity and the two nearest amounts it can issue: money is never rounded silently (issue 14).
 */
export function exactCredit(
  device: Pick<DeviceSecrets, "protocol" | "timeDivider">,
  kind: "add" | "set",
  seconds: number,
  round?: Rounding,
): number {
  const { down, up } = _nearest(device, kind, seconds);
  if (down === seconds || up === seconds) return seconds;
  if (round === "up") return up;
  if (round === "down" && down > 0) return down;
  const options =
    down > 0
      ? `${formatCredit(down)} (--round down) or ${formatCredit(up)} (--round up)`
      : `${formatCredit(up)} (--round up)`;
  throw new UsageError(
    `this ${device.protocol} device${_dividerNote(device)} carries ${_granularity(device, kind)}: ` +
      `${formatCredit(seconds)} cannot be issued exactly; nearest: ${options}`,
  );
}

/** Seconds as operators read them: `5 days`, `4 hours`, `1 day 6 hours`, `3,600.5 seconds`. */
export function formatCredit(seconds: number): string {
  if (seconds % 3600 !== 0) return `${seconds} seconds`;
  const days = Math.floor(seconds / 86400);
  const hours = (seconds % 86400) / 3600;
  const parts = [];
  if (days > 0) parts.push(`${days} day${days === 1 ? "" : "s"}`);
  if (hours > 0 || days === 0) parts.push(`${hours} hour${hours === 1 ? "" : "s"}`);
  return parts.join(" ");
}

/** The largest amount the device can grant at or below `seconds` (0 if none) and the smallest at or above. */
function _nearest(
  device: Pick<DeviceSecrets, "protocol" | "timeDivider">,
  kind: "add" | "set",
  seconds: number,
): { down: number; up: number } {
  if (device.protocol === "nexus-full")
    return { down: Math.floor(seconds / 3600) * 3600, up: Math.ceil(seconds / 3600) * 3600 };
  if (device.protocol === "openpaygo") {
    // Values 996-999 are never issued (token.ts isReservedValue): rounding steps over them.
    const units = (seconds * device.timeDivider) / 86400;
    let down = Math.floor(units);
    let up = Math.ceil(units);
    while (isReservedValue(down)) down--;
    while (isReservedValue(up)) up++;
    return { down: valueToSeconds(down, device.timeDivider), up: valueToSeconds(up, device.timeDivider) };
  }
  // Nexus small: whole days, and above 180 (add) or 90 (set) days only the increments' steps (small.ts).
  const type = kind === "add" ? "add_credit" : "set_credit";
  const max = kind === "add" ? 405 : 960;
  const days = seconds / 86400;
  const ceil = Math.ceil(days);
  let down = Math.min(max, Math.floor(days));
  while (down > 0 && roundSmallDays(type, down) !== down) down--;
  // Past the maximum the encoder refuses the amount, naming the limit.
  return { down: down * 86400, up: (ceil > max ? ceil : roundSmallDays(type, ceil)) * 86400 };
}

function _granularity(device: Pick<DeviceSecrets, "protocol" | "timeDivider">, kind: "add" | "set"): string {
  if (device.protocol === "nexus-full") return "whole hours";
  if (device.protocol === "nexus-small")
    return `whole days (above ${kind === "add" ? "180 days steps of 3" : "90 days steps of 2 to 16"})`;
  if (device.timeDivider === 1) return "whole days";
  if (device.timeDivider === 24) return "whole hours";
  return `steps of 1/${device.timeDivider} day (${formatCredit(valueToSeconds(1, device.timeDivider))})`;
}

function _dividerNote(device: Pick<DeviceSecrets, "protocol" | "timeDivider">): string {
  return device.protocol === "openpaygo" ? ` (time divider ${device.timeDivider})` : "";
}
