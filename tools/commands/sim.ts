// `solkey sim`: the device simulator. firmware/main.ts runs on the hosts/node stand-ins; its flash (journal and
// provisioning record) and its chip's OTP bits (the journal's mark and anchor) live in a directory, so a simulated
// device survives restarts as a chip does: a restart is not a new chip, so an old journal image put back is caught. Interactive in a terminal, or
// `--script FILE` runs a scenario (hosts/node/simscript.ts) and prints one JSON line per device event.
import type { Command } from "commander";
import fs from "fs";
import { createRequire } from "module";
import path from "path";
import { bytesToHex, hexToBytes } from "../../firmware/hex";
import { LEASE_MS } from "../../firmware/ledger/reducer";
import { FRAMES } from "../../firmware/io/framing";
import { deviceProtocol } from "../../firmware/provision/protocol";
import { decodeProvision, type ProvisionRecord } from "../../firmware/provision/record";
import { nrf52Areas } from "../../hosts/browser/images";
import { DEMO_PROTOCOLS, demoProvision, type DemoProtocol } from "../../hosts/node/simdemo";
import { CHIP_OTP_BITS } from "../../hosts/node/otp";
import { boardOf, SIM_PARTITIONS, type TraceEvent } from "../../hosts/node/simdevice";
import { describeDevice, formatDuration, FRAME_MS, LiveDevice, SPEEDS } from "../../hosts/node/simlive";
import { parseScenario, scenario, type ScenarioRun } from "../../hosts/node/simscript";
import { SolkeyError, UsageError } from "../../fleet/errors";
import { checkOutDir, journalFileBeside } from "../../fleet/flashing";
import { readInput } from "../files";

export const DEFAULT_DIR = ".sim";
const PROVISION_FILE = "provision.bin";
const JOURNAL_FILE = "journal.bin";
/** The chip's OTP bits, one byte a bit (hosts/node/otp.ts OtpSim.snapshot: 0, 1, or 2 for a cut one). */
const OTP_FILE = "otp.bin";

/** The demo device created when neither --protocol nor --provision says which. */
const DEFAULT_PROTOCOL: DemoProtocol = "nexus-full";

interface SimOptions {
  /** Undefined when not given: DEFAULT_DIR/<protocol>. */
  dir?: string;
  /** Undefined when not given: the device in --dir, or a demo DEFAULT_PROTOCOL device. */
  protocol?: string;
  provision?: string;
  reset?: boolean;
  script?: string;
  engine: string;
  speed: string;
  keyBlinks: boolean;
}

/** A simulated device's flash and OTP bits, as kept in its directory. */
export interface SimState {
  readonly provision: Uint8Array;
  readonly journal: Uint8Array | undefined;
  /** Undefined: a chip whose bits were never programmed (a new device, or a directory from before they were kept). */
  readonly otp: Uint8Array | undefined;
  /** What was set up this time, for the user ("created a demo nexus-full device"); empty when the device existed. */
  readonly notes: string[];
}

