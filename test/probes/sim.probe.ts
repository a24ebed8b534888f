// Probe: a simulator scenario run end to end (firmware/main.ts on the stand-ins), identical under Node and XS.
import { bytesToHex, hexToBytes } from "../../firmware/hex";
import { SimDevice, type TraceEvent } from "../../hosts/node/simdevice";
import { parseScenario, runScenario } from "../../hosts/node/simscript";

export interface ScenarioRun {
  readonly trace: TraceEvent[];
  /** The journal partition after the run, as hex: the flash is part of the outcome too. */
  readonly journal: string;
}

/** Runs scenario `text` on a device with these flash images (hex; "" for erased). */
export function scenario(text: string, provisionHex: string, journalHex = ""): ScenarioRun {
  const sim = new SimDevice({
    provision: provisionHex === "" ? undefined : hexToBytes(provisionHex),
    journal: journalHex === "" ? undefined : hexToBytes(journalHex),
  });
  const trace = runScenario(parseScenario(text), sim);
  return { trace, journal: bytesToHex(sim.images().journal) };
}
