// `solkey sim`: a device directory that survives restarts, demo devices with codes that work, scenario output as JSON
// lines on either engine, one-line errors with exit code 2 for bad usage, and the chip's OTP bits kept beside the flash
// (an old journal image put back after a restart is caught as on a chip).
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { bytesToHex } from "../firmware/hex";
import { encodeFull } from "../firmware/protocols/nexus/full";
import { anchorStep } from "../firmware/storage/journal";
import { anchorCount } from "../firmware/storage/otp";
import { CHIP_OTP_BITS, OtpSim } from "../hosts/node/otp";
import { SimDevice, SIM_PARTITIONS, type TraceEvent } from "../hosts/node/simdevice";
import { runScenario, parseScenario } from "../hosts/node/simscript";
import { DEMO_KEY, demoProvision } from "../hosts/node/simdemo";
import { decodeProvision } from "../firmware/provision/record";
import { program } from "../tools/cli";
import { keyHint } from "../tools/commands/sim";

const BIN = path.resolve(__dirname, "../bin/solkey.js");

function solkey(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const events = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; pattern?: string; seconds?: number; on?: boolean });
const verdicts = (stdout: string) =>
  events(stdout).flatMap((e) => (e.type === "feedback" && e.pattern !== "key" ? [e.pattern] : []));

