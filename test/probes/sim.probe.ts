// Probe: a simulator scenario run end to end (firmware/main.ts on the stand-ins), identical under Node and XS.
export { scenario, type ScenarioRun } from "../../hosts/node/simscript";
