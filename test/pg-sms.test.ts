// The SMS outbox on PostgreSQL (issue 18): a code's SMS row commits with the code or not at all, and several
// workers (each its own pool, as each hub process has) claiming one outbox with FOR UPDATE SKIP LOCKED send every
// message exactly once through the Africa's Talking stand-in.
import { pgPool, redacted } from "../fleet/pgdb";
import { PgStore } from "../fleet/pgstore";
import { smsConfig, smsGateway } from "../hub/sms/config";
import { PgOutbox } from "../hub/sms/pg";
import { queueCodeSms } from "../hub/sms/queue";
import { AtStandIn } from "../hub/sms/standin";
import { OutboxWorker } from "../hub/sms/worker";
import { paid, pgFleet, pgRows, type PgServer, startPostgres } from "./pg.helpers";

let server: PgServer;
beforeAll(() => {
  server = startPostgres();
}, 60_000);
afterAll(() => server.stop());

describe("PostgreSQL: SMS outbox", () => {
  it("writes a code's SMS in the code's transaction: a failure after it leaves neither", async () => {
    const fleet = await pgFleet(server, { protocol: "nexus-full" }, 2);
    await fleet.store.close();
    const queue = queueCodeSms(Date.now, () => {});
    let fail = true;
    const store = await PgStore.open(fleet.url, {
      ...fleet.access,
      onCode: function* (code, account, device, codeId) {
        const id = yield* queue(code, account, device, codeId);
        if (fail) throw new Error("after the SMS row");
        return id;
      },
    });
    try {
      await expect(store.receive(paid("T1", fleet.devices[0].serial))).rejects.toThrow(/after the SMS row/);
      expect(await pgRows(fleet.url, "SELECT 1 FROM codes")).toEqual([]);
      expect(await pgRows(fleet.url, "SELECT 1 FROM sms_outbox")).toEqual([]);
      fail = false;
      const outcome = await store.receive(paid("T1", fleet.devices[0].serial));
      const rows = await pgRows<{ code_id: number; to_phone: string; text: string }>(
        fleet.url,
        "SELECT code_id, to_phone, text FROM sms_outbox",
      );
      const code = await pgRows<{ code_id: number }>(fleet.url, "SELECT code_id FROM codes");
      expect(rows).toEqual([{ code_id: code[0].code_id, to_phone: "+254700000000", text: expect.any(String) }]);
      expect(rows[0].text.replace(/ /g, "")).toContain(outcome.code!.keycode.replace(/ /g, ""));
    } finally {
      await store.close();
    }
  });

  it("4 workers on one outbox send each of 300 messages exactly once", async () => {
    const DEVICES = 30;
    const PAYMENTS = 300;
    const fleet = await pgFleet(server, { protocol: "nexus-full" }, DEVICES);
    await fleet.store.close();
    const store = await PgStore.open(fleet.url, { ...fleet.access, onCode: queueCodeSms(Date.now, () => {}) });
    for (let i = 0; i < PAYMENTS; i++) await store.receive(paid(`P${i}`, fleet.devices[i % DEVICES].serial));
    await store.close();
    const standin = await AtStandIn.start();
    const gateway = smsGateway(
      smsConfig({
        SOLKEY_SMS_DRIVER: "africastalking",
        SOLKEY_SMS_URL: standin.url,
        SOLKEY_SMS_USERNAME: standin.username,
        SOLKEY_SMS_API_KEY: standin.apiKey,
      }),
    );
    const pools = [0, 1, 2, 3].map(() => pgPool(fleet.url, 2));
    const claims = [0, 0, 0, 0];
    try {
      await Promise.all(
        pools.map(async (pool, w) => {
          const worker = new OutboxWorker({ store: new PgOutbox(pool, redacted(fleet.url)), gateway, batch: 8 });
          // Rounds until the outbox is empty: a round claiming nothing means the others hold (or sent) the rest.
          for (let n = await worker.runOnce(); n > 0; n = await worker.runOnce()) claims[w] += n;
        }),
      );
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await standin.close();
    }
    expect(claims.every((n) => n > 0)).toBe(true); // every worker took part
    expect(claims.reduce((a, b) => a + b)).toBe(PAYMENTS);
    expect(standin.sent).toHaveLength(PAYMENTS);
    expect(new Set(standin.sent.map((s) => s.message)).size).toBe(PAYMENTS); // each code's own text, once
    const rows = await pgRows<{ state: string; attempts: number }>(fleet.url, "SELECT state, attempts FROM sms_outbox");
    expect(rows).toHaveLength(PAYMENTS);
    expect(rows.filter((r) => r.state !== "sent" || r.attempts !== 1)).toEqual([]);
    const sends = await pgRows<{ n: number }>(
      fleet.url,
      "SELECT count(*)::int AS n FROM sms_events WHERE kind = 'sent'",
    );
    expect(sends[0].n).toBe(PAYMENTS);
  }, 120_000);
});
