// The hub's SMS side over HTTP against the Africa's Talking stand-in: a confirmed payment's code reaches the
// registered phone (never the payer's number) in the account's language, through a gateway outage, and the code
// read off the SMS is accepted by the simulated device it was issued for.
import { buildApp } from "../hub/app";
import { AtStandIn } from "../hub/sms/standin";
import { DEFAULT_POLICY } from "../hub/sms/outbox";
import { startSms, type SmsService } from "../hub/sms/service";
import type { OutboxEvent } from "../hub/sms/worker";
import { c2b, enter, hubFleet, phoneOf, simOf, testConfig, TOKEN, verdicts } from "./hub.helpers";

async function setup() {
  const standin = await AtStandIn.start();
  const late: { sms?: SmsService } = {}; // the hook is needed to open the store the service opens after
  const fleet = await hubFleet({ protocol: "nexus-full" }, 2, undefined, {
    onCode: (db, code, account, payment) => late.sms!.onCode(db, code, account, payment),
  });
  const events: OutboxEvent[] = [];
  const sms = startSms({
    file: fleet.file,
    env: { SOLKEY_SMS_URL: standin.url, SOLKEY_SMS_USERNAME: standin.username, SOLKEY_SMS_API_KEY: standin.apiKey },
    onEvent: (e) => events.push(e),
    pollMs: 20,
    policy: { ...DEFAULT_POLICY, firstDelayMs: 20, maxDelayMs: 40 },
  });
  const app = buildApp({ config: testConfig(), store: fleet.store, log: false });
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
  return { standin, fleet, sms, events, app, pay, close };
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

describe("hub: SMS outbox", () => {
  it("sends a payment's code to the registered phone; the device accepts the code read off the SMS", async () => {
    const h = await setup();
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
    const h = await setup();
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
});
