// `solkey sim`: the device simulator. firmware/main.ts runs on the hosts/node stand-ins; its flash (journal and
// provisioning record) lives in a directory, so a simulated device survives restarts. Interactive in a terminal, or
// `--script FILE` runs a scenario (hosts/node/simscript.ts) and prints one JSON line per device event.
import "../../hosts/node/simresolve"; // first: firmware/main.ts imports Moddable's modules by name
import type { Command } from "commander";
import fs from "fs";
import path from "path";
import { bytesToHex, hexToBytes } from "../../firmware/hex";
import { LEASE_MS } from "../../firmware/ledger/reducer";
import { decodeProvision } from "../../firmware/provision/record";
import { DEMO_PROTOCOLS, demoProvision, nextCodes, type DemoProtocol } from "../../hosts/node/simdemo";
import { SIM_PARTITIONS, SimDevice, type TraceEvent } from "../../hosts/node/simdevice";
import { parseScenario, scenario, type ScenarioRun } from "../../hosts/node/simscript";
import { XsProbe } from "../../hosts/xsnap/engine";
import { SolkeyError, UsageError } from "../../fleet/errors";
import { journalFileBeside } from "../../fleet/flashing";

export const DEFAULT_DIR = ".sim";
const PROVISION_FILE = "provision.bin";
const JOURNAL_FILE = "journal.bin";

/** The demo device created when neither --protocol nor --provision says which. */
const DEFAULT_PROTOCOL: DemoProtocol = "nexus-full";

interface SimOptions {
  dir: string;
  /** Undefined when not given: the device in --dir, or a demo DEFAULT_PROTOCOL device. */
  protocol?: string;
  provision?: string;
  reset?: boolean;
  script?: string;
  engine: string;
  speed: string;
  keyBlinks: boolean;
}

/** A simulated device's flash, as kept in its directory. */
export interface SimState {
  readonly provision: Uint8Array;
  readonly journal: Uint8Array | undefined;
  /** What was set up this time, for the user ("created a demo nexus-full device"); empty when the device existed. */
  readonly notes: string[];
}

/** Opens (or creates) the device in `o.dir`: a demo device unless `--provision FILE` brings a factory image. */
export function openState(o: Pick<SimOptions, "dir" | "protocol" | "provision" | "reset">): SimState {
  const protocol = (o.protocol ?? DEFAULT_PROTOCOL) as DemoProtocol;
  if (!DEMO_PROTOCOLS.includes(protocol))
    throw new UsageError(`--protocol expected one of ${DEMO_PROTOCOLS.join(", ")}, got ${protocol}`);
  const provisionPath = path.join(o.dir, PROVISION_FILE);
  const journalPath = path.join(o.dir, JOURNAL_FILE);
  const notes: string[] = [];
  if (o.reset) {
    fs.rmSync(provisionPath, { force: true });
    fs.rmSync(journalPath, { force: true });
  }
  let provision: Uint8Array;
  let factoryJournal: Uint8Array | undefined;
  if (o.provision !== undefined) {
    if (!fs.existsSync(o.provision)) throw new UsageError(`no such provisioning image: ${o.provision}`);
    provision = new Uint8Array(fs.readFileSync(o.provision));
    if (fs.existsSync(provisionPath) && !_same(provision, new Uint8Array(fs.readFileSync(provisionPath))))
      throw new UsageError(`${o.dir} holds another device; use another --dir, or --reset to replace it`);
    notes.push(`loaded provisioning image ${o.provision}`);
    // `solkey provision` writes the device's first journal record beside its record; older images come without.
    const beside = journalFileBeside(o.provision);
    if (!fs.existsSync(journalPath) && fs.existsSync(beside)) {
      factoryJournal = new Uint8Array(fs.readFileSync(beside));
      notes.push(`loaded journal image ${beside}`);
    }
  } else if (fs.existsSync(provisionPath)) {
    provision = new Uint8Array(fs.readFileSync(provisionPath));
    // An explicit --protocol asks for a device of that protocol: never run another one in its place.
    const read = decodeProvision(provision);
    const held = read.kind === "provisioned" ? read.record.protocol : undefined;
    if (o.protocol !== undefined && held !== o.protocol)
      throw new UsageError(
        `${o.dir} holds ${held === undefined ? `an unreadable (${read.kind})` : `a ${held}`} device, not ` +
          `${o.protocol}; use another --dir, or --reset to replace it`,
      );
  } else {
    provision = demoProvision(protocol);
    notes.push(`created a demo ${protocol} device (public demo key, id 12345678)`);
  }
  fs.mkdirSync(o.dir, { recursive: true });
  fs.writeFileSync(provisionPath, provision);
  if (factoryJournal !== undefined) fs.writeFileSync(journalPath, factoryJournal);
  const journal = fs.existsSync(journalPath) ? new Uint8Array(fs.readFileSync(journalPath)) : undefined;
  return { provision, journal, notes };
}

