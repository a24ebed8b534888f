// One receipt raced onto two devices by two processes' ledgers: one code, and the other asker told why in one line
// (PostgreSQL's unique key on codes.payment_ref catches what the per-device row locks cannot: different devices).
import { Ledger } from "../fleet/ledger";
import { ENGINES, ledgerFleets } from "./engines.helpers";

const fleets = ledgerFleets();

describe.each(ENGINES)("one payment reference raced onto two devices on %s", (engine) => {
  it("issues one code; the other request is refused as a reused receipt, never a database error", async () => {
    const fleet = await fleets.ledger(engine, { protocol: "nexus-full" }, 2);
    const other = await Ledger.open(fleet.db, { env: fleet.env });
    try {
      for (let i = 0; i < 50; i++) {
        const ref = `RACE-${i}`;
        const code = { kind: "add" as const, seconds: 86400 };
        const results = await Promise.allSettled([
          fleet.ledger.issue({ device: "SK-00000001", code, paymentRef: ref, pastWindow: true }),
          other.issue({ device: "SK-00000002", code, paymentRef: ref, pastWindow: true }),
        ]);
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        const [refused] = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
        expect(`${(refused.reason as Error).name}: ${(refused.reason as Error).message}`).toMatch(
          /^UsageError: .*one receipt cannot pay for two codes/,
        );
        const rows = await fleet.rows<{ n: number | string }>("SELECT count(*) AS n FROM codes WHERE payment_ref = ?", [
          ref,
        ]);
        expect(Number(rows[0].n)).toBe(1);
      }
    } finally {
      await other.close();
    }
  }, 60000);
});
