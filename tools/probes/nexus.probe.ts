// Probe: Nexus Keycode conformance rows and a verdict loop, identical under Node (imported) and XS (bundled).
import { hexToBytes } from "../../firmware/hex";
import { nexusFull } from "../../firmware/protocols/nexus/full_device";
import { nexusSmall } from "../../firmware/protocols/nexus/small_device";
import { checkNexus, type NexusRow } from "../conformance/nexus";

/** Each row's failure (null when it passes), from the same checker `solkey vectors` runs. */
export function checkRows(rows: NexusRow[]): (string | null)[] {
  return rows.map((row) => {
    try {
      return checkNexus(row);
    } catch (e) {
      return `threw ${(e as Error).message}`;
    }
  });
}

/**
 * Verifies `entries` in order on a fresh device (what a device runs; the codes are encoded outside) and counts the
 * verdict kinds, so the work cannot be skipped. The benchmark's unit of work.
 */
export function verifyEntries(
  protocol: "nexus-full" | "nexus-small",
  keyHex: string,
  entries: string[],
  enableExtendedSmallMessage = false,
) {
  const key = hexToBytes(keyHex);
  const device = protocol === "nexus-full" ? nexusFull({ key }) : nexusSmall({ key, enableExtendedSmallMessage });
  const counts: Record<string, number> = { applied: 0, duplicate: 0, invalid: 0 };
  let state = device.initialState();
  for (const entry of entries) {
    const verdict = device.verify(state, entry);
    counts[verdict.kind]++;
    if (verdict.kind === "applied") state = verdict.state;
  }
  return counts;
}
