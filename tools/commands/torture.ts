// `solkey torture`: the power-cut campaign (issue 5) over the journal, the NOR simulator, the OTP model and the real
// ledger, then the flash attacker (issue 12: erase and restore at every point). Prints cut points tried, tear models
// (weak bits included), OTP writes, attacks and violations (each with the id that reproduces it); exit 1 on any.
import type { Command } from "commander";
import { CHIPS } from "../../firmware/storage/flash";
import { TEARS, type Tear } from "../../hosts/node/nor";
import { UsageError } from "../../fleet/errors";
import { runAttacks, type AttackReport } from "../torture/attacks";
import { DEFAULT_OTP_SIZE, runCampaign, type CampaignReport } from "../torture/engine";
import { ledgerWorkload, PROTOCOLS, type TortureProtocol } from "../torture/ledger";

export interface TortureOptions {
  protocol: string;
  ops: string;
  double: string;
  seed: string;
  chip: string;
  blocks: string;
  continue: string;
  cut?: string;
  tear?: string;
  cut2?: string;
  tear2?: string;
  json?: boolean;
  /** false with --no-attacks: the power-cut campaign only. */
  attacks?: boolean;
}

/** One protocol's run: the power-cut campaign, and the flash attacker unless one cut is being reproduced. */
export interface TortureReport extends CampaignReport {
  readonly attacks?: AttackReport;
}

/** Runs the campaign and the attacks for each protocol asked for. Throws UsageError on bad options. */
export function runTorture(o: TortureOptions): TortureReport[] {
  const protocols = o.protocol === "all" ? PROTOCOLS : [o.protocol as TortureProtocol];
  if (!protocols.every((p) => PROTOCOLS.includes(p)))
    throw new UsageError(`--protocol expected all, ${PROTOCOLS.join(", ")}; got ${o.protocol}`);
  const chip = CHIPS[o.chip as keyof typeof CHIPS];
  if (chip === undefined) throw new UsageError(`--chip expected ${Object.keys(CHIPS).join(" or ")}; got ${o.chip}`);
  const ops = _whole(o.ops, 2, 100_000, "--ops");
  const seed = _whole(o.seed, 0, 0xffffffff, "--seed");
  const continueOps = o.continue === "all" ? Infinity : _whole(o.continue, 0, 100_000, "--continue");
  const tear = o.tear as Tear | undefined;
  if (tear !== undefined && !TEARS.includes(tear))
    throw new UsageError(`--tear expected one of ${TEARS.join(", ")}; got ${o.tear}`);
  if ((o.cut === undefined) !== (tear === undefined))
    throw new UsageError("--cut and --tear go together: copy both from a violation's id (seed=17 cut=42 tear=subset)");
  const tear2 = o.tear2 as Tear | undefined;
  if (tear2 !== undefined && !TEARS.includes(tear2))
    throw new UsageError(`--tear2 expected one of ${TEARS.join(", ")}; got ${o.tear2}`);
  if ((o.cut2 === undefined) !== (tear2 === undefined) || (o.cut2 !== undefined && o.cut === undefined))
    throw new UsageError("--cut2 and --tear2 go together, with --cut and --tear (copy all four from the id)");
  const onlySecond = o.cut2 === undefined ? undefined : { cut: _whole(o.cut2, 1, 1e9, "--cut2"), tear: tear2! };
  const blocks = _whole(o.blocks, 2, 64, "--blocks");
  return protocols.map((protocol) => {
    const workload = ledgerWorkload(protocol, seed, ops);
    let campaign: CampaignReport;
    try {
      campaign = runCampaign(workload, {
        chip,
        blocks,
        seed,
        doubleCuts: _whole(o.double, 0, 1_000_000, "--double"),
        continueOps,
        tears: tear === undefined ? TEARS : [tear],
        onlyCut: o.cut === undefined ? undefined : _whole(o.cut, 1, 1e9, "--cut"),
        onlySecond,
      });
    } catch (e) {
      // The only option the engine can refuse after the checks above: a cut past the workload's last write.
      if (e instanceof RangeError && e.message.startsWith(`"onlyCut"`))
        throw new UsageError(e.message.replace(`"onlyCut"`, "--cut") + "; same --seed and --ops as the report?");
      throw e;
    }
    if (o.attacks === false || o.cut !== undefined) return campaign;
    return { ...campaign, attacks: runAttacks(workload, { chip, blocks }) };
  });
}

/** Whether a run found anything. */
function _violated(report: TortureReport): boolean {
  return report.violations.length > 0 || (report.attacks?.violations.length ?? 0) > 0;
}

