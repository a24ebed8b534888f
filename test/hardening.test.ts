// Production hardening steps (fleet/hardening.ts): per board, the offsets of the batch's images and the checks that
// matter, and `solkey provision` writing them beside the images.
import fs from "fs";
import path from "path";
import { BOARDS } from "../firmware/provision/board";
import { HARDENING_FILE, hardeningSteps } from "../fleet/hardening";
import { JOURNAL_AREAS } from "../fleet/journal";
import { MASTER_HEX, scratch, solkey } from "./fleet.helpers";

describe("hardening steps", () => {
  // Per board, what a batch's steps must name: the chip revision, the protections, the batch's image offsets.
  const NEEDED = {
    esp32: [
      "v3.0 (ECO3)",
      "Secure Boot V2",
      "release mode",
      "SECURE_VERSION",
      "solkey_jrnl stays unencrypted",
      "one anchor step (116 days or 1,160 codes)",
    ],
    nrf52: ["revision 3", "Fxx", "UICR.APPROTECT", "NRF_DFU_APP_DOWNGRADE_PREVENTION 1", "UF2"],
  } as const;

  it.each(["esp32", "nrf52"] as const)("names what %s needs and where the batch's images go", (board) => {
    const text = hardeningSteps(board);
    const offsets = [BOARDS[board].provisionOffset, JOURNAL_AREAS[board].offset].map((n) => `0x${n.toString(16)}`);
    for (const needed of [...NEEDED[board], ...offsets])
      expect([needed, text.includes(needed)]).toEqual([needed, true]);
  });

  it("numbers the steps from 1 with no gap", () => {
    for (const board of ["esp32", "nrf52"] as const) {
      const numbers = [...hardeningSteps(board).matchAll(/^(\d+)\. /gm)].map((m) => Number(m[1]));
      expect(numbers).toEqual(numbers.map((_, i) => i + 1));
      expect(numbers.length).toBeGreaterThanOrEqual(5);
    }
  });

  it("is written by solkey provision into --out for the batch's board", async () => {
    const dir = scratch("hardening");
    const out = path.join(dir, "img");
    const args = ["provision", "--protocol", "nexus-full", "--board", "nrf52", "--count", "1"];
    const r = await solkey([...args, "--db", path.join(dir, "f.db"), "--out", out], {
      SOLKEY_MASTER_KEY: MASTER_HEX,
    });
    // stderr: only the note that the new fleet's secret key file was made (fleet/sealing.ts)
    expect(r).toMatchObject({
      code: 0,
      stderr: expect.stringMatching(/^solkey: created \S+\.secret-key \(mode 600\)[^\n]*\n$/),
    });
    expect(fs.readFileSync(path.join(out, HARDENING_FILE), "utf8")).toBe(hardeningSteps("nrf52"));
  });
});
