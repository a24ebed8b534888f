// The entry of Moddable's desktop build (mcconfig -m -p lin manifest.json): firmware/main.ts on the simulator's
// stand-ins (hosts/node: GPIO nets, NOR flash, the virtual clock), compiled and linked by Moddable's own tools and
// run by XS as on a chip. Each demo device boots, takes its first demo codes typed on its simulated keypad, a wrong
// one, and a day of time; what the device does is printed with trace(), and the XS memory after each step with
// Moddable's instrumentation where the build has it (lin does).
import type { FeedbackName } from "../../../firmware/io/feedback";
import { DEMO_PROTOCOLS, demoAddCodes, demoProvision, type DemoProtocol } from "../../node/simdemo";
import { SimDevice } from "../../node/simdevice";

/** What a step left: the events it produced, one line. */
export type Report = (line: string) => void;

/** Runs every demo device through its script; returns the number of codes that did not apply as expected. */
export function runDemo(report: Report, memory: () => string = () => ""): number {
  let failures = 0;
  for (const protocol of DEMO_PROTOCOLS) failures += _runDevice(protocol, report, memory);
  report(failures === 0 ? "lin demo: every code applied as expected" : `lin demo: ${failures} unexpected verdicts`);
  return failures;
}

function _runDevice(protocol: DemoProtocol, report: Report, memory: () => string): number {
  const sim = new SimDevice({ provision: demoProvision(protocol) });
  const codes = demoAddCodes(protocol, 2);
  const verdicts: FeedbackName[] = [];
  const faults: string[] = [];
  sim.onEvent = (event) => {
    if (event.type === "feedback" && event.pattern !== "key") verdicts.push(event.pattern);
    if (event.type === "fault") faults.push(event.reason);
  };
  const step = (what: string, run: () => void, expect?: FeedbackName) => {
    verdicts.length = 0;
    run();
    const shown = [...verdicts, ...faults.splice(0).map((reason) => `fault (${reason})`)].join(",") || "nothing";
    report(`${protocol}: ${what} -> ${shown}${memory()}`);
    return expect === undefined || verdicts.includes(expect) ? 0 : 1;
  };
  let failures = step("power on", () => sim.powerOn());
  failures += step(`type ${codes[0]}`, () => (sim.type(codes[0]), sim.wait(3000)), "applied");
  failures += step(`type ${codes[0]} again`, () => (sim.type(codes[0]), sim.wait(3000)), "duplicate");
  sim.wait(720_000); // a Nexus keypad refills one attempt per 720 s
  failures += step(`type ${codes[1]}`, () => (sim.type(codes[1]), sim.wait(3000)), "applied");
  step("a day passes", () => sim.wait(86_400_000));
  return failures;
}
