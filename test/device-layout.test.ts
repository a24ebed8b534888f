// The flash layout the device, the simulator, the factory tool and the ESP32 partition table must agree on.
import fs from "fs";
import path from "path";
import { AREAS } from "../firmware/provision/board";
import { BOARDS } from "../firmware/provision/board";
import { SIM_PARTITIONS } from "../hosts/node/simdevice";
import manifest from "../manifest.json";

interface Row {
  name: string;
  offset: number;
  size: number;
}

const csv = fs.readFileSync(path.join(__dirname, "../hosts/moddable/esp32/partitions.csv"), "utf8");
const rows: Row[] = csv
  .split("\n")
  .filter((l) => l.trim() !== "" && !l.startsWith("#"))
  .map((l) => l.split(",").map((f) => f.trim()))
  .map(([name, , , offset, size]) => ({ name, offset: Number(offset), size: Number(size) }));
const row = (name: string) => rows.find((r) => r.name === name) as Row;

describe("flash layout", () => {
  it("puts the ESP32 provisioning partition where the factory tool writes images", () => {
    expect(row("solkey_prov")).toEqual({
      name: "solkey_prov",
      offset: BOARDS.esp32.provisionOffset,
      size: BOARDS.esp32.provisionSize,
    });
    expect(AREAS.esp32.provision).toEqual({ partition: "solkey_prov" });
  });

  it("gives the simulator the partition table's labels, offsets and sizes", () => {
    for (const area of Object.values(SIM_PARTITIONS))
      expect(row(area.name)).toEqual({ name: area.name, offset: area.offset, size: area.size });
    expect(AREAS.esp32.journal).toEqual({ partition: SIM_PARTITIONS.journal.name });
  });

  it("keeps ESP32 partitions apart, sector-aligned and inside 4 MB", () => {
    const sorted = [...rows].sort((a, b) => a.offset - b.offset);
    sorted.forEach((r, i) => {
      expect(r.offset % 0x1000).toBe(0);
      if (i > 0) expect(r.offset).toBeGreaterThanOrEqual(sorted[i - 1].offset + sorted[i - 1].size);
    });
    const last = sorted.at(-1) as Row;
    expect(last.offset + last.size).toBeLessThanOrEqual(4 * 1024 * 1024);
  });

  it("places the nRF52 journal in whole pages just below the provisioning page", () => {
    const { journal, provision } = AREAS.nrf52;
    expect(provision).toEqual({ offset: BOARDS.nrf52.provisionOffset, size: BOARDS.nrf52.provisionSize });
    if (!("offset" in journal)) throw new Error("nRF52 areas are address ranges");
    expect(journal.offset + journal.size).toBe(BOARDS.nrf52.provisionOffset);
    expect(journal.size % 0x1000).toBe(0);
    expect(journal.size / 0x1000).toBeGreaterThanOrEqual(2);
  });

  it("points the manifest's esp32 build at this partition table", () => {
    expect(manifest.platforms.esp32.build.PARTITIONS_FILE).toBe("./hosts/moddable/esp32/partitions.csv");
  });
});
