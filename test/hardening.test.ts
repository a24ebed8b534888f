// Production hardening steps (fleet/hardening.ts): per board, the offsets of the batch's images and the checks that
// matter, and `solkey provision` writing them beside the images.
import fs from "fs";
import path from "path";
import { BOARDS } from "../firmware/provision/board";
import { HARDENING_FILE, hardeningSteps } from "../fleet/hardening";
import { JOURNAL_AREAS } from "../fleet/journal";
import { MASTER_HEX, scratch, solkey } from "./fleet.helpers";

describe("hardening steps", () => {
  it("names the ESP32 revision, secure boot, release-mode encryption, anti-rollback and the unencrypted journal", () => {
    const text = hardeningSteps("esp32");
    for (const needed of [
      "v3.0 (ECO3)",
      "Secure Boot V2",
      "release mode",
      "SECURE_VERSION",
      "solkey_jrnl stays unencrypted",
      `0x${BOARDS.esp32.provisionOffset.toString(16)}`,
      `0x${JOURNAL_AREAS.esp32.offset.toString(16)}`,
    ])
      expect([needed, text.includes(needed)]).toEqual([needed, true]);
  });

  it("names the nRF52840 revision, APPROTECT, a signed bootloader with downgrade prevention, and no UF2", () => {
    const text = hardeningSteps("nrf52");
    for (const needed of [
      "revision 3",
      "Fxx",
      "UICR.APPROTECT",
      "NRF_DFU_APP_DOWNGRADE_PREVENTION 1",
      "UF2",
      `0x${BOARDS.nrf52.provisionOffset.toString(16)}`,
      `0x${JOURNAL_AREAS.nrf52.offset.toString(16)}`,
    ])
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
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(fs.readFileSync(path.join(out, HARDENING_FILE), "utf8")).toBe(hardeningSteps("nrf52"));
  });
});
