// manifest.json's modules and preload sections as Moddable's mcconfig reads them (hosts/moddable/README.md).
import fs from "fs";
import path from "path";
import manifest from "../manifest.json";

const FIRMWARE = path.join(__dirname, "../firmware");

/** Module names of the firmware's TypeScript files ("ledger/reducer"), as XS resolves its relative imports. */
function firmwareModules(dir = FIRMWARE): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return firmwareModules(full);
    if (!entry.name.endsWith(".ts") || entry.name.endsWith(".d.ts")) return [];
    return [path.relative(FIRMWARE, full).replace(/\\/g, "/").replace(/\.ts$/, "")];
  });
}

/** The directories of `firmware/` that hold TypeScript ("" for firmware/ itself). */
function firmwareDirectories(): string[] {
  return [...new Set(firmwareModules().map((name) => path.posix.dirname(name).replace(/^\.$/, "")))];
}

describe("Moddable manifest", () => {
  it("preload wildcards match only JavaScript in mcconfig: every firmware module but main is named", () => {
    expect(manifest.preload.filter((name) => name.includes("*"))).toEqual([]);
    const expected = firmwareModules()
      .filter((name) => name !== "main")
      .sort();
    expect([...manifest.preload].sort()).toEqual(expected);
  });

  it("maps every firmware directory, so relative imports across directories resolve", () => {
    const modules: Record<string, unknown> = manifest.modules;
    for (const dir of firmwareDirectories()) {
      const target = dir === "" ? "*" : `${dir}/*`;
      const source = dir === "" ? "$(FIRMWARE)/*" : `$(FIRMWARE)/${dir}/*`;
      expect([target, modules[target]]).toEqual([target, [source]]);
    }
  });

  it("keeps firmware/tsconfig.json out of the modules (mcconfig would compile it as a JSON module)", () => {
    expect(fs.existsSync(path.join(FIRMWARE, "tsconfig.json"))).toBe(true);
    expect(manifest.modules["~"]).toEqual(["$(FIRMWARE)/tsconfig"]);
  });

  it("includes the Moddable flash module that firmware/io/norflash.ts imports", () => {
    expect(fs.readFileSync(path.join(FIRMWARE, "io/norflash.ts"), "utf8")).toMatch(/from "flash"/);
    expect(manifest.include).toContain("$(MODDABLE)/modules/files/flash/manifest.json");
  });
});