function _same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Lines telling the user what the device is and which codes it takes next. */
export function describeDevice(state: SimState): string[] {
  const read = decodeProvision(state.provision);
  if (read.kind !== "provisioned")
    return [`device: not provisioned (${read.kind === "corrupt" ? read.reason : "blank record"}): it will not run`];
  const r = read.record;
  const lines = [`device: ${r.protocol} ${r.keypad} id ${r.deviceId} on a simulated ${r.board}`];
  const codes = nextCodes(state.provision, state.journal ?? new Uint8Array(SIM_PARTITIONS.journal.size).fill(0xff));
  if (codes === undefined) {
    lines.push("codes: issue them with `solkey issue` for this device (it does not use the demo key)");
  } else {
    lines.push("valid codes for it now (type one):");
    for (const code of codes) lines.push(`  ${code.keys.padEnd(24)} ${code.what}`);
  }
  return lines;
}

/** Runs a scenario file on the device in its directory, on Node or inside XS; the flash is saved back. */
export async function runScript(o: SimOptions, state: SimState): Promise<ScenarioRun> {
  const text = fs.readFileSync(o.script as string, "utf8");
  try {
    parseScenario(text);
  } catch (e) {
    throw new UsageError(`${o.script}: ${(e as Error).message}`);
  }
  const journalHex = state.journal ? bytesToHex(state.journal) : "";
  let run: ScenarioRun;
  if (o.engine === "xs") {
    const xs = await XsProbe.load("hosts/node/simscript.ts");
    try {
      run = (await xs.call<ScenarioRun>("scenario", text, bytesToHex(state.provision), journalHex)).result;
    } finally {
      await xs.close();
    }
  } else {
    run = scenario(text, bytesToHex(state.provision), journalHex);
  }
  fs.writeFileSync(path.join(o.dir, JOURNAL_FILE), hexToBytes(run.journal));
  return run;
}

export function register(program: Command): void {
  program
    .command("sim")
    .description("run a simulated device: type codes on its keypad, watch its LED, load and credit")
    .option("--dir <dir>", "directory holding the device's flash (it survives restarts)", DEFAULT_DIR)
    .option(
      "--protocol <name>",
      `demo device to create: ${DEMO_PROTOCOLS.join(", ")} (default: ${DEFAULT_PROTOCOL}, or the device in --dir)`,
    )
    .option(
      "--provision <file>",
      "start from a factory image of `solkey provision` instead (and its journal image X.journal.bin beside X.bin)",
    )
    .option("--reset", "erase the device in --dir first (a new demo device, or --provision's)")
    .option("--script <file>", "run a scenario and print one JSON line per event instead of the terminal device")
    .option("--engine <engine>", "with --script: run the firmware under node or inside xs", "node")
    .option("--speed <n>", "interactive: simulated seconds per real second (+ and - change it)", "60")
    .option("--no-key-blinks", "with --script: leave the per-key blink events out of the output")
    .addHelpText(
      "after",
      "\nExamples:\n  solkey sim                              a demo Nexus device in .sim/, with codes to type" +
        "\n  solkey sim --protocol openpaygo --dir .sim/opg" +
        "\n  solkey sim --script test/scenarios/openpaygo-happy.txt --dir .sim/opg" +
        "\n\nScenario lines: `power on|off|cut`, `keys *123#`, `wait 16s|90m|1h30m|2d`; # starts a comment.",
    )
    .action(async (o: SimOptions) => {
      if (o.engine !== "node" && o.engine !== "xs")
        throw new UsageError(`--engine expected node or xs, got ${o.engine}`);
      const speed = Number(o.speed);
      if (!Number.isFinite(speed) || speed <= 0)
        throw new UsageError(`--speed expected a positive number, got ${o.speed}`);
      if (o.script !== undefined && !fs.existsSync(o.script))
        throw new UsageError(`no such scenario file: ${o.script}`);
      const state = openState(o);
      if (o.script !== undefined) {
        const run = await runScript(o, state);
        for (const event of run.trace)
          if (o.keyBlinks || !(event.type === "feedback" && event.pattern === "key"))
            process.stdout.write(`${JSON.stringify(event)}\n`);
        return;
      }
      for (const line of [...state.notes, ...describeDevice(state)]) process.stdout.write(`${line}\n`);
      if (!process.stdin.isTTY)
        throw new SolkeyError("the interactive device needs a terminal; run a scenario with --script FILE instead");
      await interactive(o.dir, state, speed);
    });
}

