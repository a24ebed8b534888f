// `solkey keycode`: one keycode from explicit arguments, no database (support staff, tests, other back ends). The
// device key comes from a file or $SOLKEY_DEVICE_KEY, never from the command line.
import type { Command } from "commander";
import { hexToBytes } from "../../firmware/hex";
import { MAX_COUNT } from "../../firmware/protocols/openpaygo/replay";
import type { ProtocolName } from "../../firmware/provision/record";
import { UsageError } from "../../fleet/errors";
import { encodeCode, spendsSeq, WALK_STEP, type Encoded } from "../../fleet/codes";
import { parseWhole, PROTOCOLS } from "../../fleet/profile";
import { readInput } from "../files";
import { progressBar } from "../progress";
import { codeRequest, describe, type CodeOptions } from "./issue";

export const DEVICE_KEY_ENV = "SOLKEY_DEVICE_KEY";
/** The highest --count: the issuer's limit below OpenPAYGO's MAX_COUNT (the token takes the next count or two). */
export const MAX_KEYCODE_COUNT = MAX_COUNT - 2;

interface KeycodeOptions extends CodeOptions {
  protocol?: string;
  keyFile?: string;
  id?: string;
  count?: string;
  startingCode?: string;
  timeDivider?: string;
  extended?: boolean;
  restricted?: boolean;
  json?: boolean;
}

export function runKeycode(o: KeycodeOptions, env: NodeJS.ProcessEnv = process.env): Encoded & { protocol: string } {
  const protocol = o.protocol as ProtocolName;
  if (!PROTOCOLS.includes(protocol)) throw new UsageError(`--protocol expected one of ${PROTOCOLS.join(", ")}`);
  const code = codeRequest(null, o);
  const opg = protocol === "openpaygo";
  if (!opg && (o.startingCode ?? o.timeDivider ?? o.count) !== undefined)
    throw new UsageError("--starting-code, --time-divider and --count are OpenPAYGO options; Nexus takes --id");
  if (opg && o.id !== undefined) throw new UsageError("OpenPAYGO takes --count (the device's last count), not --id");
  let lastSeq = 0;
  if (spendsSeq(protocol, code)) {
    if (opg)
      lastSeq = parseWhole(_required(o.count, "--count N (the last count issued)"), 0, MAX_KEYCODE_COUNT, "--count");
    else lastSeq = parseWhole(_required(o.id, "--id N (the message ID)"), 0, 0xffffffff, "--id") - 1;
  }
  const key = code.kind === "test" && !opg ? new Uint8Array(16) : _deviceKey(o.keyFile, env);
  const device = {
    deviceId: 0,
    protocol,
    key,
    startingCode: opg
      ? parseWhole(_required(o.startingCode, "--starting-code N"), 0, 999_999_999, "--starting-code")
      : 0,
    timeDivider: o.timeDivider === undefined ? 1 : parseWhole(o.timeDivider, 1, 255, "--time-divider"),
    extended: o.extended ?? false,
    restricted: o.restricted ?? false,
  };
  // An OpenPAYGO token hashes its chain from count 0; past WALK_STEP counts a bar on stderr (a terminal only) shows it.
  const bar = progressBar("hashing the token chain [{bar}] count {value}/{total}, {eta}s left");
  try {
    return {
      protocol,
      ...encodeCode(device, code, lastSeq, undefined, (done, total) => {
        if (done === WALK_STEP) bar.start(total, 0);
        bar.update(done);
      }),
    };
  } finally {
    bar.stop();
  }
}

function _required(value: string | undefined, what: string): string {
  if (value === undefined) throw new UsageError(`missing ${what}`);
  return value;
}

function _deviceKey(file: string | undefined, env: NodeJS.ProcessEnv): Uint8Array {
  let text: string | undefined;
  if (file !== undefined) {
    text = readInput(file, "key file").toString("latin1").trim();
  } else text = env[DEVICE_KEY_ENV]?.trim();
  if (text === undefined)
    throw new UsageError(`no device key: pass --key-file FILE or set ${DEVICE_KEY_ENV} (32 hex digits)`);
  if (!/^[0-9a-fA-F]{32}$/.test(text))
    throw new UsageError(`the device key must be 32 hex digits (16 bytes) in ${file ?? `$${DEVICE_KEY_ENV}`}`);
  return hexToBytes(text);
}

export function register(program: Command): void {
  program
    .command("keycode")
    .description("one keycode from explicit arguments, without a database (support staff)")
    .option("--protocol <name>", "openpaygo, nexus-full or nexus-small")
    .option("--key-file <file>", `the device key as hex; default: $${DEVICE_KEY_ENV}`)
    .option("--id <n>", "Nexus: the code's message ID")
    .option(
      "--count <n>",
      `OpenPAYGO: the device's last count, up to ${MAX_KEYCODE_COUNT}; the token takes the next one`,
    )
    .option("--starting-code <n>", "OpenPAYGO starting code")
    .option("--time-divider <n>", "OpenPAYGO value units per day (default 1)")
    .option("--extended", "OpenPAYGO extended (12-digit) token")
    .option("--restricted", "OpenPAYGO restricted digits (keys 1-4)")
    .option("--days <n>", "credit in days")
    .option("--hours <n>", "credit in hours")
    .option("--round <way>", "an amount the device cannot carry exactly: up or down (default: refuse it)")
    .option("--set", "set credit instead of adding")
    .option("--unlock", "PAYG off for ever")
    .option("--lock", "credit to zero")
    .option("--wipe <target>", "Nexus wipe: credit, credit_and_ids, ids or restricted_flag")
    .option("--test <minutes>", "Nexus test code (no key): full QC 1-99 minutes; small 2 (short) or 60 (QC)")
    .option("--counter-sync", "OpenPAYGO counter sync")
    .option("--json", "one JSON object on stdout")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  SOLKEY_DEVICE_KEY=... solkey keycode --protocol nexus-full --id 42 --days 7\n" +
        "  solkey keycode --protocol openpaygo --key-file dev.key --starting-code 516959010 --count 1 --days 1\n" +
        "  solkey keycode --protocol nexus-full --test 10",
    )
    .action((o: KeycodeOptions) => {
      const c = runKeycode(o);
      const text = o.json ? JSON.stringify(c) : `${c.keycode}  ${describe({ ...c, kind: codeRequest(null, o).kind })}`;
      process.stdout.write(text + "\n");
    });
}
