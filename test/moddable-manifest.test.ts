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
    expect(manifest.modules["~"]).toContain("$(FIRMWARE)/tsconfig");
  });

  it("replaces crypto/sipwalk with its native twin, which has every export of the TypeScript", () => {
    // "~" drops the TypeScript file; the named entry brings the binding (sipwalk.js, sipwalk.c) and the C core.
    expect(manifest.modules["~"]).toContain("$(FIRMWARE)/crypto/sipwalk");
    const twin = "./hosts/moddable/siphash";
    expect(manifest.modules["crypto/sipwalk"]).toEqual([`${twin}/sipwalk`, `${twin}/siphash24`]);
    const exportsOf = (file: string) =>
      [...fs.readFileSync(file, "utf8").matchAll(/^export (?:const|function) (\w+)|^export \{ (\w+) \}/gm)]
        .map((m) => m[1] ?? m[2])
        .sort();
    const root = path.join(__dirname, "..");
    const ts = exportsOf(path.join(FIRMWARE, "crypto/sipwalk.ts"));
    expect(ts).toEqual(["WALK_STATES", "chainNext", "chainWalk", "siphashWords"]);
    expect(exportsOf(path.join(root, twin, "sipwalk.js"))).toEqual(ts);
    // Every host function the binding declares is defined in its C glue.
    const js = fs.readFileSync(path.join(root, twin, "sipwalk.js"), "utf8");
    const c = fs.readFileSync(path.join(root, twin, "sipwalk.c"), "utf8");
    const hosts = [...js.matchAll(/@ "(\w+)"/g)].map((m) => m[1]);
    expect(hosts).toHaveLength(3);
    for (const name of hosts) expect(c).toContain(`void ${name}(xsMachine *the)`);
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

  it("keeps the journal and provisioning partitions where the firmware looks, in the dev and production tables", () => {
    const table = (file: string) =>
      fs
        .readFileSync(path.join(__dirname, "../hosts/moddable/esp32", file), "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "" && !line.startsWith("#"))
        .map((line) => {
          const [name, type, , offset, size, flags] = line.split(",").map((f) => f.trim());
          return { name, type, offset: Number(offset), size: Number(size), encrypted: flags === "encrypted" };
        });
    for (const file of ["partitions.csv", "production/partitions.csv"]) {
      const parts = table(file);
      const byName = new Map(parts.map((p) => [p.name, p]));
      expect(byName.get("solkey_prov")).toMatchObject({ offset: BOARDS.esp32.provisionOffset, encrypted: true });
      expect(byName.get("solkey_jrnl")).toMatchObject({ offset: 0x3f0000, size: 0x4000, encrypted: false });
      const sorted = [...parts].sort((a, b) => a.offset - b.offset);
      for (let i = 1; i < sorted.length; i++)
        expect([sorted[i].name, sorted[i - 1].offset + sorted[i - 1].size <= sorted[i].offset]).toEqual([
          sorted[i].name,
          true,
        ]);
      const last = sorted[sorted.length - 1];
      expect(last.offset + last.size).toBeLessThanOrEqual(0x400000);
      for (const app of parts.filter((p) => p.type === "app")) expect(app.offset % 0x10000).toBe(0);
    }
    // Anti-rollback needs OTA slots; the table must start above the (larger) hardened bootloader's 0xc000 table.
    const production = table("production/partitions.csv");
    expect(production.filter((p) => p.type === "app").map((p) => p.name)).toEqual(["ota_0", "ota_1"]);
    expect(Math.min(...production.map((p) => p.offset))).toBeGreaterThanOrEqual(0xd000);
  });
});