const SPEEDS = [1, 10, 60, 600, 3600, 86_400];
const FRAME_MS = 100;
/** After a typed key the clock runs at real time for this long (the entry's idle timeout), so people can type. */
const TYPING_MS = 16_000;

/** The terminal device: keys typed, LED, load and credit shown, speed-up, power cut; flash saved as it changes. */
function interactive(dir: string, state: SimState, initialSpeed: number): Promise<void> {
  const sim = new SimDevice({ provision: state.provision, journal: state.journal });
  const read = decodeProvision(state.provision);
  const pins = read.kind === "provisioned" ? read.record.pins : undefined;
  let speed = initialSpeed;
  let typedAt = -Infinity;
  const typing = () => Date.now() - typedAt < TYPING_MS;
  let credit: { seconds: number | "unlocked"; t: number } | undefined;
  let load = false;
  let savedMutations = -1;
  const out = process.stdout;
  const status = () => {
    const board = sim.board;
    const led = board && pins ? board.pins.driven(pins.led) === 1 : false;
    let left = "-";
    if (credit?.seconds === "unlocked") left = "unlocked";
    else if (credit) left = _duration(Math.max(0, credit.seconds - (load ? (sim.now - credit.t) / 1000 : 0)));
    return (
      `\r\x1b[2K LED ${led ? "\x1b[93m●\x1b[0m" : "○"}  load ${load ? "\x1b[92mON \x1b[0m" : "off"}  ` +
      `credit ${left}  ${typing() ? "x1 (typing)" : `x${speed}`}  ${sim.powered ? "" : "POWER OFF  "}` +
      `keys: 0-9 * #  p: power cut  + -: speed  c: codes  q: quit`
    );
  };
  const log = (text: string) => out.write(`\r\x1b[2K${text}\n${status()}`);
  sim.onEvent = (event: TraceEvent) => {
    if (event.type === "load") load = event.on;
    if (event.type === "credit") credit = { seconds: event.seconds, t: event.t };
    if (event.type === "feedback" && event.pattern === "key") return;
    const { t, ...rest } = event;
    log(`${_duration(t / 1000).padStart(12)}  ${JSON.stringify(rest)}`);
  };
  const save = () => {
    const partition = sim.board?.partitions.get(SIM_PARTITIONS.journal.name);
    if (!partition || partition.mutations === savedMutations) return;
    savedMutations = partition.mutations;
    fs.writeFileSync(path.join(dir, JOURNAL_FILE), partition.bytes);
  };
  sim.powerOn();
  save();
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      sim.wait(Math.round(FRAME_MS * (typing() ? 1 : speed)));
      save();
      out.write(status());
    }, FRAME_MS);
    const stdin = process.stdin;
    stdin.setRawMode(true);
    stdin.setEncoding("utf8");
    const quit = () => {
      clearInterval(timer);
      save();
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      out.write(
        `\nPower off; the flash is in ${dir}. Like a real unit, the device loses the unused part of the time it ` +
          `charged ahead (at most ${LEASE_MS / 1000} seconds, firmware/ledger/reducer.ts).\n`,
      );
      resolve();
    };
    const onData = (text: string) => {
      for (const key of text) {
        if (key === "q" || key === "\u0003") return quit();
        if (key === "p") {
          log("-- power cut --");
          sim.powerOff();
          load = false; // before power-on, which reports the load as it boots
          sim.powerOn();
        } else if (key === "+" || key === "-") {
          const i = SPEEDS.findIndex((s) => s >= speed);
          speed =
            SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? SPEEDS.length : i) + (key === "+" ? 1 : -1)))];
        } else if (key === "c") {
          save();
          for (const line of describeDevice({ ...state, journal: sim.images().journal })) log(line);
        } else {
          typedAt = Date.now();
          try {
            sim.press(key);
          } catch {
            log(`(${JSON.stringify(key)} is not a key of this keypad)`);
          }
        }
        save();
      }
    };
    stdin.on("data", onData);
    out.write(status());
  });
}

/** Seconds as `1d 02:03:04`. */
function _duration(seconds: number): string {
  const s = Math.floor(seconds);
  const days = Math.floor(s / 86_400);
  const hms = [Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60), s % 60]
    .map((n) => String(n).padStart(2, "0"))
    .join(":");
  return days > 0 ? `${days}d ${hms}` : hms;
}
