// The solkey command line: one table of commands, each in tools/commands/ taking typed options. Only this entry point
// decides exit codes: 0 ok, 1 failure (a check failed, a device refused), 2 usage (unknown command, bad flag or value).
import { Command, CommanderError } from "commander";
import { UsageError } from "../fleet/errors";
import * as vectors from "./commands/vectors";
import * as provision from "./commands/provision";
import * as issue from "./commands/issue";
import * as keycode from "./commands/keycode";
import * as torture from "./commands/torture";
import * as sim from "./commands/sim";
import * as recover from "./commands/recover";
import * as explain from "./commands/explain";
import * as web from "./commands/web";
import * as hub from "./commands/hub";
import * as plan from "./commands/plan";
import * as account from "./commands/account";
import * as payments from "./commands/payments";
import * as apikey from "./commands/apikey";
import * as db from "./commands/db";

import { version as VERSION } from "../package.json";

/** For the build (tools/build.mjs): the simulator page's files beside the bundle, for a package without sources. */
export { writePages } from "../web/server";

/** Each command module adds itself to the program. */
const COMMANDS: ReadonlyArray<{ register(program: Command): void }> = [
  vectors,
  provision,
  issue,
  keycode,
  torture,
  sim,
  recover,
  explain,
  web,
  hub,
  plan,
  account,
  payments,
  apikey,
  db,
];

export function program(): Command {
  const cli = new Command("solkey")
    .description("Pay-as-you-go keycodes for solar home systems: device simulator, factory and operator tools")
    .version(VERSION)
    .configureOutput(_oneLine("`solkey --help` lists the commands"))
    .exitOverride();
  for (const command of COMMANDS) command.register(cli);
  for (const command of cli.commands)
    command.exitOverride().configureOutput(_oneLine(`\`solkey help ${command.name()}\` lists its options`));
  return cli;
}

/**
 * Commander's usage errors as one line, its suggestion kept ("unknown option '--dayz' (Did you mean --days?)"),
 * and where the help is: never the whole help text, which buries the one line that matters.
 */
function _oneLine(help: string): { outputError(text: string, write: (text: string) => void): void } {
  return {
    outputError: (text, write) =>
      write(
        `solkey: ${text
          .replace(/^error: /, "")
          .trim()
          .replace(/\s*\n\s*/g, " ")}; ${help}\n`,
      ),
  };
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: "user" });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version end with code 0; every other commander error is a usage error, already printed.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`solkey: ${e.message}\n`);
      return 2;
    }
    if (e instanceof Error && e.name === "SolkeyError") {
      process.stderr.write(`solkey: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`solkey ${VERSION}: internal error (a bug, please report it): ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}