/** The report as the terminal shows it. */
export function formatReport(report: TortureReport, chip: string, blocks: number): string {
  const lines = [
    `torture: ${report.workload} on ${chip}, ${blocks} blocks`,
    `  operations     ${report.operations}`,
    `  cut points     ${report.cutPoints} (every program, erase and OTP bit write of the uncut run)`,
    `  OTP writes     ${report.otpWrites} (the mark and anchor steps, cut like the flash)`,
    `  tear models    ${report.tears.join(", ")}`,
    `  single cuts    ${report.singleCuts}`,
    `  weak-bit cuts  ${report.tears.includes("weak") ? report.singleCuts / report.tears.length : 0} ` +
      "(tear model weak: every bit changed, some read differently at each read)",
    `  double cuts    ${report.doubleCuts} (a second cut during recovery or the next operation)`,
    `  violations     ${report.violations.length}`,
    `  time           ${(report.ms / 1000).toFixed(1)} s`,
  ];
  for (const v of report.violations) lines.push(`VIOLATION ${v.id}: ${v.operation}: ${v.message}`);
  if (report.attacks !== undefined) lines.push(..._attackLines(report.attacks));
  return lines.join("\n") + "\n";
}

/** The flash attacker's counts: what erase and restore at every point gave back, against the anchor's bound. */
function _attackLines(a: AttackReport): string[] {
  const days = (ms: number) => (ms / 86_400_000).toFixed(2);
  const lines = [
    `  flash attacker (erase, restore every older image; OTP bits kept; ${DEFAULT_OTP_SIZE} OTP bits: a step is ` +
      `${a.step.minutes} min or ${a.step.codes} codes)`,
    `    anchor steps   ${a.steps}` +
      (a.steps === 0 ? " (the workload is too short to take one: raise --ops)" : " (images from before one lock)"),
    `    erases         ${a.erases} (each must come up locked)`,
    `    restores       ${a.restores} tried, ${a.mounted} booted (the rest locked: older than the anchor step)`,
    `    worst gain     ${a.worstSteps.toFixed(3)} anchor step: ${days(a.worstGain.ms)} days of credit and ` +
      `${a.worstGain.codes} codes again (bound 1 step)`,
    `    codes again    ${a.codesAgain} over all booted restores, each within its step`,
    `    limiter back   ${a.limiterBack} restores gave the attempt limiter back, up to ${a.failuresBack} failures ` +
      "(not anchored: docs/SECURITY.md)",
    `    violations     ${a.violations.length}`,
    `    time           ${(a.ms / 1000).toFixed(1)} s`,
  ];
  for (const v of a.violations) lines.push(`VIOLATION ${v.id}: ${v.operation}: ${v.message}`);
  return lines;
}

export function register(program: Command): void {
  program
    .command("torture")
    .description(
      "cut power at every flash and OTP write of a device workload, then erase and restore its journal at every " +
        "point, and check the journal's invariants",
    )
    .option("--protocol <name>", `all, ${PROTOCOLS.join(" or ")}`, "all")
    .option("--ops <n>", "operations in the workload (codes, uptime, power cycles)", "200")
    .option("--double <n>", "random double cuts (a second cut during recovery)", "1000")
    .option("--seed <n>", "workload and tear seed", "17")
    .option("--chip <name>", "flash profile: nrf52 (2 writes per word, 10k cycles) or esp32", "nrf52")
    .option("--blocks <n>", "4 KB blocks in the journal region", "2")
    .option("--continue <n>", 'operations run after a cut before the final check, or "all"', "all")
    .option("--cut <k>", "only this cut point (from a violation id)")
    .option("--tear <model>", `only this tear model: ${TEARS.join(", ")}`)
    .option("--cut2 <k>", "with --cut: the second cut of a double-cut id")
    .option("--tear2 <model>", "with --cut2: its tear model")
    .option("--no-attacks", "skip the flash attacker (erase and restore at every point)")
    .option("--json", "print the reports as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  solkey torture\n  solkey torture --protocol nexus-full --ops 400 --double 5000" +
        "\n  solkey torture --seed 17 --cut 42 --tear subset   (reproduce one reported case)" +
        "\n  solkey torture --seed 17 --cut 42 --tear subset --cut2 1 --tear2 half",
    )
    .action((o: TortureOptions) => {
      const reports = runTorture(o);
      if (o.json) process.stdout.write(JSON.stringify(reports, null, 2) + "\n");
      else for (const r of reports) process.stdout.write(formatReport(r, o.chip, Number(o.blocks)));
      if (reports.some(_violated)) process.exitCode = 1;
    });
}

function _whole(text: string, min: number, max: number, flag: string): number {
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < min || n > max)
    throw new UsageError(`${flag} expected a whole number ${min}-${max}`);
  return n;
}
