// What Africa's Talking posts back: delivery reports (each status to pending / delivered / undelivered, each failure
// reason to whether a resend may pass) and inbound SMS (the keywords RESEND and BALANCE in en, sw and fr, RESEND's
// rate limit), posted over HTTP by the stand-in in AT's form encoding and parsed here.
import http from "http";
import type { AddressInfo } from "net";
import { deliveryOutcome, isKnownStatus, parseDeliveryReport, PERMANENT_FAILURES } from "../hub/sms/delivery";
import { KEYWORDS, parseInbound, recognizeCommand, RESEND_LIMIT, resendAllowed } from "../hub/sms/inbound";
import { AtStandIn, type AtDeliveryStatus } from "../hub/sms/standin";
import { LANGUAGES } from "../hub/sms/templates";

/** A server that keeps each posted form-encoded body: stands for the hub's callback routes. */
async function formSink(): Promise<{ url: string; bodies: URLSearchParams[]; close(): Promise<void> }> {
  const bodies: URLSearchParams[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      expect(req.headers["content-type"]).toMatch(/^application\/x-www-form-urlencoded/);
      bodies.push(new URLSearchParams(body));
      res.end("OK");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms/token/callback`;
  return { url, bodies, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("delivery reports", () => {
  it("maps each AT status to pending, delivered or undelivered", () => {
    const expected: Record<AtDeliveryStatus, string> = {
      Sent: "pending",
      Submitted: "pending",
      Buffered: "pending",
      Success: "delivered",
      Rejected: "undelivered",
      Failed: "undelivered",
      AbsentSubscriber: "undelivered",
      Expired: "undelivered",
    };
    for (const [status, kind] of Object.entries(expected)) {
      expect(deliveryOutcome(status, undefined).kind).toBe(kind);
      expect(isKnownStatus(status)).toBe(true);
    }
    // A status word AT adds later neither fails nor resends a message.
    expect(deliveryOutcome("Queued", undefined)).toEqual({ kind: "pending" });
    expect(isKnownStatus("Queued")).toBe(false);
  });

  it("resends after failures that may pass, never after those that cannot", () => {
    for (const reason of ["DeliveryFailure", "AbsentSubscriber", "UserIsInactive", "SomethingNew", undefined])
      expect(deliveryOutcome("Failed", reason)).toMatchObject({ kind: "undelivered", retryable: true });
    for (const reason of PERMANENT_FAILURES)
      expect(deliveryOutcome("Rejected", reason)).toEqual({
        kind: "undelivered",
        retryable: false,
        reason: `Rejected: ${reason}`,
      });
  });

  it("parses the form the stand-in posts as AT does", async () => {
    const sink = await formSink();
    const standIn = await AtStandIn.start({ deliveryUrl: sink.url });
    try {
      const TO = "+254712345678";
      const answer = await fetch(`${standIn.url}/version1/messaging`, {
        method: "POST",
        headers: { apiKey: standIn.apiKey, Accept: "application/json" },
        body: new URLSearchParams({ username: standIn.username, to: TO, message: "hello" }),
      });
      const id = ((await answer.json()) as { SMSMessageData: { Recipients: { messageId: string }[] } }).SMSMessageData
        .Recipients[0].messageId;
      expect(await standIn.report(id, "Success")).toBe(200);
      expect(await standIn.report(id, "Failed", "DeliveryFailure")).toBe(200);
      const [success, failed] = sink.bodies.map(parseDeliveryReport);
      expect(success).toEqual({
        providerId: id,
        status: "Success",
        outcome: { kind: "delivered" },
        phoneNumber: TO,
        networkCode: "63902",
        failureReason: undefined,
        retryCount: 0,
      });
      expect(failed).toMatchObject({
        outcome: { kind: "undelivered", retryable: true, reason: "Failed: DeliveryFailure" },
        failureReason: "DeliveryFailure",
      });
    } finally {
      await standIn.close();
      await sink.close();
    }
  });

  it("answers a malformed report with the reason", () => {
    const parse = (fields: Record<string, string>) => parseDeliveryReport(new URLSearchParams(fields));
    expect(parse({ status: "Success" })).toEqual({ error: "delivery report without id" });
    expect(parse({ id: "ATXid_1", status: " " })).toEqual({ error: "delivery report without status" });
    expect(parse({ id: "ATXid_1", status: "Success", retryCount: "x" })).toEqual({
      error: 'retryCount expected a number, got "x"',
    });
    expect(parse({ id: "A".repeat(10_000), status: "Success" })).toMatchObject({ providerId: "A".repeat(200) });
  });
});

describe("inbound SMS", () => {
  it("recognizes each language's keywords whatever the case, spacing, accents and punctuation", () => {
    for (const language of LANGUAGES)
      for (const kind of ["resend", "balance"] as const)
        for (const word of KEYWORDS[language][kind]) {
          const variants = [word, word.toLowerCase(), `  ${word.split("").join(" ")}!  `, `${word}.`];
          for (const text of variants)
            expect({ text, command: recognizeCommand(text) }).toEqual({ text, command: { kind, language } });
        }
    expect(recognizeCommand("Tuma tena")).toEqual({ kind: "resend", language: "sw" });
    expect(recognizeCommand("reste a payer")).toEqual({ kind: "balance", language: "fr" });
    expect(recognizeCommand("Salió")).toEqual({ kind: "balance", language: "sw" });
  });

  it("gives nothing to anything else", () => {
    for (const text of ["", " ", "hello", "RESEND ME 5000 KES", "BALANCES", "STOP", "RESEND".repeat(20), "١٢٣"])
      expect(recognizeCommand(text)).toBeUndefined();
    for (const bad of [undefined, null, 5, {}]) expect(recognizeCommand(bad as string)).toBeUndefined();
  });

  it("answers RESEND at most RESEND_LIMIT times per window", () => {
    const now = 1_000_000_000;
    const hour = 3_600_000;
    expect(resendAllowed([], now)).toBe(true);
    expect(resendAllowed([now - hour, now - 2 * hour], now)).toBe(true);
    expect(resendAllowed([now - hour, now - 2 * hour, now - 3 * hour], now)).toBe(false);
    // Older than the window: forgotten.
    expect(resendAllowed([now - hour, now - 2 * hour, now - RESEND_LIMIT.windowMs], now)).toBe(true);
  });

  it("parses the form the stand-in posts as AT does, and refuses one without sender, recipient or id", async () => {
    const sink = await formSink();
    const standIn = await AtStandIn.start();
    try {
      expect(await standIn.inbound(sink.url, { from: "+254712345678", to: "22384", text: "Salio" })).toBe(200);
      const sms = parseInbound(sink.bodies[0]);
      expect(sms).toEqual({
        from: "+254712345678",
        to: "22384",
        text: "Salio",
        date: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
        id: expect.stringMatching(/^[0-9a-f]{32}$/),
        linkId: expect.stringMatching(/^link-/),
      });
      expect(recognizeCommand((sms as { text: string }).text)).toEqual({ kind: "balance", language: "sw" });
    } finally {
      await standIn.close();
      await sink.close();
    }
    for (const missing of ["from", "to", "id"]) {
      const form = new URLSearchParams({ from: "+254712345678", to: "22384", text: "x", id: "1" });
      form.delete(missing);
      expect(parseInbound(form)).toEqual({ error: `inbound SMS without ${missing}` });
    }
  });
});