/** Opens (or creates) the device in `o.dir`: a demo device unless `--provision FILE` brings a factory image. */
export function openState(o: Pick<SimOptions, "protocol" | "provision" | "reset"> & { dir: string }): SimState {
  const protocol = (o.protocol ?? DEFAULT_PROTOCOL) as DemoProtocol;
  if (!DEMO_PROTOCOLS.includes(protocol))
    throw new UsageError(`--protocol expected one of ${DEMO_PROTOCOLS.join(", ")}, got ${protocol}`);
  const provisionPath = path.join(o.dir, PROVISION_FILE);
  const journalPath = path.join(o.dir, JOURNAL_FILE);
  const otpPath = path.join(o.dir, OTP_FILE);
  const notes: string[] = [];
  // A new device is a new chip: its OTP bits go with the old flash.
  if (o.reset) for (const file of [provisionPath, journalPath, otpPath]) fs.rmSync(file, { force: true });
  let provision: Uint8Array;
  let factoryJournal: Uint8Array | undefined;
  if (o.provision !== undefined) {
    const image = _factoryImage(o.provision);
    provision = image.provision;
    if (fs.existsSync(provisionPath) && !_same(provision, new Uint8Array(fs.readFileSync(provisionPath))))
      throw new UsageError(`${o.dir} holds another device; use another --dir, or --reset to replace it`);
    notes.push(`loaded provisioning image ${o.provision}`);
    if (!fs.existsSync(journalPath) && image.journal !== undefined) {
      factoryJournal = image.journal;
      notes.push(`loaded journal image ${image.journalFrom}`);
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
  // The device's flash holds its key: the folder and its files are the owner's only, as `solkey provision`'s images.
  fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  _writePrivate(provisionPath, provision);
  if (factoryJournal !== undefined) _writePrivate(journalPath, factoryJournal);
  const journal = fs.existsSync(journalPath) ? new Uint8Array(fs.readFileSync(journalPath)) : undefined;
  return { provision, journal, otp: _readOtp(otpPath, provision), notes };
}

/** The kept OTP bits, checked against the board the record names (a file that is not its bits: one line). */
function _readOtp(file: string, provision: Uint8Array): Uint8Array | undefined {
  if (!fs.existsSync(file)) return undefined;
  const bits = new Uint8Array(fs.readFileSync(file));
  const board = boardOf(provision);
  if (bits.length !== CHIP_OTP_BITS[board] || bits.some((bit) => bit > 2))
    throw new UsageError(
      `${file} is not the OTP bits of a simulated ${board} (${CHIP_OTP_BITS[board]} bytes of 0, 1 or 2); ` +
        `--reset starts a new device`,
    );
  return bits;
}

/**
 * Writes `bytes` to `file` whole or not at all (a temporary file beside it, then a rename), readable by the owner
 * only (the flash holds the device's key): a process killed mid-write leaves the previous flash or OTP bits, never
 * half of them.
 */
function _writePrivate(file: string, bytes: Uint8Array): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temporary, bytes, { mode: 0o600 });
    fs.renameSync(temporary, file);
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

/** A device's flash as `solkey provision` wrote it, and the file its journal came from (when it came with one). */
interface FactoryImage {
  readonly provision: Uint8Array;
  readonly journal?: Uint8Array;
  readonly journalFrom?: string;
}

/**
 * The factory image in `file`: an ESP32 `<serial>.bin` (with `<serial>.journal.bin` beside it, which older images
 * come without), or an nRF52 `<serial>.hex` holding the journal pages and the provisioning page (Intel HEX). The
 * simulated device takes its board's flash layout from the record (hosts/node/simdevice.ts). Anything else is
 * refused: it would boot "not provisioned".
 */
function _factoryImage(file: string): FactoryImage {
  const bytes = new Uint8Array(readInput(file, "provisioning image"));
  let image: FactoryImage;
  // ':' opens every Intel HEX record. The web simulator's reader, so both simulators take the same files.
  if (bytes[0] === 0x3a) {
    try {
      image = { ...nrf52Areas(bytes), journalFrom: file };
    } catch (e) {
      throw new UsageError(`${file}: ${(e as Error).message}`);
    }
  } else {
    const beside = journalFileBeside(file);
    image = fs.existsSync(beside)
      ? { provision: bytes, journal: new Uint8Array(fs.readFileSync(beside)), journalFrom: beside }
      : { provision: bytes };
  }
  const read = decodeProvision(image.provision);
  if (read.kind !== "provisioned")
    throw new UsageError(
      `${file} holds no provisioning record (${read.kind === "corrupt" ? read.reason : "blank"}); pass ` +
        `the <serial>.bin or <serial>.hex that \`solkey provision\` wrote`,
    );
  return image;
}

function _same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Runs a scenario file on the device in its directory, on Node or inside XS; the flash is saved back. */
export async function runScript(o: SimOptions & { dir: string }, state: SimState): Promise<ScenarioRun> {
  const text = _parse(o.script as string);
  const journalHex = state.journal ? bytesToHex(state.journal) : "";
  let run: ScenarioRun;
  try {
    run = await _run(o.engine, text, state, journalHex);
  } catch (e) {
    // A key the device's keypad lacks (hosts/node/simdevice.ts keyDown), under Node or inside XS.
    if (/is not on this device's keypad/.test((e as Error).message))
      throw new UsageError(`${o.script}: ${(e as Error).message.replace(/^XS: (RangeError: )?/, "")}`);
    throw e;
  }
  _writePrivate(path.join(o.dir, JOURNAL_FILE), hexToBytes(run.journal));
  _writePrivate(path.join(o.dir, OTP_FILE), hexToBytes(run.otp));
  return run;
}

/** The protocol of a provisioning image file, if it is one (its default --dir is named after it). */
function _imageProtocol(file: string | undefined): string | undefined {
  if (file === undefined || !fs.existsSync(file) || !fs.statSync(file).isFile()) return undefined;
  try {
    const read = decodeProvision(_factoryImage(file).provision);
    return read.kind === "provisioned" ? read.record.protocol : undefined;
  } catch {
    return undefined; // openState refuses it, in one line
  }
}

/** The scenario file's text, once it parses (a UsageError naming the line otherwise). */
function _parse(file: string): string {
  const text = readInput(file, "scenario file").toString("utf8");
  try {
    parseScenario(text);
  } catch (e) {
    throw new UsageError(`${file}: ${(e as Error).message}`);
  }
  return text;
}

async function _run(engine: string, text: string, state: SimState, journalHex: string): Promise<ScenarioRun> {
  const images = [bytesToHex(state.provision), journalHex, state.otp === undefined ? "" : bytesToHex(state.otp)];
  if (engine !== "xs") return scenario(text, ...(images as [string, string, string]));
  const xs = await _xsEngine().XsProbe.load("hosts/node/simscript.ts");
  try {
    return (await xs.call<ScenarioRun>("scenario", text, ...images)).result;
  } finally {
    await xs.close();
  }
}

/**
 * The XS harness, loaded only for `--engine xs`: it needs the development install (@agoric/xsnap, esbuild and the
 * TypeScript sources), which a production install (`npm ci --omit=dev`, `npm pack`) leaves out.
 */
function _xsEngine(): typeof import("../../hosts/xsnap/engine") {
  try {
    // The worker process imports @agoric/xsnap: asked here, since it would fail there, in its own process.
    createRequire(__filename).resolve("@agoric/xsnap/package.json");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw e;
    throw new UsageError("--engine xs needs the development install (`npm ci` with dev dependencies); use node");
  }
  // A call-time require (an import() would be ESM under nodenext): the bundle evaluates the module only here.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("../../hosts/xsnap/engine");
}

export function register(program: Command): void {
  program
    .command("sim")
    .description("run a simulated device: type codes on its keypad, watch its LED, load and credit")
    .option(
      "--dir <dir>",
      `directory holding the device's flash and OTP bits (they survive restarts); default ${DEFAULT_DIR}/<protocol>`,
    )
    .option(
      "--protocol <name>",
      `demo device to create: ${DEMO_PROTOCOLS.join(", ")} (default: ${DEFAULT_PROTOCOL}, or the device in --dir)`,
    )
    .option(
      "--provision <file>",
      "start from a factory image of `solkey provision` instead: X.bin (ESP32, with X.journal.bin beside it) or X.hex (nRF52)",
    )
    .option("--reset", "erase the device in --dir first (a new demo device, or --provision's, on a new chip)")
    .option("--script <file>", "run a scenario and print one JSON line per event instead of the terminal device")
    .option("--engine <engine>", "with --script: run the firmware under node or inside xs", "node")
    .option("--speed <n>", "interactive: simulated seconds per real second (+ and - change it)", "60")
    .option("--no-key-blinks", "with --script: leave the per-key blink events out of the output")
    .addHelpText(
      "after",
      "\nExamples:\n  solkey sim                              a demo Nexus device in .sim/nexus-full/, with codes to type" +
        "\n  solkey sim --protocol openpaygo --dir .sim/opg" +
        "\n  solkey sim --script test/scenarios/openpaygo-happy.txt --dir .sim/opg" +
        "\n\nScenario lines: `power on|off|cut`, `keys *123#`, `wait 16s|90m|1h30m|2d`; # starts a comment.",
    )
    .action(async (options: SimOptions) => {
      if (options.engine !== "node" && options.engine !== "xs")
        throw new UsageError(`--engine expected node or xs, got ${options.engine}`);
      const speed = Number(options.speed);
      // Bounded: each frame steps the device through every tick of simulated time (a day per real second at most).
      if (!Number.isFinite(speed) || speed <= 0 || speed > MAX_SPEED)
        throw new UsageError(
          `--speed expected a number above 0 up to ${MAX_SPEED} (a day a second), got ${options.speed}`,
        );
      if (options.script !== undefined) _parse(options.script);
      if (options.dir !== undefined) checkOutDir(options.dir, "--dir");
      // Each protocol its own default folder: after `npm start` (Nexus), `--protocol openpaygo` starts another device.
      const o = {
        ...options,
        dir:
          options.dir ??
          path.join(DEFAULT_DIR, options.protocol ?? _imageProtocol(options.provision) ?? DEFAULT_PROTOCOL),
      };
      const fresh = !fs.existsSync(o.dir);
      const state = openState(o);
      if (o.script !== undefined) {
        let run: ScenarioRun;
        try {
          run = await runScript(o, state);
        } catch (e) {
          if (fresh) fs.rmSync(o.dir, { recursive: true, force: true }); // a refused run leaves no device behind
          throw e;
        }
        for (const event of run.trace)
          if (o.keyBlinks || !(event.type === "feedback" && event.pattern === "key"))
            process.stdout.write(`${JSON.stringify(event)}\n`);
        return;
      }
      const erased = new Uint8Array(SIM_PARTITIONS.journal.size).fill(0xff);
      for (const line of [...state.notes, ...describeDevice(state.provision, state.journal ?? erased)])
        process.stdout.write(`${line}\n`);
      // Without a terminal the listing above is the answer (scripts read the device's codes), then exit 1.
      if (!process.stdin.isTTY)
        throw new SolkeyError("the interactive device needs a terminal; run a scenario with --script FILE instead");
      await interactive(o.dir, state, speed);
    });
}

const MAX_SPEED = SPEEDS[SPEEDS.length - 1];

/** The terminal device: keys typed, LED, load and credit shown, speed-up, power cut; flash saved as it changes. */
function interactive(dir: string, state: SimState, initialSpeed: number): Promise<void> {
  const read = decodeProvision(state.provision);
  const keys = read.kind === "provisioned" ? keyHint(read.record) : "";
  const out = process.stdout;
  const status = () => {
    const v = live.view();
    let left = "-";
    if (v.credit === "unlocked") left = "unlocked";
    else if (v.credit !== undefined) left = formatDuration(v.credit);
    return (
      `\r\x1b[2K LED ${v.led ? "\x1b[93m●\x1b[0m" : "○"}  load ${v.load ? "\x1b[92mON \x1b[0m" : "off"}  ` +
      `credit ${left}  ${v.typing ? "x1 (typing)" : `x${v.speed}`}  ${v.powered ? "" : "POWER OFF  "}` +
      `${keys}  p: power cut  + -: speed  c: codes  q: quit`
    );
  };
  const log = (text: string) => out.write(`\r\x1b[2K${text}\n${status()}`);
  const live: LiveDevice = new LiveDevice(
    { provision: state.provision, journal: state.journal, otp: state.otp },
    {
      speed: initialSpeed,
      realNow: Date.now,
      onEvent: (event: TraceEvent) => {
        if (event.type === "feedback" && event.pattern === "key") return;
        const { t, ...rest } = event;
        log(`${formatDuration(t / 1000).padStart(12)}  ${JSON.stringify(rest)}`);
      },
    },
  );
  // The journal first: a bit the firmware set after a record (an anchor step) names a record already kept.
  const save = () => {
    const journal = live.changedJournal();
    if (journal) _writePrivate(path.join(dir, JOURNAL_FILE), journal);
    const otp = live.changedOtp();
    if (otp) _writePrivate(path.join(dir, OTP_FILE), otp);
  };
  live.powerOn();
  save();
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      live.frame(FRAME_MS);
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
        // A pasted code keeps its grouping ("*599 791 493 194 43#"): spaces and dashes are not keys, just skipped.
        if (/[\s-]/.test(key)) continue;
        if (key === "p") {
          log("-- power cut --");
          live.powerCut();
        } else if (key === "+" || key === "-") {
          live.stepSpeed(key === "+" ? 1 : -1);
        } else if (key === "c") {
          save();
          for (const line of live.describe()) log(line);
        } else if (!live.press(key)) {
          log(`(${JSON.stringify(key)} is not a key of this keypad)`);
        }
        save();
      }
    };
    stdin.on("data", onData);
    out.write(status());
  });
}

/** The keypad's keys and how an entry starts and ends, for the status line: `keys 2345, start key 1, no end key`. */
export function keyHint(record: ProvisionRecord): string {
  const spec = FRAMES[deviceProtocol(record).frame];
  const start = spec.start === undefined ? "the first digit starts a code" : `start key ${spec.start}`;
  const end = spec.end === undefined ? "no end key" : `end key ${spec.end}`;
  return `keys ${spec.digits}, ${start}, ${end}`;
}
