// issueSteps on both engines: the ledger's rules run inside a caller's transaction, as the fleet store issues a
// payment's code (`yield* issueSteps(...)`), the code and its row's id handed back, and nothing kept when the caller's
// transaction fails after it.
import { openFleet } from "../fleet/database";
import { sqliteFleet, type SealedFleet } from "../fleet/devices";
import { issueSteps, type IssuedRow } from "../fleet/ledger";
import { pgPool, redacted } from "../fleet/pgdb";
import { SecretKey } from "../fleet/sealing";
import { pgRunner, sqliteRunner, type StepRunner, type Steps } from "../fleet/sql";
import { engineFleets, ENGINES, type EngineFleet } from "./engines.helpers";
import { simOf, enter, verdicts } from "./hub.helpers";

const fleetOn = engineFleets();

/** The fleet's database as a step runner, and the fleet its steps read devices of. */
function open(f: EngineFleet): { runner: StepRunner; fleet: SealedFleet } {
  if (f.engine === "sqlite") {
    const db = openFleet(f.file);
    return { runner: sqliteRunner(db, f.file), fleet: sqliteFleet(db, f.file) };
  }
  const where = redacted(f.db);
  const key = SecretKey.fromHex(f.env.SOLKEY_SECRET_KEY, "SOLKEY_SECRET_KEY");
  return { runner: pgRunner(pgPool(f.db, 2), where), fleet: { key, where } };
}

const WEEK = { kind: "add", seconds: 7 * 86400 } as const;

describe.each(ENGINES)("issueSteps on %s", (engine) => {
  let f: EngineFleet;
  let runner: StepRunner;
  let fleet: SealedFleet;
  beforeAll(async () => {
    f = await fleetOn(engine, { protocol: "nexus-full" }, 2);
    await f.store.close();
    ({ runner, fleet } = open(f));
  }, 60_000);
  afterAll(() => runner.close());

  const issue = (device: string, paymentRef?: string, now = "2026-01-01T00:00:00.000Z") =>
    runner.transaction(issueSteps(fleet, { device, code: WEEK, paymentRef, pastWindow: true }, now));

  it("issues a code the device applies, its row's id handed back; the reference replays it", async () => {
    const first = await issue("SK-00000001", "PAY-1");
    const [row] = await f.rows<{ code_id: number; keycode: string; seq: number }>(
      "SELECT code_id, keycode, seq FROM codes WHERE payment_ref = 'PAY-1'",
    );
    expect(first.codeId).toBe(row.code_id);
    expect([first.issued.keycode, first.issued.seq, first.issued.replayed]).toEqual([row.keycode, row.seq, false]);
    const sim = simOf(f.devices[0]);
    enter(sim, f.devices[0], first.issued.keycode);
    expect(verdicts(sim.trace)).toEqual(["applied"]);
    const again = await issue("SK-00000001", "PAY-1");
    expect(again).toEqual({ codeId: first.codeId, issued: { ...first.issued, replayed: true } });
    await expect(issue("SK-00000002", "PAY-1")).rejects.toThrow(/PAY-1 already paid for .* one receipt/);
    const [device] = await f.rows<{ issued_seq: number }>("SELECT issued_seq FROM devices WHERE device_id = 1");
    expect(device.issued_seq).toBe(first.issued.seq);
  });

  it("a caller's transaction that fails after it keeps no code and spends no ID", async () => {
    const before = await f.rows("SELECT * FROM codes ORDER BY code_id");
    const seq = async () =>
      (await f.rows<{ issued_seq: number }>("SELECT issued_seq FROM devices WHERE device_id = 2"))[0].issued_seq;
    const last = await seq();
    function* thenFail(): Steps<IssuedRow> {
      const issued = yield* issueSteps(fleet, { device: "SK-00000002", code: WEEK, paymentRef: "PAY-2" }, "now");
      throw new Error(`the payment row failed after code ${issued.codeId}`);
    }
    await expect(runner.transaction(thenFail())).rejects.toThrow(/the payment row failed after code \d+/);
    expect([await f.rows("SELECT * FROM codes ORDER BY code_id"), await seq()]).toEqual([before, last]);
    expect((await issue("SK-00000002", "PAY-2")).issued.seq).toBe(last + 1);
  });

  it("refuses an ID wipe and an unknown device in one line, writing nothing", async () => {
    const wipe = { device: "SK-00000001", code: { kind: "wipe", target: "ids" } as const };
    await expect(runner.transaction(issueSteps(fleet, wipe, "now"))).rejects.toThrow(/never wipes message IDs/);
    await expect(issue("SK-09")).rejects.toThrow(/^device SK-09 is not in /);
  });
});
