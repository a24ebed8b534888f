// Probe: the device simulator end to end (firmware/main.ts on the stand-ins), identical under Node and XS: scenario
// runs for the two-engine tests, and single key presses for the keypress-to-verdict benchmark (tools/bench/device).
import { DEMO_PROTOCOLS, demoAddCodes, demoProvision, type DemoProtocol } from "../../hosts/node/simdemo";
import { SimDevice } from "../../hosts/node/simdevice";

export { scenario, type ScenarioRun } from "../../hosts/node/simscript";

let bench: { sim: SimDevice; codes: string[]; next: number } | undefined;

/** Boots a demo device of `protocol` with `codes` fresh add-credit codes ready to type. */
export function benchBoot(protocol: DemoProtocol, codes: number): number {
  if (!DEMO_PROTOCOLS.includes(protocol)) throw new RangeError(`"protocol" expected a demo protocol, got ${protocol}`);
  const sim = new SimDevice({ provision: demoProvision(protocol) });
  sim.powerOn();
  bench = { sim, codes: demoAddCodes(protocol, codes).map((c) => c.replace(/ /g, "")), next: 0 };
  return sim.trace.length;
}

/** The next fresh code, without spaces. */
export function benchCode(): string {
  const b = bench as NonNullable<typeof bench>;
  return b.codes[b.next++];
}

/** Types `keys` as a person does. */
export function benchType(keys: string): void {
  (bench as NonNullable<typeof bench>).sim.type(keys);
}

/**
 * Presses `key` and runs the board 1 ms at a time until the device shows something (the key blink or the verdict):
 * the work from key contact to feedback, debounce scans included. Returns what was shown; the key stays down.
 */
export function benchPress(key: string): string {
  const sim = (bench as NonNullable<typeof bench>).sim;
  const before = sim.trace.length;
  if (!sim.keyDown(key)) throw new Error("the device is off");
  for (let ms = 0; ms < 1000; ms++) {
    const shown = sim.trace.slice(before).find((e) => e.type === "feedback");
    if (shown && shown.type === "feedback") return shown.pattern;
    sim.wait(1);
  }
  return "nothing";
}

/** Releases `key` and lets the keypad settle before the next press. */
export function benchRelease(key: string): void {
  const sim = (bench as NonNullable<typeof bench>).sim;
  sim.keyUp(key);
  sim.wait(200);
}

/** Hands `key` straight to the firmware (the keypad's read() output), as the chip's scan loop would: firmware only. */
export function benchKey(key: string): string {
  const sim = (bench as NonNullable<typeof bench>).sim;
  const before = sim.trace.length;
  sim.device?.key(key);
  const shown = sim.trace.slice(before).find((e) => e.type === "feedback");
  return shown && shown.type === "feedback" ? shown.pattern : "nothing";
}

/** Lets `ms` of simulated time pass (a Nexus keypad's attempt bucket refills one attempt per 720 s of uptime). */
export function benchWait(ms: number): void {
  (bench as NonNullable<typeof bench>).sim.wait(ms);
}
