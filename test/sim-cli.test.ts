// `solkey sim`: a device directory that survives restarts, demo devices with codes that work, scenario output as JSON
// lines on either engine, and one-line errors with exit code 2 for bad usage.
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { bytesToHex } from "../firmware/hex";
import { demoProvision } from "../hosts/node/simdemo";
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
    expect(fs.readdirSync(device).sort()).toEqual(["journal.bin", "provision.bin"]);
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
    // The nRF52 layout: two 4 KB journal pages and the provisioning page, as the HEX placed them.
    expect([8192, 4096]).toEqual(["journal.bin", "provision.bin"].map((f) => fs.statSync(path.join(device, f)).size));
    expect(
      [device, ...["journal.bin", "provision.bin"].map((f) => path.join(device, f))].map(
        (f) => fs.statSync(f).mode & 0o777,
      ),
    ).toEqual([0o700, 0o600, 0o600]);
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
