// `solkey recover`: a new journal for a device whose journal mounts corrupt (ARCHITECTURE.md, Journal, "Recovering a
// corrupt device", steps 2-4), built from the fleet database (fleet/recovery.ts): every code ever issued to it
// void, the credit the operator states, a fresh attempt limiter. All or nothing, as `solkey provision`: the image is
// staged and moved into place only once the recovery is recorded.
import type { Command } from "commander";
import fs from "fs";
import path from "path";
import { UsageError } from "../../fleet/errors";
import { Ledger } from "../../fleet/ledger";
import { fleetAccess, SECRET_KEY_OPTION } from "../store";
import { flashInstructions, imageFiles, stagingDir } from "../../fleet/flashing";
import { parseWhole } from "../../fleet/profile";
import type { Owed, Recovery } from "../../fleet/recovery";
import { DEFAULT_DB } from "./provision";

/** 100 years, as for issued amounts (fleet/amounts.ts); a record holds up to 136. */
const MAX_DAYS = 36_500;

interface RecoverOptions {
  creditDays?: string;
  creditHours?: string;
  unlocked?: boolean;
  note?: string;
  db: string;
  out: string;
  json?: boolean;
}

/** The credit the operator stated: exactly one of --credit-days, --credit-hours, --unlocked, never a default. */
export function owedOf(o: Pick<RecoverOptions, "creditDays" | "creditHours" | "unlocked">): Owed {
  const given = [o.creditDays, o.creditHours, o.unlocked || undefined].filter((v) => v !== undefined).length;
  if (given !== 1)
    throw new UsageError(
      "say what the device is owed, exactly once: --credit-days N or --credit-hours N (paid and not yet used, " +
        "by the server's account; 0 is allowed), or --unlocked for a paid-off device",
    );
  if (o.unlocked) return { kind: "unlocked" };
  if (o.creditDays !== undefined)
    return { kind: "credit", seconds: parseWhole(o.creditDays, 0, MAX_DAYS, "--credit-days") * 86400 };
  return { kind: "credit", seconds: parseWhole(o.creditHours as string, 0, MAX_DAYS * 24, "--credit-hours") * 3600 };
}

export async function runRecover(serial: string, o: RecoverOptions, write: (text: string) => void): Promise<void> {
  const owed = owedOf(o);
  if (o.note !== undefined && /\p{Cc}/u.test(o.note))
    throw new UsageError("--note holds control characters (a terminal escape?); type it again");
  const request = { device: serial, owed, note: o.note };
  const ledger = await Ledger.open(o.db, fleetAccess(o));
  try {
    await ledger.device(serial); // a wrong serial is refused before --out is created
    await _staged(o, write, (each) => ledger.recover(request, each));
  } finally {
    await ledger.close();
  }
}

/** Records the recovery with its image files staged inside its transaction, then moves them to --out. */
async function _staged(
  o: RecoverOptions,
  write: (text: string) => void,
  recover: (each: (r: Recovery) => void) => Promise<Recovery>,
): Promise<void> {
  const staging = stagingDir(o.out);
  const files: string[] = [];
  try {
    const recovery = await recover((r) => {
      for (const [name, data] of imageFiles(r.serial, r.record.board, { journal: r.journal })) {
        if (fs.existsSync(path.join(o.out, name)))
          throw new UsageError(`${path.join(o.out, name)} exists (an earlier recovery?); flash or move it first`);
        fs.writeFileSync(path.join(staging, name), data, { mode: 0o600 }); // device secrets: owner only
        files.push(name);
      }
    });
    for (const name of files) fs.renameSync(path.join(staging, name), path.join(o.out, name));
    _report(o, recovery, files, write);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function _report(o: RecoverOptions, r: Recovery, files: string[], write: (text: string) => void): void {
  const opg = r.record.protocol === "openpaygo";
  const flash = flashInstructions(r.record.board, o.out, "recover").replace(/<serial>/g, r.serial);
  const warning =
    r.previousRecovery === null
      ? null
      : `${r.serial} was recovered before (${r.previousRecovery}): if it came up corrupt again with no operator in ` +
        `between, its flash is failing; replace the controller`;
  if (o.json) {
    write(
      JSON.stringify({
        recoveryId: r.recoveryId,
        serial: r.serial,
        deviceId: r.deviceId,
        protocol: r.record.protocol,
        board: r.record.board,
        issuedSeq: r.issuedSeq,
        enteredSeqBefore: r.enteredSeqBefore,
        owed: r.owed,
        outstanding: r.outstanding,
        files: files.map((f) => path.join(o.out, f)),
        flash,
        warning,
      }) + "\n",
    );
    return;
  }
  const owed = r.owed.kind === "unlocked" ? "unlocked for ever" : `credit ${_duration(r.owed.seconds)} of powered time`;
  write(
    `recovery ${r.recoveryId} of ${r.serial} (${r.record.protocol}, ${r.record.board}): ${files.map((f) => path.join(o.out, f)).join(", ")}\n` +
      `  state: every ${opg ? "count" : "message ID"} up to ${r.issuedSeq} (the highest issued) used; ${owed}; ` +
      `fresh attempt limiter\n` +
      (r.outstanding.codes === 0
        ? ""
        : `  void: ${r.outstanding.codes} code(s) issued above the highest known entered (${r.enteredSeqBefore}), ` +
          `${_duration(r.outstanding.seconds)} of credit: the stated credit replaces them\n`) +
      `  flash it: ${flash}\n` +
      `  then power the device on and check it shows the credit (*#); codes issued from now on apply as usual\n`,
  );
  if (warning !== null) process.stderr.write(`warning: ${warning}\n`);
}

function _duration(seconds: number): string {
  return seconds % 86400 === 0 ? `${seconds / 86400} day(s)` : `${seconds / 3600} hour(s)`;
}

export function register(program: Command): void {
  program
    .command("recover <serial>")
    .description("new journal for a device that comes up locked (corrupt journal): old codes void, stated credit")
    .option("--credit-days <n>", "credit the device is owed, in days (paid and not yet used, by the server's account)")
    .option("--credit-hours <n>", "the same in hours")
    .option("--unlocked", "the device was paid off: unlocked for ever")
    .option("--note <text>", "kept with the recovery in the fleet database (ticket, what happened)")
    .option(
      "--db <file|url>",
      "fleet database: a SQLite file or a postgres:// URL",
      process.env.SOLKEY_DB ?? DEFAULT_DB,
    )
    .option(...SECRET_KEY_OPTION)
    .option("--out <dir>", "where the journal image goes", "recovery")
    .option("--json", "one JSON object on stdout")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  solkey recover SK-00000042 --credit-days 12 --note 'ticket 881'\n" +
        "  solkey recover SK-00000042 --credit-hours 0 --out bench/\n" +
        "Read the failed journal out first (the printed command does), then write the image; ARCHITECTURE.md, " +
        '"Recovering a corrupt device".',
    )
    .action((serial: string, o: RecoverOptions) => runRecover(serial, o, (text) => process.stdout.write(text)));
}
