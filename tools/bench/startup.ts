// Start-up of the installed command (issue 14): wall time of `solkey help` (node bin/solkey.js, the compiled
// dist/solkey.js) beside a bare `node -e 0`, the floor no command can go under. Target: < 150 ms on the
// development machine. The shared machine is noisy: the table gives the minimum and the median of 21 runs.
import { execFileSync } from "child_process";
import path from "path";
import { printTable, type Cell } from "./table";

export const name = "startup";

const RUNS = 21;
const BIN = path.resolve(__dirname, "../../bin/solkey.js");

export async function run(): Promise<void> {
  execFileSync(process.execPath, [path.resolve(__dirname, "../build.mjs")]);
  const rows: Cell[][] = [
    ["node -e 0 (the floor)", ..._times(["-e", "0"])],
    ["solkey help", ..._times([BIN, "help"])],
    [
      "solkey keycode --protocol nexus-full --test 10",
      ..._times([BIN, "keycode", "--protocol", "nexus-full", "--test", "10"]),
    ],
  ];
  printTable("Command start-up, wall time (ms)", ["command", "min", "median"], rows, [
    "before issue 14 (ts-node transpiling at every start): solkey help took 1,100-2,200 ms",
    "with fastify, pg, esbuild and typage loaded at every start (816 KB bundle, no code cache): 315 ms min",
  ]);
}

function _times(args: string[]): [number, number] {
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    execFileSync(process.execPath, args, { stdio: "ignore" });
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return [ms[0], ms[RUNS >> 1]];
}