describe("solkey sim", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-sim-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A scenario file typing `keys` once powered. */
  function script(keys: string): string {
    const file = path.join(dir, `s${Math.random().toString(36).slice(2)}.txt`);
    fs.writeFileSync(file, `power on\nkeys ${keys}\nwait 3s\n`);
    return file;
  }

  it("creates a demo device whose printed code applies once, and the flash survives the next run", () => {
    const device = path.join(dir, "dev");
    const shown = solkey("sim", "--dir", device, "--protocol", "openpaygo", "--script", script("*#"));
    expect(shown.code).toBe(0);
    // Without a terminal the interactive device says so, after describing the device and its next codes.
    const listing = spawnSync(process.execPath, [BIN, "sim", "--dir", device], { encoding: "utf8", input: "" });
    expect(listing.status).toBe(1);
    const code = /^\s+(\*\d+#)\s+add 1 day$/m.exec(listing.stdout)?.[1] as string;
    expect(code).toMatch(/^\*\d{9}#$/);
    expect(listing.stderr).toMatch(/needs a terminal/);
    const first = solkey("sim", "--dir", device, "--script", script(code), "--no-key-blinks");
    expect(first.code).toBe(0);
    expect(verdicts(first.stdout)).toEqual(["applied"]);
    expect(events(first.stdout).some((e) => e.type === "feedback" && e.pattern === "key")).toBe(false);
    const again = solkey("sim", "--dir", device, "--script", script(code));
    expect(verdicts(again.stdout)).toEqual(["duplicate"]);
    expect(fs.readdirSync(device).sort()).toEqual(["journal.bin", "otp.bin", "provision.bin"]);
  });

  it("prints the same events with the firmware inside XS", () => {
    const a = path.join(dir, "a");
    const b = path.join(dir, "b");
    const file = script("*#");
    const node = solkey("sim", "--dir", a, "--script", file);
    const xs = solkey("sim", "--dir", b, "--script", file, "--engine", "xs");
    expect(xs.code).toBe(0);
    expect(xs.stdout).toBe(node.stdout);
    expect(events(node.stdout)[0]).toMatchObject({ type: "boot", status: "ready" });
  });

  it("starts from a factory image, and refuses to mix it into a directory of another device", () => {
    const image = path.join(dir, "device.bin");
    fs.writeFileSync(image, demoProvision("nexus-small"));
    const device = path.join(dir, "dev");
    expect(solkey("sim", "--dir", device, "--provision", image, "--script", script("1")).code).toBe(0);
    expect(bytesToHex(fs.readFileSync(path.join(device, "provision.bin")))).toBe(
      bytesToHex(demoProvision("nexus-small")),
    );
    fs.writeFileSync(image, demoProvision("openpaygo"));
    const r = solkey("sim", "--dir", device, "--provision", image, "--script", script("1"));
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/holds another device; use another --dir, or --reset/);
    expect(solkey("sim", "--dir", device, "--provision", image, "--reset", "--script", script("*#")).code).toBe(0);
  });

  it("runs an nRF52 Intel HEX image end to end: provision, issue, enter, credit, and the flash kept private", () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env } });
    const one = ["provision", "--protocol", "openpaygo", "--count", "1", "--random-keys", "--board", "nrf52"];
    expect(run(...one, "--out", "img").status).toBe(0);
    const hex = path.join(dir, "img", "SK-00000001.hex");
    expect(fs.readFileSync(hex, "utf8")).toMatch(/^:02000004000EEC\n/); // Intel HEX, at 0xE0000 and up
    const issued = JSON.parse(run("issue", "SK-00000001", "--days", "3", "--json").stdout);
    const device = path.join(dir, "n52");
    const r = run("sim", "--dir", device, "--provision", hex, "--script", script(`*${issued.keycode}#`));
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(verdicts(r.stdout)).toEqual(["applied"]);
    expect(
      events(r.stdout)
        .filter((e) => e.type === "credit")
        .pop()?.seconds,
    ).toBe(issued.seconds);
    // The nRF52 layout: two 4 KB journal pages and the provisioning page, as the HEX placed them; its 32 OTP bits.
    const files = ["journal.bin", "provision.bin", "otp.bin"];
    expect(files.map((f) => fs.statSync(path.join(device, f)).size)).toEqual([8192, 4096, CHIP_OTP_BITS.nrf52]);
    expect([device, ...files.map((f) => path.join(device, f))].map((f) => fs.statSync(f).mode & 0o777)).toEqual([
      0o700, 0o600, 0o600, 0o600,
    ]);
    // The device keeps its flash: the same code again is a duplicate, and the ledger learns it was entered.
    expect(verdicts(run("sim", "--dir", device, "--script", script(`*${issued.keycode}#`)).stdout)).toEqual([
      "duplicate",
    ]);
    expect(run("issue", "SK-00000001", "--entered", issued.keycode).status).toBe(0);
    expect(run("explain", "SK-00000001", issued.keycode).stdout).toMatch(/known entered .*would refuse it now/);
  });

  it("refuses a --protocol the device in --dir does not speak (it was silently ignored), and --reset replaces it", () => {
    const device = path.join(dir, "dev");
    expect(solkey("sim", "--dir", device, "--script", script("1")).code).toBe(0);
    const r = solkey("sim", "--dir", device, "--protocol", "openpaygo", "--script", script("*#"));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      `solkey: ${device} holds a nexus-full device, not openpaygo; use another --dir, or --reset to replace it`,
    ]);
    expect(bytesToHex(fs.readFileSync(path.join(device, "provision.bin")))).toBe(
      bytesToHex(demoProvision("nexus-full")),
    );
    expect(solkey("sim", "--dir", device, "--protocol", "nexus-full", "--script", script("1")).code).toBe(0);
    expect(solkey("sim", "--dir", device, "--protocol", "openpaygo", "--reset", "--script", script("*#")).code).toBe(0);
    expect(bytesToHex(fs.readFileSync(path.join(device, "provision.bin")))).toBe(
      bytesToHex(demoProvision("openpaygo")),
    );
  });

  it.each([
    [["--protocol", "bitcoin"], /--protocol expected one of openpaygo, nexus-full, nexus-small/],
    [["--engine", "jvm"], /--engine expected node or xs/],
    [["--speed", "fast"], /--speed expected a number above 0 up to 86400/],
    [["--script", "/nonexistent.txt"], /no such scenario file/],
  ])("answers %j with one line and exit 2", (args, message) => {
    const r = solkey("sim", "--dir", path.join(dir, "dev"), ...args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it("keeps the chip's OTP bits: an old journal image put back after a restart is caught as on a chip", () => {
    const device = path.join(dir, "dev");
    const journal = path.join(device, "journal.bin");
    const otp = path.join(device, "otp.bin");
    const run = (text: string) => {
      const file = path.join(dir, "step.txt");
      fs.writeFileSync(file, text);
      const r = solkey("sim", "--dir", device, "--script", file, "--no-key-blinks");
      expect([r.code, r.stderr]).toEqual([0, ""]);
      return events(r.stdout);
    };
    // 130 days of credit on the demo Nexus device; the owner keeps the journal image as it is now.
    const code = encodeFull({ type: "add_credit", key: DEMO_KEY, id: 24, hours: 130 * 24 });
    run(`power on\nkeys ${code.replace(/ /g, "")}\nwait 1h\n`);
    const old = fs.readFileSync(journal);
    expect([...fs.readFileSync(otp)]).toEqual([1, ...new Array(CHIP_OTP_BITS.esp32 - 1).fill(0)]); // the mark
    expect(fs.statSync(otp).mode & 0o777).toBe(0o600);
    // The load runs longer than one anchor step, over two more runs: the firmware takes the step (OTP bit 1).
    const stepDays = Math.ceil(anchorStep(CHIP_OTP_BITS.esp32 - 1).minutes / 1440);
    run(`power on\nwait ${stepDays - 60}d\n`);
    run(`power on\nwait 61d\n`);
    expect(anchorCount(OtpSim.from(fs.readFileSync(otp)))).toBe(1);
    expect(fs.readdirSync(device).filter((f) => f.endsWith(".tmp"))).toEqual([]);

    // The old image put back (the restore attack): the kept bits say it is from before the step, so it is locked.
    fs.writeFileSync(journal, old);
    const restored = run("power on\nkeys *#\n");
    expect(restored.slice(0, 2)).toEqual([
      { t: 0, type: "boot", status: "locked" },
      { t: 0, type: "load", on: false },
    ]);
    expect(restored.some((e) => e.type === "credit")).toBe(false);
    // The same restore on one chip that never restarts (the bits in memory, the image put back at a power-on).
    const chip = new SimDevice({ provision: demoProvision("nexus-full") });
    const steps = (text: string) => runScenario(parseScenario(text), chip);
    steps(`power on\nkeys ${code.replace(/ /g, "")}\nwait 1h\npower off\npower on\nwait ${stepDays + 1}d\npower off\n`);
    chip.onPowerOn = (board) => board.partitions.get(SIM_PARTITIONS.journal.name)!.bytes.set(old);
    const onChip: TraceEvent[] = [];
    chip.onEvent = (event) => onChip.push(event);
    steps("power on\nkeys *#\n");
    expect(onChip[0]).toMatchObject({ type: "boot", status: "locked" });

    // Without the kept bits (as `solkey sim` was: every run a new chip), the old image boots with its credit back.
    fs.rmSync(otp);
    fs.writeFileSync(journal, old);
    const unkept = run("power on\nkeys *#\n");
    expect(unkept[0]).toEqual({ t: 0, type: "boot", status: "ready" });
    expect(unkept.find((e) => e.type === "credit")?.seconds).toBeGreaterThan(129 * 86_400);

    // A file there that is not this chip's bits: one line, nothing run.
    fs.writeFileSync(otp, "not bits");
    const bad = solkey("sim", "--dir", device, "--script", script("*#"));
    expect([bad.code, bad.stdout]).toEqual([2, ""]);
    expect(bad.stderr.trim().split("\n")).toEqual([
      `solkey: ${otp} is not the OTP bits of a simulated esp32 (64 bytes of 0, 1 or 2); --reset starts a new device`,
    ]);
  });

  it("keeps the OTP bits from the terminal device too: its journal erased afterwards boots locked", () => {
    const device = path.join(dir, "dev");
    // A terminal (util-linux `script` gives the command a pseudo-terminal); "q" quits once the device is on.
    const terminal = spawnSync("script", ["-qfc", `${process.execPath} ${BIN} sim --dir ${device}`, "/dev/null"], {
      input: "q",
      encoding: "utf8",
      timeout: 30_000,
    });
    expect([terminal.status, terminal.stdout]).toEqual([0, expect.stringContaining("Power off; the flash is in")]);
    expect([...fs.readFileSync(path.join(device, "otp.bin"))].slice(0, 2)).toEqual([1, 0]); // the mark
    // The journal erased (the erase attack): a marked chip is never fresh twice.
    fs.writeFileSync(path.join(device, "journal.bin"), new Uint8Array(SIM_PARTITIONS.journal.size).fill(0xff));
    expect(events(solkey("sim", "--dir", device, "--script", script("*#")).stdout)[0]).toEqual({
      t: 0,
      type: "boot",
      status: "locked",
    });
  });

  it("names the scenario line it cannot read", () => {
    const file = path.join(dir, "bad.txt");
    fs.writeFileSync(file, "power on\njump 3\n");
    const r = solkey("sim", "--dir", path.join(dir, "dev"), "--script", file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/line 2: expected keys, wait or power: jump 3/);
  });
});

describe("README's command examples", () => {
  const readme = fs.readFileSync(path.resolve(__dirname, "../README.md"), "utf8");

  it("runs the sim scenario example from a clean directory (it ran on the Nexus demo device and failed)", () => {
    const examples = [...readme.matchAll(/`solkey (sim --script [^`]+)`/g)].map((m) => m[1].split(" "));
    expect(examples.length).toBeGreaterThan(0);
    for (const args of examples) {
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-readme-"));
      try {
        const scenario = args[args.indexOf("--script") + 1];
        fs.mkdirSync(path.join(cwd, path.dirname(scenario)), { recursive: true });
        fs.copyFileSync(path.resolve(__dirname, "..", scenario), path.join(cwd, scenario));
        const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8" });
        expect([args, r.status, r.stderr]).toEqual([args, 0, ""]);
        expect(r.stdout).not.toMatch(/expects \d+ digits/);
        expect(verdicts(r.stdout)).toContain("applied");
      } finally {
        fs.rmSync(cwd, { recursive: true, force: true });
      }
    }
  });

  it("names exactly the commands that take --json (it said every command did)", () => {
    const sentence = /((?:`\w+`, )*`\w+` and `\w+`) take `--json`/.exec(readme);
    expect(sentence).not.toBeNull();
    const named = [...(sentence as RegExpExecArray)[1].matchAll(/`(\w+)`/g)].map((m) => m[1]).sort();
    const taking = program()
      .commands.filter((c) => c.options.some((o) => o.long === "--json"))
      .map((c) => c.name())
      .sort();
    expect(named).toEqual(taking);
  });
});

describe("the simulator a newcomer meets (issue 14)", () => {
  it("keeps each protocol's demo device in its own default folder, .sim/<protocol>", () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-newcomer-"));
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [BIN, "sim", ...args], { cwd, encoding: "utf8", input: "" });
    expect(run().stdout).toMatch(/device: nexus-full/);
    const opg = run("--protocol", "openpaygo");
    expect(opg.stdout).toMatch(/device: openpaygo/);
    expect(opg.stderr).toMatch(/needs a terminal/);
    expect(fs.readdirSync(path.join(cwd, ".sim")).sort()).toEqual(["nexus-full", "openpaygo"]);
  });

  it("names each keypad's start and end keys on the status line", () => {
    const record = (protocol: "nexus-small" | "nexus-full") => {
      const read = decodeProvision(demoProvision(protocol));
      if (read.kind !== "provisioned") throw new Error(read.kind);
      return read.record;
    };
    expect(keyHint(record("nexus-small"))).toBe("keys 2345, start key 1, no end key");
    expect(keyHint(record("nexus-full"))).toBe("keys 0123456789, start key *, end key #");
  });
});
