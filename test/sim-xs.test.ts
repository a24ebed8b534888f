// Issue 6 "Done when": every device scenario yields the same event trace and the same flash with the firmware
// running inside XS (bundled by hosts/xsnap) as under Node.
import { XsProbe } from "../hosts/xsnap/engine";
import { scenario as run, type ScenarioRun } from "../tools/probes/sim.probe";
import { allScenarios } from "./scenarios/scenarios";

const scenarios = allScenarios();

describe("device scenarios on two engines", () => {
  let xs: XsProbe;
  beforeAll(async () => {
    xs = await XsProbe.load("tools/probes/sim.probe.ts");
  });
  afterAll(() => xs.close());

  it("has every protocol's scenarios to compare", () => {
    expect(scenarios).toHaveLength(21);
  });

  it.each(scenarios.map((s) => [`${s.protocol}-${s.name}`, s] as const))(
    "%s: the trace inside XS equals Node's",
    async (_n, s) => {
      const node = run(s.text, s.provisionHex);
      const { result } = await xs.call<ScenarioRun>("scenario", s.text, s.provisionHex);
      expect(node.trace.length).toBeGreaterThan(3);
      expect(result.trace).toEqual(node.trace);
      expect(result.journal).toBe(node.journal);
    },
  );
});
