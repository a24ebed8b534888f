// The fleet on PostgreSQL (issue 18), on a real throwaway server: migrations and the schema check, the secret key,
// `solkey db copy` and its verification, payments over HTTP coded once and accepted by the simulated devices, and
// two processes' stores racing duplicate callbacks for many devices: every payment one code, no ID/count twice.
import { buildApp } from "../hub/app";
import { PgStore } from "../fleet/pgstore";
import { SEALED_LENGTH } from "../fleet/sealing";
import { runCopy, runMigrate } from "../tools/commands/db";
import { c2b, enter, hubFleet, simOf, testConfig, TOKEN, verdicts } from "./hub.helpers";
import { migratedDatabase, paid, pgFleet, pgRows, type PgServer, startPostgres } from "./pg.helpers";

let server: PgServer;
beforeAll(() => {
  server = startPostgres();
}, 60_000);
afterAll(() => server.stop());

const KEY = { env: { SOLKEY_SECRET_KEY: "ab".repeat(32) } };

describe("PostgreSQL: schema and key", () => {
  it("migrates once, says so again, refuses an unmigrated or newer schema", async () => {
    const url = server.database();
    await expect(PgStore.open(url, KEY)).rejects.toThrow(/schema version 0.*solkey db migrate/);
    const out: string[] = [];
    await runMigrate({ db: url }, (t) => out.push(t));
    await runMigrate({ db: url }, (t) => out.push(t));
    expect(out.join("")).toMatch(/schema 0 -> 6\n.*schema version 6, up to date/s);
    const store = await PgStore.open(url, KEY);
    expect(await store.plans()).toEqual([]);
    await store.close();
    await pgRows(url, "INSERT INTO schema_version VALUES (7, 'later')");
    await expect(PgStore.open(url, KEY)).rejects.toThrow(/schema version 7, newer than this solkey's 6: upgrade/);
  });

  it("must be given its secret key, and only its own", async () => {
    const url = await migratedDatabase(server);
    await expect(PgStore.open(url, { env: {} })).rejects.toThrow(/server database: give its secret key/);
    await (await PgStore.open(url, KEY)).close();
    await expect(PgStore.open(url, { env: { SOLKEY_SECRET_KEY: "cd".repeat(32) } })).rejects.toThrow(/is not .*'s \(/);
  });
});

describe("PostgreSQL: solkey db copy", () => {
  it("moves every row, verifies each table, keeps images sealed, and refuses a second copy", async () => {
    const made = await hubFleet({ protocol: "nexus-full" }, 3);
    await made.store.receive(paid("C1", "SK-00000001", 15000));
    await made.store.receive(paid("C2", "nobody"));
    await made.store.close();
    const url = await migratedDatabase(server);
    const out: string[] = [];
    await runCopy({ from: made.file, to: url }, (t) => out.push(t));
    expect(out.join("")).toMatch(/devices\s+3 rows.*payments\s+2 rows.*verified/s);
    const images = await pgRows<{ image: Buffer }>(url, "SELECT image FROM devices");
    for (const [i, { image }] of images.entries()) {
      expect(image.length).toBe(SEALED_LENGTH);
      expect(image.includes(Buffer.from(made.devices[i].image.subarray(8, 40)))).toBe(false);
    }
    const store = await PgStore.open(url, { secretKeyFile: made.file.replace(/\.db$/, ".secret-key") });
    expect(await store.payment("mpesa", "C1")).toMatchObject({ status: "coded", code: { seconds: 3 * 86400 } });
    // Ids continue above the copied rows: the next payment codes the next ID.
    const next = await store.receive(paid("C3", "SK-00000001"));
    expect(next.code?.seq).toBe((await store.payment("mpesa", "C1"))!.code!.seq! + 1);
    await store.close();
    await expect(runCopy({ from: made.file, to: url }, () => {})).rejects.toThrow(/already holds a fleet/);
  });
});

describe("PostgreSQL: the hub", () => {
  it("codes a confirmation once over HTTP; the device applies it; orphans assign, reversals owe", async () => {
    const fleet = await pgFleet(server, { protocol: "nexus-full" }, 3);
    const app = buildApp({ config: testConfig(), store: fleet.store });
    const post = (body: object) => app.inject({ method: "POST", url: `/c2b/${TOKEN}/confirmation`, payload: body });
    const body = c2b("RKTQDM7W6S", "150.00", "sk 0000-0001");
    const first = await post(body);
    expect(first.json()).toEqual({ ResultCode: 0, ResultDesc: "Accepted" });
    expect((await post(body)).json()).toEqual(first.json());
    const stored = await fleet.store.payment("mpesa", "RKTQDM7W6S");
    expect(stored).toMatchObject({ status: "coded", serial: "SK-00000001", amount: 15000 });
    expect(stored?.code).toMatchObject({ kind: "add", seconds: 3 * 86400 });
    expect(await pgRows(fleet.url, "SELECT * FROM codes")).toHaveLength(1);
    const sim = simOf(fleet.devices[0]);
    enter(sim, fleet.devices[0], stored!.code!.keycode);
    enter(sim, fleet.devices[0], stored!.code!.keycode);
    expect(verdicts(sim.trace)).toEqual(["applied", "duplicate"]);
    await post(c2b("ORPH1", "50", "nobody"));
    expect((await fleet.store.orphans()).map((o) => o.transId)).toEqual(["ORPH1"]);
    const assigned = await fleet.store.assign("mpesa", "ORPH1", "SK-00000002");
    expect(assigned).toMatchObject({ status: "coded", serial: "SK-00000002" });
    expect(await fleet.store.reverse("mpesa", "ORPH1", "chargeback")).toMatchObject({ status: "reversed" });
    expect(await fleet.store.account("SK-00000002")).toMatchObject({ paid: 0, remainder: -5000 });
    await app.close();
    await fleet.store.close();
  });

  it("two processes' stores racing duplicates for 40 devices: every payment one code, every code applies", async () => {
    const fleet = await pgFleet(server, { protocol: "nexus-full" }, 40);
    const other = await PgStore.open(fleet.url, fleet.access);
    const payments = fleet.devices.flatMap((d, i) =>
      Array.from({ length: 8 }, (_, k) => paid(`T${i}-${k}`, d.serial, 5000 * (1 + (k % 3)))),
    );
    // Each payment posted to both stores at once, in an order that interleaves devices and duplicates.
    const answers = await Promise.all(payments.flatMap((p) => [fleet.store.receive(p), other.receive(p)]));
    for (let i = 0; i < payments.length; i++) {
      const [a, b] = [answers[2 * i], answers[2 * i + 1]];
      expect(a.code?.keycode).toBeDefined();
      expect(b.code?.keycode).toBe(a.code?.keycode);
      expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
    }
    const codes = await pgRows<{ device_id: number; seq: number; keycode: string }>(
      fleet.url,
      "SELECT device_id, seq, keycode FROM codes ORDER BY device_id, seq",
    );
    expect(codes).toHaveLength(payments.length);
    for (const d of fleet.devices) {
      const sim = simOf(d);
      const mine = codes.filter((c) => c.device_id === d.deviceId);
      for (const c of mine) enter(sim, d, c.keycode);
      expect(verdicts(sim.trace)).toEqual(mine.map(() => "applied"));
    }
    await other.close();
    await fleet.store.close();
  }, 60_000);
});
