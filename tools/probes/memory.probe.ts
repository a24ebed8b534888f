// Probe: a demo device's life for the memory bench (tools/bench/memory.ts): boot, typed codes, hours passing, and
// single verdicts, on the simulated board. Runs inside XS, where the bench reads the slot meter between calls.
import { demoAddCodes, demoProvision, type DemoProtocol } from "../../hosts/node/simdemo";
import { SimDevice } from "../../hosts/node/simdevice";

declare const gc: (() => void) | undefined;

let sim: SimDevice | undefined;
let codes: string[] = [];

/** A powered-off demo device of `protocol` with `n` fresh add-credit codes ready (keys, no spaces). */
export function memSetup(protocol: DemoProtocol, n: number): number {
  sim = new SimDevice({ provision: demoProvision(protocol) });
  codes = demoAddCodes(protocol, n).map((c) => c.replace(/ /g, ""));
  return codes.length;
}

/** Collects garbage (xsnap's gc; nothing under Node), so the next meter reading counts live slots only. */
export function memCollect(): boolean {
  if (typeof gc === "function") gc();
  return typeof gc === "function";
}

/** The harness's own cost: a call that does nothing. */
export function memNothing(): number {
  return 0;
}

export function memBoot(): string {
  const s = sim as SimDevice;
  s.powerOn();
  return s.device?.status ?? "off";
}

/**
 * Hands code `i` (or a wrong variant: its middle key changed to another key it uses) to the firmware key by key, as
 * the keypad does after debouncing, then lets its feedback finish. The simulated keypad's scans are left out: on a
 * chip that is GPIO hardware and a timer, and here the stand-ins' bookkeeping would swamp the firmware's own slots.
 */
export function memType(i: number, wrong: boolean): string {
  const s = sim as SimDevice;
  let keys = codes[i];
  if (wrong) {
    const m = keys.length >> 1;
    const other = [...keys].find((k) => k !== keys[m] && k !== "*" && k !== "#") as string;
    keys = keys.slice(0, m) + other + keys.slice(m + 1);
  }
  for (const key of keys) s.device?.key(key);
  s.wait(3000);
  return _last(s);
}

/** Lets `ms` of time pass, the firmware running (credit clock, load, feedback). */
export function memWait(ms: number): string {
  const s = sim as SimDevice;
  s.wait(ms);
  return _last(s);
}

/** The last feedback shown, and the trace emptied (the simulator keeps it; a chip does not). */
function _last(s: SimDevice): string {
  const shown = s.trace.filter((e) => e.type === "feedback").pop();
  s.trace.length = 0;
  return shown && shown.type === "feedback" ? shown.pattern : "nothing";
}
