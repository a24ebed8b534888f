// Stand-in for Moddable's `mc/config` on the simulated board: the esp32 platform's `config` from manifest.json, as
// mcconfig would build it for an ESP32, so the simulator and the chip read the same board configuration.
import manifest from "../../manifest.json";

/** The board's reference wiring (manifest.json platforms.<board>.config.solkey); a provisioning record's pins win. */
export interface BoardConfig {
  readonly led: number;
  readonly load: number;
  readonly buzzer: number | null;
  /** Matrix keypad rows 1-4, then columns 1-3. */
  readonly matrix: readonly number[];
  /** Button keypads: key 1 first. */
  readonly buttons: readonly number[];
}

const config: { readonly solkey: BoardConfig } = manifest.platforms.esp32.config;

export default config;
