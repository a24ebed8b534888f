// Simulator scenarios: a small text language of keys, waits and power cuts (`solkey sim --script FILE`), parsed and
// run on a SimDevice. Pure TypeScript, so a scenario runs the same under Node and inside XS.
//
//   # a comment (a line whose first character is #)
//   power on                 the device boots (a scenario starts with the power off)
//   keys *599 791 493 194 43#  types keys; spaces are skipped
//   wait 16s                 lets time pass: ms, s, m, h, d, combinable (1h30m)
//   power off                cuts the power: RAM and timers are lost, flash stays
//   power cut                off and straight back on
import { bytesToHex, hexToBytes } from "../../firmware/hex";
import { SimDevice, type SimImages, type TraceEvent } from "./simdevice";

export type ScenarioStep =
  | { readonly op: "keys"; readonly keys: string }
  | { readonly op: "wait"; readonly ms: number }
  | { readonly op: "power"; readonly to: "on" | "off" | "cut" };

const MAX_WAIT_MS = 366 * 86_400_000;
const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration such as `16s`, `90m`, `1h30m` or `250ms` into ms; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const parts = text.match(/(\d+)(ms|s|m|h|d)/g);
  if (!parts || parts.join("") !== text) return undefined;
  let ms = 0;
  for (const part of parts) {
    const [, n, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(part) as RegExpExecArray;
    ms += Number(n) * UNITS[unit];
  }
  return ms;
}

/** The steps of a scenario text. Throws SyntaxError naming the line of anything it does not understand. */
export function parseScenario(text: string): ScenarioStep[] {
  const steps: ScenarioStep[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const space = line.indexOf(" ");
    const word = space < 0 ? line : line.slice(0, space);
    const rest = space < 0 ? "" : line.slice(space + 1).trim();
    const fail = (why: string) => new SyntaxError(`scenario line ${i + 1}: ${why}: ${line}`);
    if (word === "keys") {
      const keys = rest.replace(/\s+/g, "");
      if (keys === "") throw fail("expected keys after `keys`");
      steps.push({ op: "keys", keys });
    } else if (word === "wait") {
      const ms = parseDuration(rest);
      if (ms === undefined) throw fail("expected a duration such as 16s, 90m or 1h30m");
      // The device is stepped through every tick: a year takes about 2 s (measured), so one line waits at most that.
      if (ms > MAX_WAIT_MS) throw fail("at most 366d per wait line (repeat the line for longer)");
      steps.push({ op: "wait", ms });
    } else if (word === "power") {
      if (rest !== "on" && rest !== "off" && rest !== "cut")
        throw fail("expected `power on`, `power off` or `power cut`");
      steps.push({ op: "power", to: rest });
    } else {
      throw fail("expected keys, wait or power");
    }
  });
  return steps;
}

/** Runs `steps` on `device` (fresh from `images` when not given) and returns its trace. */
export function runScenario(steps: readonly ScenarioStep[], device: SimDevice | SimImages = {}): TraceEvent[] {
  const sim = device instanceof SimDevice ? device : new SimDevice(device);
  for (const step of steps) {
    if (step.op === "keys") sim.type(step.keys);
    else if (step.op === "wait") sim.wait(step.ms);
    else if (step.to === "on") sim.powerOn();
    else if (step.to === "off") sim.powerOff();
    else {
      sim.powerOff();
      sim.powerOn();
    }
  }
  return sim.trace;
}

/** A scenario's outcome: its trace, the journal partition and the OTP bits after it (hex): they are outcome too. */
export interface ScenarioRun {
  readonly trace: TraceEvent[];
  readonly journal: string;
  readonly otp: string;
}

/**
 * Runs scenario `text` on a device with these flash images and OTP bits (hex; "" for erased, or a new chip's bits).
 * JSON in, JSON out: the entry point
 * that `solkey sim --engine xs` and the two-engine tests load into XS.
 */
export function scenario(text: string, provisionHex: string, journalHex = "", otpHex = ""): ScenarioRun {
  const sim = new SimDevice({
    provision: provisionHex === "" ? undefined : hexToBytes(provisionHex),
    journal: journalHex === "" ? undefined : hexToBytes(journalHex),
    otp: otpHex === "" ? undefined : hexToBytes(otpHex),
  });
  const trace = runScenario(parseScenario(text), sim);
  return { trace, journal: bytesToHex(sim.images().journal), otp: bytesToHex(sim.otp.snapshot()) };
}
