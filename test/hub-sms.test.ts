// The hub's SMS side over HTTP against the Africa's Talking stand-in: a confirmed payment's code reaches the
// registered phone (never the payer's number) in the account's language, through a gateway outage, and the code
// read off the SMS is accepted by the simulated device it was issued for; on SQLite and on PostgreSQL.
import type { CodeHook } from "../fleet/storesteps";
import { buildApp } from "../hub/app";
import { AtStandIn } from "../hub/sms/standin";
import { DEFAULT_POLICY } from "../hub/sms/outbox";
import { startSms, type SmsService } from "../hub/sms/service";
import type { OutboxEvent } from "../hub/sms/worker";
import { engineFleets, ENGINES, type Engine } from "./engines.helpers";
import { c2b, enter, phoneOf, simOf, testConfig, TOKEN, verdicts } from "./hub.helpers";

const SMS_TOKEN = "sms-t0k3n-0123456789abcdef";

const fleetOn = engineFleets();

async function setup(engine: Engine) {
  const standin = await AtStandIn.start();
  const late: { sms?: SmsService } = {}; // the hook is needed to open the store the service opens after
  const onCode: CodeHook = (code, account, device, id) => late.sms!.hooks.onCode(code, account, device, id);
  const fleet = await fleetOn(engine, { protocol: "nexus-full" }, 2, undefined, {
    sqlite: { onCode },
    postgres: { onCode },
  });
  const events: OutboxEvent[] = [];
  const sms = startSms({
    db: fleet.db,
    env: {
      SOLKEY_SMS_URL: standin.url,
      SOLKEY_SMS_USERNAME: standin.username,
      SOLKEY_SMS_API_KEY: standin.apiKey,
      SOLKEY_SMS_TOKEN: SMS_TOKEN,
    },
    onEvent: (e) => events.push(e),
    pollMs: 20,
    policy: { ...DEFAULT_POLICY, firstDelayMs: 20, maxDelayMs: 40 },
  });
  const app = buildApp({ config: testConfig(), store: fleet.store, log: false, routes: sms.routes });
  sms.start();
  await app.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/sms`;
  const pay = (transId: string, amount: string, ref: string, msisdn = "254799999999") =>
    app.inject({
      method: "POST",
      url: `/c2b/${TOKEN}/confirmation`,
      payload: c2b(transId, amount, ref, { MSISDN: msisdn }),
    });
  const close = async () => {
    await app.close();
    await sms.stop();
    await fleet.store.close();
    await standin.close();
  };
  late.sms = sms;
  const state = async (id: number) =>
    (await fleet.rows<{ state: string }>("SELECT state FROM sms_outbox WHERE message_id = ?", [id]))[0].state;
  return { standin, fleet, sms, events, app, pay, close, base, state };
}

async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !ready(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!ready()) throw new Error(`timed out waiting for ${what}`);
}

/** The code as a customer reads it off the SMS, ready to type. */
function codeIn(text: string): string {
  const m = /: ([*#\d ]+?) =/.exec(text);
  if (m === null) throw new Error(`no code in "${text}"`);
  return m[1].replace(/ /g, "");
}

describe.each(ENGINES)("hub on %s: SMS outbox", (engine) => {
  it("sends a payment's code to the registered phone; the device accepts the code read off the SMS", async () => {
    const h = await setup(engine);
    try {
      expect((await h.pay("SMS0000001", "100.00", "SK-00000001")).statusCode).toBe(200);
      await until(() => h.events.some((e) => e.kind === "sent"), "the SMS");
      const [sms] = h.standin.sent;
      expect(sms.to).toBe(`+${phoneOf(0)}`); // the account's phone, not the payer's 254799999999
      expect(sms.message).toMatch(/^Solar code: .* = 2 days\. Reply BALANCE or RESEND\.$/);
      const stored = await h.fleet.store.payment("mpesa", "SMS0000001");
      expect(codeIn(sms.message).replace(/[*#]/g, "")).toBe(stored!.code!.keycode.replace(/[*# ]/g, ""));
      const sim = simOf(h.fleet.devices[0]);
      enter(sim, h.fleet.devices[0], codeIn(sms.message));
      expect(verdicts(sim.trace)).toEqual(["applied"]);
      expect(h.standin.sent).toHaveLength(1);
    } finally {
      await h.close();
    }
  });

  it("rides through a gateway outage: the same text goes once the gateway is back, one code", async () => {
    const h = await setup(engine);
    try {
      h.standin.fail({ kind: "http", status: 503 });
      await h.pay("SMS0000002", "50.00", "SK-00000002");
      await until(() => h.events.some((e) => e.kind === "retry"), "a retry");
      expect(h.standin.sent).toHaveLength(0);
      h.standin.recover();
      await until(() => h.standin.sent.length === 1, "the SMS after the outage");
      expect(h.standin.sent[0]).toMatchObject({ to: `+${phoneOf(1)}` });
      expect(h.standin.sent[0].message).toMatch(/= 1 day\./);
      const retried = h.events.filter((e) => e.kind === "retry").length;
      expect(h.standin.requests).toBe(retried + 1);
    } finally {
      await h.close();
    }
  });

  it("records delivery reports; a wrong token is a 404, a report without an id a 400", async () => {
    const h = await setup(engine);
    try {
      await h.pay("SMS0000003", "50.00", "SK-00000001");
      await until(() => h.events.some((e) => e.kind === "sent"), "the SMS");
      const [sms] = h.standin.sent;
      expect(await h.standin.report(sms.messageId, "Success", undefined, `${h.base}/${SMS_TOKEN}/delivery`)).toBe(200);
      expect(await h.state(1)).toBe("delivered");
      expect(h.events.some((e) => e.kind === "delivered")).toBe(true);
      expect(await h.standin.report(sms.messageId, "Success", undefined, `${h.base}/wrong/delivery`)).toBe(404);
      expect(await h.standin.report("", "Success", undefined, `${h.base}/${SMS_TOKEN}/delivery`)).toBe(400);
      const json = await fetch(`${h.base}/${SMS_TOKEN}/delivery`, { method: "POST", body: "{}" });
      expect(json.status).toBeGreaterThanOrEqual(400);
      expect(json.status).toBeLessThan(500);
    } finally {
      await h.close();
    }
  });

  it("answers RESEND with the same text and BALANCE in the account's language, to the registered phone only", async () => {
    const h = await setup(engine);
    const inbound = `${h.base}/${SMS_TOKEN}/inbound`;
    try {
      await h.pay("SMS0000004", "150.00", "SK-00000001");
      await until(() => h.events.filter((e) => e.kind === "sent").length === 1, "the code SMS");
      const registered = `+${phoneOf(0)}`;
      expect(await h.standin.inbound(inbound, { from: "+254711111111", to: "12345", text: "RESEND" })).toBe(200);
      expect(await h.standin.inbound(inbound, { from: registered, to: "12345", text: "tena" })).toBe(200);
      await until(() => h.events.filter((e) => e.kind === "sent").length === 2, "the resend");
      expect(await h.standin.inbound(inbound, { from: registered, to: "12345", text: "Balance" })).toBe(200);
      await until(() => h.events.filter((e) => e.kind === "sent").length === 3, "the balance");
      expect(h.standin.sent.map((s) => s.to)).toEqual([registered, registered, registered]);
      expect(h.standin.sent[1].message).toBe(h.standin.sent[0].message);
      expect(h.standin.sent[2].message).toBe("Paid: KES 150. Thank you!");
      expect(await h.standin.inbound(`${h.base}/wrong/inbound`, { from: registered, to: "1", text: "BALANCE" })).toBe(
        404,
      );
      expect(await h.fleet.rows("SELECT count(*) AS n FROM codes")).toEqual([{ n: 1 }]);
    } finally {
      await h.close();
    }
  });
});
