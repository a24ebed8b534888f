// `solkey issue`: the next keycode for a device from the fleet ledger (fleet/ledger.ts), for an amount or an
// action; idempotent per payment reference; refuses codes past the device's acceptance window unless told.
// Also: record a code as entered, list a device's codes, issue a whole batch file in one transaction.
import type { Command } from "commander";
import { UsageError } from "../../fleet/errors";
import {
  amountSeconds,
  parseAmount,
  ROUNDINGS,
  type AmountOptions,
  type Packages,
  type Rounding,
} from "../../fleet/amounts";
import type { CodeRequest } from "../../fleet/codes";
import { fleetAccess, SECRET_KEY_OPTION } from "../store";
import { Ledger, type IssuedCode, type IssueRequest } from "../../fleet/ledger";
import { parseWhole } from "../../fleet/profile";
import { normalizeRef } from "../../fleet/references";
import { readInput } from "../files";
import { printable } from "../printable";
import { DEFAULT_DB } from "./provision";

/** The flags that say which code: an amount, or one action. */
export interface CodeOptions extends AmountOptions {
  round?: string;
  set?: boolean;
  unlock?: boolean;
  lock?: boolean;
  wipe?: string;
  test?: string;
  counterSync?: boolean;
}

interface IssueOptions extends CodeOptions {
  ref?: string;
  pastWindow?: boolean;
  entered?: string;
  history?: boolean;
  batch?: string;
  definePackage?: string;
  db: string;
  json?: boolean;
}

/** The code an operator's flags ask for: add unless an action flag says otherwise. */
export function codeRequest(packages: Packages | null, o: CodeOptions): CodeRequest {
  const actions = [o.set, o.unlock, o.lock, o.wipe, o.test, o.counterSync].filter(
    (a) => a !== undefined && a !== false,
  );
  if (actions.length > 1) throw new UsageError("give one of --set, --unlock, --lock, --wipe, --test, --counter-sync");
  const seconds = amountSeconds(packages, o);
  if (o.set || actions.length === 0) {
    if (seconds === undefined)
      throw new UsageError(`${o.set ? "--set" : "adding credit"} needs --days, --hours or --package`);
    const round = roundingOf(o);
    return { kind: o.set ? "set" : "add", seconds, ...(round && { round }) };
  }
  if (seconds !== undefined || o.round !== undefined)
    throw new UsageError("only add and --set codes carry an amount (and --round)");
  if (o.unlock) return { kind: "unlock" };
  if (o.lock) return { kind: "lock" };
  if (o.counterSync) return { kind: "counter_sync" };
  if (o.wipe !== undefined) return { kind: "wipe", target: o.wipe };
  return { kind: "test", minutes: parseWhole(o.test as string, 1, 99, "--test MINUTES") };
}

/** --round up|down, or undefined: an amount the device cannot carry exactly is then refused. */
export function roundingOf(o: Pick<CodeOptions, "round">): Rounding | undefined {
  if (o.round === undefined) return undefined;
  if (!(ROUNDINGS as readonly string[]).includes(o.round))
    throw new UsageError(`--round expected up or down, got "${o.round}"`);
  return o.round as Rounding;
}

export function describe(c: Pick<IssuedCode, "kind" | "seq" | "protocol" | "units" | "seconds">): string {
  const unit = c.protocol === "nexus-full" ? "hours" : c.protocol === "nexus-small" ? "days" : "units";
  const amount = c.units === null ? "" : ` ${c.units} ${c.kind === "test" ? "minutes" : unit}`;
  const credit = c.seconds === null || c.kind === "test" ? "" : ` = ${+(c.seconds / 86400).toFixed(3)} days`;
  const where = c.seq === null ? "" : ` (${c.protocol === "openpaygo" ? "count" : "ID"} ${c.seq})`;
  return `${c.kind}${amount}${credit}${where}`;
}

function _line(c: IssuedCode): string {
  const again = c.replayed ? `  [issued before for payment ${c.paymentRef}]` : "";
  return `${c.serial}  ${c.keycode}  ${describe(c)}${again}\n`;
}

export async function runIssue(
  device: string | undefined,
  o: IssueOptions,
  out: (t: string) => void,
  err: (t: string) => void,
): Promise<void> {
  const ledger = await Ledger.open(o.db, fleetAccess(o));
  try {
    if (o.definePackage !== undefined) {
      const p = await ledger.definePackage(o.definePackage);
      out(o.json ? JSON.stringify(p) + "\n" : `package ${p.name} = ${p.seconds / 3600} hours\n`);
      return;
    }
    if (o.batch !== undefined) {
      if (device !== undefined)
        throw new UsageError("--batch FILE takes the devices from the file, not the command line");
      const requests = _readBatch(await ledger.packages(), o.batch, o.pastWindow ?? false, roundingOf(o));
      const issued = await ledger.issueMany(requests);
      out(o.json ? JSON.stringify(issued) + "\n" : issued.map(_line).join(""));
      return;
    }
    await _oneDevice(device, o, ledger, out, err);
  } finally {
    await ledger.close();
  }
}

