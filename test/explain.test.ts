// `solkey explain DEVICE CODE` (issue 14): one line for issued, entered, foreign and forged codes.
import path from "path";
import { ENGINES, ledgerFleets } from "./engines.helpers";
import { scratch, solkey as run } from "./fleet.helpers";

const fleets = ledgerFleets();

describe.each(ENGINES)("solkey explain on %s", (engine) => {
  it("answers for an issued, an entered, another device's and a forged code", async () => {
    const { db, env } = await fleets.empty(engine);
    const solkey = (args: string[]) => run(args, env);
    const out = path.join(scratch("explain"), "images");
    const p = ["provision", "--protocol", "nexus-full", "--count", "2", "--random-keys", "--db", db, "--out", out];
    expect((await solkey(p)).code).toBe(0);
    const issue = async (device: string, ref: string) =>
      JSON.parse((await solkey(["issue", device, "--days", "1", "--ref", ref, "--db", db, "--json"])).stdout);
    const a = await issue("SK-00000001", "MPESA-1");
    const b = await issue("SK-00000002", "MPESA-2");
    const explain = async (device: string, code: string) => {
      const r = await solkey(["explain", device, code, "--db", db, "--json"]);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout);
    };
    const issued = await explain("SK-00000001", a.keycode.replace(/ /g, ""));
    expect(issued.verdict).toBe("issued");
    expect(issued.line).toMatch(
      /SK-00000001's add code, ID 24, issued .* for payment MPESA-1; not known to be entered; the device would accept it now/,
    );
    expect((await solkey(["issue", "SK-00000001", "--entered", a.keycode, "--db", db])).code).toBe(0);
    expect((await explain("SK-00000001", a.keycode)).line).toMatch(
      /known entered .*; the device would refuse it now \(already applied\)/,
    );
    const foreign = await explain("SK-00000001", b.keycode);
    expect(foreign.verdict).toBe("other-device");
    expect(foreign.line).toMatch(/issued to SK-00000002/);
    const forged = await explain("SK-00000001", "*123 456 789 012 34#");
    expect(forged.verdict).toBe("never-issued");
    const text = await solkey(["explain", "SK-00000001", "*12x#", "--db", db]);
    expect(text.code).toBe(2);
  });
});
