// The lin build's entry (hosts/moddable/lin/main.ts) under Node: every demo device applies its codes, refuses the
// replay, and reports each step; Moddable's mcconfig -p lin runs the same module (README, Moddable's simulator).
import fs from "fs";
import path from "path";
import { runDemo } from "../hosts/moddable/lin/main";
import Digital from "../hosts/node/digital";
import DigitalBank from "../hosts/node/digitalbank";
import Flash from "../hosts/node/flash";
import OTP from "../hosts/node/otp";
import manifest from "../manifest.json";

const ROOT = path.join(__dirname, "..");

/** The lin build's module names and their sources: the manifest's modules with the lin platform's over them. */
function linModules(): Map<string, string> {
  const names = new Map<string, string>();
  const maps: Record<string, string | string[]>[] = [manifest.modules, manifest.platforms.lin.modules];
  for (const [name, value] of maps.flatMap((m) => Object.entries(m))) {
    const sources = (Array.isArray(value) ? value : [value]).map((v) => v.replace("$(FIRMWARE)", "./firmware"));
    if (name === "~") continue;
    if (!name.endsWith("/*") && name !== "*") {
      names.set(name, sources[0]);
      continue;
    }
    const dir = path.join(ROOT, path.dirname(sources[0]));
    for (const file of fs.readdirSync(dir).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith(".d.ts"))) {
      const base = file.replace(/\.(ts|js)$/, "");
      names.set(name === "*" ? base : name.replace("*", base), path.join(path.dirname(sources[0]), base));
    }
  }
  return names;
}

describe("lin demo", () => {
  it("applies each demo device's codes and refuses the replayed one, for every protocol", () => {
    const lines: string[] = [];
    expect(runDemo((line) => lines.push(line))).toBe(0);
    expect(lines.filter((l) => / again -> .*duplicate/.test(l))).toHaveLength(3);
    expect(lines.pop()).toBe("lin demo: every code applied as expected");
  });

  it("exports from the lin simfirmware shim every value the Node simfirmware exports", () => {
    const names = (file: string, pattern: RegExp) =>
      [...fs.readFileSync(path.join(__dirname, "..", file), "utf8").matchAll(pattern)]
        .flatMap((m) => m[1].split(","))
        .map((n) => n.trim())
        .filter((n) => n !== "" && !n.startsWith("type "))
        .sort();
    const node = names("hosts/node/simfirmware.ts", /^export \{([^}]*)\}/gm);
    expect(node.length).toBeGreaterThan(5);
    expect(names("hosts/moddable/lin/simfirmware.js", /^export \{([^}]*)\}/gm)).toEqual(node);
  });

  it("resolves every import of the lin build's host modules to a module the lin build has", () => {
    // XS resolves a relative specifier against the importing module's name: from hosts/node/nor,
    // "../../firmware/storage/flash" is "firmware/storage/flash", which only the lin platform's map provides.
    const names = linModules();
    const missing: string[] = [];
    for (const [name, source] of names) {
      if (!source.startsWith("./hosts/")) continue; // the firmware's own, and Moddable's
      const file = [".ts", ".js"].map((ext) => path.join(ROOT, source + ext)).find((f) => fs.existsSync(f));
      if (!file) continue; // C sources (the native SipHash twin)
      const text = fs.readFileSync(file, "utf8");
      for (const m of text.matchAll(/^(?:import|export)(\s+type\b)?[^;]*?from\s+"([^"]+)"/gms)) {
        if (m[1]) continue; // erased by tsc
        const specifier = m[2].startsWith(".") ? path.posix.join(path.posix.dirname(name), m[2]) : m[2];
        if (!names.has(specifier) && specifier !== "mc/config") missing.push(`${name} imports ${specifier}`);
      }
    }
    expect(names.has("hosts/node/simdevice")).toBe(true);
    expect(missing).toEqual([]);
  });

  it("meters only members the stand-ins have, in each lin shim that wraps one (metered.js)", () => {
    // metered() throws at the lin build's preload for a name the stand-in lacks; this catches it before mcconfig.
    const standIns: Record<string, { prototype: object }> = { Digital, DigitalBank, Flash, OTP };
    const members = (proto: object): string[] =>
      proto === Object.prototype
        ? []
        : [...Object.getOwnPropertyNames(proto), ...members(Object.getPrototypeOf(proto))];
    const shims = ["digital", "digitalbank", "flash", "otp"].map((shim) => {
      const text = fs.readFileSync(path.join(ROOT, "hosts/moddable/lin", `${shim}.js`), "utf8");
      const m = /^import (\w+) from "hosts\/node\/\w+";[\s\S]*^export default metered\(\1, \[([^\]]*)\]\);$/m.exec(
        text,
      );
      if (!m) throw new Error(`hosts/moddable/lin/${shim}.js: no "export default metered(<stand-in>, [...])"`);
      return { shim, base: m[1], names: m[2].split(",").map((n) => JSON.parse(n.trim()) as string) };
    });
    for (const { shim, base, names } of shims) {
      expect([shim, base in standIns]).toEqual([shim, true]);
      const known = members(standIns[base].prototype).filter((n) => n !== "constructor");
      expect([shim, names.filter((n) => !known.includes(n))]).toEqual([shim, []]);
    }
    expect(shims.map((s) => s.names.length)).toEqual([3, 3, 3, 3]);
  });
});
