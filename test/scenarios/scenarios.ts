// The scripted device scenarios of issue 6, per protocol: files beside this module, run on the demo devices.
import fs from "fs";
import path from "path";
import { bytesToHex } from "../../firmware/hex";
import { DEMO_PROTOCOLS, demoProvision, type DemoProtocol } from "../../hosts/node/simdemo";

export const CASES = [
  "happy",
  "timeout",
  "restart",
  "lockout",
  "credit-out",
  "cut-mid-entry",
  "unprovisioned",
] as const;
export type Case = (typeof CASES)[number];

export interface Scenario {
  readonly protocol: DemoProtocol;
  readonly name: Case;
  readonly text: string;
  /** Provisioning image as hex: the demo device's, or (unprovisioned) the same with one key byte flipped. */
  readonly provisionHex: string;
}

export function scenario(protocol: DemoProtocol, name: Case): Scenario {
  const text = fs.readFileSync(path.join(__dirname, `${protocol}-${name}.txt`), "utf8");
  const image = demoProvision(protocol);
  if (name === "unprovisioned") image[20] ^= 0x01; // the CRC no longer matches: a damaged record
  return { protocol, name, text, provisionHex: bytesToHex(image) };
}

export function allScenarios(): Scenario[] {
  return DEMO_PROTOCOLS.flatMap((protocol) => CASES.map((name) => scenario(protocol, name)));
}
