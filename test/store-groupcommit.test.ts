// SQLite's group commit under the fleet store: payments received in one turn share one transaction, each in its own
// savepoint. One that fails after its statements ran (its SMS hook throws once the code row and the device's ID are
// written) must leave nothing behind, and the others in its group must stand.
import { openFleet } from "../fleet/database";
import type { Steps } from "../fleet/sql";
import { hubFleet } from "./hub.helpers";
import { paid } from "./pg.helpers";

describe("group commit in the SQLite store", () => {
  it("rolls back only the failing payment's savepoint; the rest of its group is coded and on disk", async () => {
    let failOn = "SK-00000002";
    const onCode = function* (_code: unknown, account: { serial: string }): Steps<number> {
      if (account.serial === failOn) throw new Error("outbox refused");
      return 0;
    };
    const { file, devices, store } = await hubFleet({ protocol: "nexus-full" }, 4, undefined, { onCode });
    const seqs = () => {
      const db = openFleet(file);
      const rows = db.prepare("SELECT issued_seq FROM devices ORDER BY device_id").all() as { issued_seq: number }[];
      db.close();
      return rows.map((r) => r.issued_seq);
    };
    const before = seqs();
    const settled = await Promise.allSettled(devices.map((d, i) => store.receive(paid(`G${i}`, d.serial))));
    expect(settled.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toMatch(/outbox refused/);
    const db = openFleet(file);
    const count = (sql: string, arg: unknown) => (db.prepare(sql).get(arg) as { n: number }).n;
    for (const [i, d] of devices.entries()) {
      const id = d.deviceId;
      const ok = d.serial !== failOn;
      expect(count("SELECT count(*) AS n FROM payments WHERE trans_id = ?", `G${i}`)).toBe(ok ? 1 : 0);
      expect(count("SELECT count(*) AS n FROM codes WHERE device_id = ?", id)).toBe(ok ? 1 : 0);
    }
    db.close();
    expect(seqs().map((seq, i) => seq > before[i])).toEqual([true, false, true, true]);
    // The failed payment, retried once the outbox takes it, is coded as if it were new.
    failOn = "";
    const retried = await store.receive(paid("G1", devices[1].serial));
    expect([retried.status, retried.code?.replayed]).toEqual(["coded", false]);
    expect(seqs()[1]).toBeGreaterThan(before[1]);
    await store.close();
  });
});
