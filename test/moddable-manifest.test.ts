// manifest.json's modules and preload sections as Moddable's mcconfig reads them (hosts/moddable/README.md).
import fs from "fs";
import path from "path";
import { AREAS, BOARDS } from "../firmware/provision/board";
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

  it("keeps solkey's nRF52 pages at the top of Moddable's application region, sized as its storage partition", () => {
    // Moddable's nRF52 layout (build/devices/nrf52/config/xsproj.ld): the application ends at 0xEF000; above it are
    // BLE peer data and the `preference` module's pages, which it erases on first use.
    const MODDABLE_END = 0xef000;
    const journal = AREAS.nrf52.journal as { offset: number; size: number };
    expect(journal.offset + journal.size).toBe(BOARDS.nrf52.provisionOffset);
    expect(BOARDS.nrf52.provisionOffset + BOARDS.nrf52.provisionSize).toBe(MODDABLE_END);
    // MODDEF_FILE_LFS_PARTITION_SIZE: Moddable keeps its "storage" partition (these pages) clear of the app and mods.
    expect(manifest.platforms.nrf52.defines.file.lfs.partition_size).toBe(MODDABLE_END - journal.offset);
  });
});
