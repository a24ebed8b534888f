// `solkey explain DEVICE CODE`: what a code a customer reads out over the phone is, in one line: which device and
// message ID / count it was issued as (or another device's, or never issued), when and for which payment, whether
// it is known to be entered, and whether the device would accept it now by the ledger's account.
import type { Command } from "commander";
import { windowAbove, type CodeKind } from "../../fleet/codes";
import { fleetAccess, SECRET_KEY_OPTION } from "../store";
import { Ledger } from "../../fleet/ledger";
import { UsageError } from "../../fleet/errors";
import { printable } from "../printable";
import { DEFAULT_DB } from "./provision";

interface ExplainOptions {
  db: string;
  json?: boolean;
}

export interface Explanation {
  readonly verdict: "issued" | "other-device" | "never-issued";
  readonly serial: string;
  readonly code: string;
  readonly line: string;
}

/** The digits of a keycode as typed or read out: spaces, dashes, * and # are only grouping. */
function _digits(code: string): string {
  const digits = code.replace(/[\s*#-]/g, "");
  if (!/^\d{1,40}$/.test(digits)) throw new UsageError(`expected a keycode (digits, * and #), got "${code}"`);
  return digits;
}

/** The device, and the fleet's codes with these digits. */
async function _codesLike(o: ExplainOptions, device: string, digits: string) {
  const ledger = await Ledger.open(o.db, fleetAccess(o));
  try {
    return await ledger.codesLike(device, digits);
  } finally {
    await ledger.close();
  }
}

export async function runExplain(device: string, code: string, o: ExplainOptions): Promise<Explanation> {
  const digits = _digits(code);
  const { device: d, rows } = await _codesLike(o, device, digits);
  const mine = rows.find((r) => r.device_id === d.deviceId);
  const what = d.record.protocol === "openpaygo" ? "count" : "ID";
  if (mine === undefined) {
    const other = rows[0];
    if (other !== undefined)
      return {
        verdict: "other-device",
        serial: d.serial,
        code,
        line:
          `${code} is not ${d.serial}'s: it was issued to ${other.serial} (${other.kind}, ${what} ${other.seq}) ` +
          `on ${other.issued_at}; ${d.serial} refuses it`,
      };
    return {
      verdict: "never-issued",
      serial: d.serial,
      code,
      line: `${code} was never issued by this fleet (mistyped, forged, or from another system); ${d.serial} refuses it`,
    };
  }
  const paid = mine.payment_ref === null ? "no payment reference" : `payment ${printable(mine.payment_ref)}`;
  const entered = mine.entered_at !== null ? `known entered ${mine.entered_at}` : "not known to be entered";
  let accept: string;
  if (mine.seq === null) accept = "a test code: no ID spent, accepted while its lifetime count lasts";
  else if (mine.entered_at !== null) accept = "the device would refuse it now (already applied)";
  else if (mine.seq > d.enteredSeq + windowAbove(d.record.protocol, mine.kind as CodeKind))
    accept = `the device would refuse it now (${what} ${mine.seq} is past the window above ${d.enteredSeq}; enter the older codes first)`;
  else accept = "the device would accept it now if it was not typed before";
  return {
    verdict: "issued",
    serial: d.serial,
    code,
    line: `${code} is ${d.serial}'s ${mine.kind} code, ${what} ${mine.seq ?? "none"}, issued ${mine.issued_at} for ${paid}; ${entered}; ${accept}`,
  };
}

export function register(program: Command): void {
  program
    .command("explain")
    .description("what a code a customer reads out is: which device, ID/count, payment, entered, accepted now")
    .argument("<device>", "serial or device id")
    .argument("<code>", "the keycode as read out, e.g. '*599 791 493 194 43#'")
    .option(
      "--db <file|url>",
      "fleet database: a SQLite file or a postgres:// URL",
      process.env.SOLKEY_DB ?? DEFAULT_DB,
    )
    .option(...SECRET_KEY_OPTION)
    .option("--json", "one JSON object on stdout")
    .addHelpText("after", "\nExample:\n  solkey explain SK-00000042 '*599 791 493 194 43#'")
    .action(async (device: string, code: string, o: ExplainOptions) => {
      const e = await runExplain(device, code, o);
      process.stdout.write((o.json ? JSON.stringify(e) : e.line) + "\n");
    });
}