/** Issues one device's code, records one as entered, or lists its codes. */
async function _oneDevice(
  device: string | undefined,
  o: IssueOptions,
  ledger: Ledger,
  out: (t: string) => void,
  err: (t: string) => void,
): Promise<void> {
  if (device === undefined) throw new UsageError("which device? `solkey issue SERIAL --days 7` (or --batch FILE)");
  if (o.entered !== undefined) {
    const r = await ledger.markEntered(device, o.entered);
    out(
      o.json
        ? JSON.stringify(r) + "\n"
        : `${r.serial}: ${r.seq} recorded as entered; highest applied ${r.enteredSeq}\n`,
    );
    return;
  }
  if (o.history) {
    const { device: d, codes } = await ledger.history(device);
    if (o.json)
      return out(JSON.stringify({ serial: d.serial, issuedSeq: d.issuedSeq, enteredSeq: d.enteredSeq, codes }) + "\n");
    out(`${d.serial} (${d.record.protocol}): last issued ${d.issuedSeq}, highest known applied ${d.enteredSeq}\n`);
    for (const c of codes) {
      const state =
        c.enteredAt !== null ? "entered" : c.seq !== null && c.seq <= d.enteredSeq ? "superseded?" : "outstanding";
      out(
        `  ${c.issuedAt}  ${c.keycode}  ${describe({ ...c, protocol: d.record.protocol })}  ${state}${c.paymentRef ? `  ref ${printable(c.paymentRef)}` : ""}\n`,
      );
    }
    return;
  }
  const packages = o.package === undefined ? null : await ledger.packages();
  const issued = await ledger.issue({
    device,
    code: codeRequest(packages, o),
    paymentRef: _ref(o.ref),
    pastWindow: o.pastWindow,
  });
  if (issued.warning !== null) err(`warning: ${issued.warning}\n`);
  out(o.json ? JSON.stringify(issued) + "\n" : _line(issued));
}

/** A receipt as typed, in the one form the ledger compares (case, spaces and dashes folded). */
function _ref(typed: string | undefined): string | undefined {
  return typed === undefined ? undefined : normalizeRef(typed);
}

/** Batch file: CSV lines `device,amount[,payment_ref]`, amount `7d`, `12h` or a package; a header line is skipped. */
function _readBatch(
  packages: Packages,
  file: string,
  pastWindow: boolean,
  round: Rounding | undefined,
): IssueRequest[] {
  const requests: IssueRequest[] = [];
  readInput(file, "batch file")
    .toString("utf8")
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (line.trim() === "" || (i === 0 && /^\s*(device|serial)\s*,/i.test(line))) return;
      const [device, amount, ref] = line.split(",").map((f) => f.trim());
      if (!device || !amount) throw new UsageError(`${file}:${i + 1}: expected device,amount[,payment_ref]`);
      let seconds: number;
      let paymentRef: string | undefined;
      try {
        seconds = parseAmount(packages, amount);
        paymentRef = _ref(ref || undefined);
      } catch (e) {
        throw new UsageError(`${file}:${i + 1}: ${(e as Error).message}`);
      }
      const code = { kind: "add" as const, seconds, ...(round && { round }) };
      requests.push({ device, code, paymentRef, pastWindow });
    });
  if (requests.length === 0) throw new UsageError(`${file} holds no requests`);
  return requests;
}

export function register(program: Command): void {
  program
    .command("issue")
    .description("issue a device's next keycode from the fleet ledger (idempotent per payment reference)")
    .argument("[device]", "serial or device id")
    .option("--days <n>", "credit in days")
    .option("--hours <n>", "credit in hours")
    .option("--package <name>", "a named package (day, week, month, or --define-package)")
    .option("--round <way>", "an amount the device cannot carry exactly: up or down (default: refuse it)")
    .option("--set", "set credit to the amount instead of adding it")
    .option("--unlock", "PAYG off for ever")
    .option("--lock", "credit to zero")
    .option("--wipe <target>", "Nexus wipe: credit or restricted_flag")
    .option("--test <minutes>", "Nexus test code, no ID spent: full QC 1-99 minutes; small 2 (short) or 60 (QC)")
    .option("--counter-sync", "OpenPAYGO counter sync")
    .option("--ref <payment>", "payment reference: the same reference always yields the same code")
    .option("--past-window", "issue even if the device may refuse it (read the warning first)")
    .option("--entered <keycode>", "record that the device applied this code (keycode or its ID/count)")
    .option("--history", "list the device's codes and what is known to be entered")
    .option("--batch <file>", "issue add codes for every line device,amount[,payment_ref] in one transaction")
    .option("--define-package <name=amount>", "add or change a package, e.g. week=7d or evening=4h")
    .option(
      "--db <file|url>",
      "fleet database: a SQLite file or a postgres:// URL",
      process.env.SOLKEY_DB ?? DEFAULT_DB,
    )
    .option(...SECRET_KEY_OPTION)
    .option("--json", "JSON on stdout")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  solkey issue SK-00000001 --days 7 --ref MPESA-QX81\n" +
        "  solkey issue SK-00000001 --package month\n" +
        "  solkey issue SK-00000001 --unlock\n" +
        "  solkey issue SK-00000001 --entered '*599 791 493 194 43#'\n" +
        "  solkey issue --batch payments.csv --json",
    )
    .action((device: string | undefined, o: IssueOptions) =>
      runIssue(
        device,
        o,
        (t) => process.stdout.write(t),
        (t) => process.stderr.write(t),
      ),
    );
}
