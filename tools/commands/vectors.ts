// `solkey vectors FILE...`: checks conformance vector files (JSON lines, see ../shared/vectors/README.md) against
// solkey's encoders and device verifiers. One line per failure, then `N passed, M failed`; exit 1 on any failure.
import type { Command } from "commander";
import { checkNexus, type NexusRow } from "../conformance/nexus";
import { checkOpenPaygo, type OpenPaygoRow } from "../conformance/openpaygo";
import { checkSiphash, type SiphashRow } from "../conformance/siphash";
import { SolkeyError } from "../../fleet/errors";
import { readInput } from "../files";

/** A row's checker: null when it passes, else what differed. Keyed by the row's `protocol` field. */
type Checker = (row: never) => string | null;
const CHECKERS: Readonly<Record<string, Checker>> = {
  siphash24: checkSiphash as (row: SiphashRow) => string | null,
  openpaygo: checkOpenPaygo as (row: OpenPaygoRow) => string | null,
  "nexus-full": checkNexus as (row: NexusRow) => string | null,
  "nexus-small": checkNexus as (row: NexusRow) => string | null,
};

function protocolOf(row: Record<string, unknown>): string {
  if (typeof row.protocol === "string") return row.protocol;
  return "hash_le" in row ? "siphash24" : "unknown";
}

export interface VectorsReport {
  passed: number;
  failures: string[];
}

export function runVectors(files: string[]): VectorsReport {
  const report: VectorsReport = { passed: 0, failures: [] };
  for (const file of files) {
    const lines = readInput(file, "vector file").toString("utf8").split("\n");
    lines.forEach((line, i) => {
      if (line.trim() === "") return;
      const where = `${file}:${i + 1}`;
      let row: Record<string, unknown>;
      try {
        row = JSON.parse(line) as Record<string, unknown>;
      } catch {
        report.failures.push(`${where}: not a JSON object`);
        return;
      }
      const protocol = protocolOf(row);
      const check = CHECKERS[protocol];
      let failure: string | null;
      try {
        failure = check ? check(row as never) : `unknown protocol "${protocol}"`;
      } catch (e) {
        failure = `threw ${(e as Error).message}`;
      }
      if (failure === null) report.passed++;
      else report.failures.push(`${where}: ${protocol} ${failure}`);
    });
  }
  return report;
}

export function register(program: Command): void {
  program
    .command("vectors")
    .description("check conformance vector files (JSON lines) against solkey's encoders and verifiers")
    .argument("<file...>", "vector files, e.g. ../shared/vectors/openpaygo.jsonl")
    .addHelpText("after", "\nExample:\n  solkey vectors ../shared/vectors/*.jsonl")
    .action((files: string[]) => {
      const { passed, failures } = runVectors(files);
      // Zero vectors checked is not a pass: an empty or truncated file must not look like conformance.
      if (passed + failures.length === 0) throw new SolkeyError(`no vectors in ${files.join(", ")}: nothing checked`);
      for (const failure of failures) process.stdout.write(`FAIL ${failure}\n`);
      process.stdout.write(`${passed} passed, ${failures.length} failed\n`);
      if (failures.length > 0)
        throw new SolkeyError(`${failures.length} of ${passed + failures.length} vectors failed (listed above)`);
    });
}
