// The Africa's Talking driver against the local stand-in (its real wire format): accepted sends, the gateway failing
// (HTTP 5xx, dropped connections, no answer, an answer lost after sending) and recovering, per-recipient status
// codes; the answer rules alone; the SOLKEY_SMS_* settings; the log driver.
import { UsageError } from "../fleet/errors";
import { africasTalking, interpretSendAnswer, RECIPIENT_STATUS } from "../hub/sms/africastalking";
import { smsConfig, smsGateway } from "../hub/sms/config";
import { logGateway, type SmsGateway } from "../hub/sms/gateway";
import { AtStandIn } from "../hub/sms/standin";

const TO = "+254712345678";
let standIn: AtStandIn;
let gateway: SmsGateway;

beforeEach(async () => {
  standIn = await AtStandIn.start({ username: "solco", apiKey: "k-123" });
  gateway = africasTalking({
    url: `${standIn.url}/`,
    username: "solco",
    apiKey: "k-123",
    from: "SOLCO",
    timeoutMs: 5000,
  });
});
afterEach(() => standIn.close());

describe("africasTalking against the stand-in", () => {
  it("sends the form AT expects and returns the recipient's messageId", async () => {
    const result = await gateway.send({ to: TO, text: "Solar code: *123 456 789# = 7 days." });
    expect(result).toEqual({ kind: "accepted", providerId: expect.stringMatching(/^ATXid_[0-9a-f]{32}$/) });
    expect(standIn.sent).toEqual([
      {
        messageId: (result as { providerId: string }).providerId,
        to: TO,
        message: "Solar code: *123 456 789# = 7 days.",
        from: "SOLCO",
        parts: 1,
      },
    ]);
  });

  it("leaves `from` out when no sender ID is configured (the account's default sender)", async () => {
    const plain = africasTalking({ url: standIn.url, username: "solco", apiKey: "k-123" });
    expect((await plain.send({ to: TO, text: "hi" })).kind).toBe("accepted");
    expect(standIn.sent[0].from).toBeUndefined();
  });

  it("fails transiently while the gateway fails, and sends once it recovers", async () => {
    const faults = [
      [{ kind: "http", status: 503, body: "Service Unavailable" }, /^HTTP 503 Service Unavailable$/],
      [{ kind: "http", status: 500 }, /^HTTP 500/],
      [{ kind: "http", status: 429 }, /^HTTP 429/],
      [{ kind: "reset" }, /^network: /],
      [{ kind: "recipient", statusCode: 500 }, /^500 InternalServerError$/],
      [{ kind: "recipient", statusCode: 405 }, /^405 InsufficientBalance$/],
      [{ kind: "recipient", statusCode: 402 }, /^402 InvalidSenderId$/],
    ] as const;
    for (const [fault, reason] of faults) {
      standIn.fail(fault);
      const result = await gateway.send({ to: TO, text: "x" });
      expect({ fault, result }).toEqual({ fault, result: { kind: "failed", reason: expect.stringMatching(reason) } });
      standIn.recover();
      expect((await gateway.send({ to: TO, text: "x" })).kind).toBe("accepted");
    }
    expect(standIn.sent).toHaveLength(faults.length);
  });

  it("gives up on a request with no answer after the timeout, and the next one goes through", async () => {
    const impatient = africasTalking({ url: standIn.url, username: "solco", apiKey: "k-123", timeoutMs: 500 });
    standIn.fail({ kind: "hang" }, 1);
    expect(await impatient.send({ to: TO, text: "x" })).toEqual({ kind: "failed", reason: "no answer within 500 ms" });
    expect((await impatient.send({ to: TO, text: "x" })).kind).toBe("accepted");
    expect(standIn.sent).toHaveLength(1);
  });

  it("fails only as many requests as the fault was armed for", async () => {
    standIn.fail({ kind: "http", status: 502 }, 2);
    const kinds = [];
    for (let i = 0; i < 4; i++) kinds.push((await gateway.send({ to: TO, text: "x" })).kind);
    expect(kinds).toEqual(["failed", "failed", "accepted", "accepted"]);
    expect(standIn.requests).toBe(4);
  });

  it("reports a lost answer as a failure although the SMS went out (so a retry repeats it: at least once)", async () => {
    standIn.fail({ kind: "lose-answer" }, 1);
    expect((await gateway.send({ to: TO, text: "same" })).kind).toBe("failed");
    expect((await gateway.send({ to: TO, text: "same" })).kind).toBe("accepted");
    expect(standIn.sent.map((s) => s.message)).toEqual(["same", "same"]);
  });

  it("rejects for good what no retry can send: a bad number, a blacklist, do-not-disturb", async () => {
    expect(await gateway.send({ to: "+2547", text: "x" })).toEqual({
      kind: "rejected",
      reason: "403 InvalidPhoneNumber",
    });
    for (const statusCode of [404, 406, 409, 502]) {
      standIn.fail({ kind: "recipient", statusCode, numbers: [TO] });
      expect(await gateway.send({ to: TO, text: "x" })).toEqual({
        kind: "rejected",
        reason: `${statusCode} ${RECIPIENT_STATUS[statusCode].name}`,
      });
    }
    expect(standIn.sent).toEqual([]);
  });

  it("names the settings to check when the credentials are refused (and keeps the message for later)", async () => {
    const wrong = africasTalking({ url: standIn.url, username: "solco", apiKey: "wrong" });
    const result = await wrong.send({ to: TO, text: "x" });
    expect(result).toEqual({ kind: "failed", reason: expect.stringContaining("check SOLKEY_SMS_USERNAME") });
    const other = africasTalking({ url: standIn.url, username: "someone", apiKey: "k-123" });
    expect((await other.send({ to: TO, text: "x" })).kind).toBe("failed");
  });

  it("fails transiently when nothing listens at the URL", async () => {
    await standIn.close();
    expect(await gateway.send({ to: TO, text: "x" })).toEqual({
      kind: "failed",
      reason: expect.stringMatching(/^network: (ECONNREFUSED|.+)/),
    });
  });

  it("counts the parts the stand-in bills like AT (messageParts)", async () => {
    await gateway.send({ to: TO, text: "a".repeat(161) });
    await gateway.send({ to: TO, text: "ê".repeat(71) });
    expect(standIn.sent.map((s) => s.parts)).toEqual([2, 2]);
  });
});

describe("interpretSendAnswer", () => {
  const body = (recipients: object[], message = "Sent to 1/1 Total Cost: KES 0.8000") =>
    JSON.stringify({ SMSMessageData: { Message: message, Recipients: recipients } });
  const recipient = (statusCode: number, number = TO, messageId = "ATXid_1") => ({
    statusCode,
    number,
    status: RECIPIENT_STATUS[statusCode]?.name ?? "Other",
    cost: "KES 0.8000",
    messageId,
  });

  it("accepts AT's success codes 100, 101 and 102", () => {
    for (const code of [100, 101, 102])
      expect(interpretSendAnswer(201, null, body([recipient(code)]), TO)).toEqual({
        kind: "accepted",
        providerId: "ATXid_1",
      });
  });

  it("classifies every documented recipient code, and retries an unknown one", () => {
    for (const [code, { kind }] of Object.entries(RECIPIENT_STATUS))
      expect(interpretSendAnswer(201, null, body([recipient(Number(code))]), TO).kind).toBe(kind);
    expect(interpretSendAnswer(201, null, body([recipient(499)]), TO)).toEqual({
      kind: "failed",
      reason: "unknown recipient status 499 Other",
    });
  });

  it("reads the recipient with the number sent to", () => {
    const answer = body([recipient(406, "+254700000001", "None"), recipient(101, TO, "ATXid_2")]);
    expect(interpretSendAnswer(201, null, answer, TO)).toEqual({ kind: "accepted", providerId: "ATXid_2" });
  });

  it("treats an answer with no recipient by its Message: a bad number for good, a bad sender ID for later", () => {
    expect(interpretSendAnswer(201, null, body([], "InvalidPhoneNumber"), TO).kind).toBe("rejected");
    expect(interpretSendAnswer(201, null, body([], "InvalidSenderId"), TO)).toEqual({
      kind: "failed",
      reason: "no recipient accepted: InvalidSenderId",
    });
  });

  it("retries what cannot be read, and honours Retry-After", () => {
    expect(interpretSendAnswer(201, null, "<xml/>", TO).kind).toBe("failed");
    expect(interpretSendAnswer(201, null, "{}", TO).kind).toBe("failed");
    expect(interpretSendAnswer(201, null, body([recipient(101, TO, "None")]), TO).kind).toBe("failed");
    expect(interpretSendAnswer(429, "30", "Too Many Requests", TO)).toEqual({
      kind: "failed",
      reason: "HTTP 429 Too Many Requests",
      retryAfterMs: 30_000,
    });
    expect(interpretSendAnswer(302, null, "", TO).kind).toBe("failed");
    expect(interpretSendAnswer(400, null, "Request is missing required form field 'to'", TO).kind).toBe("rejected");
  });
});

describe("smsConfig", () => {
  const AT = {
    SOLKEY_SMS_URL: "https://api.sandbox.africastalking.com",
    SOLKEY_SMS_USERNAME: "sandbox",
    SOLKEY_SMS_API_KEY: "k",
  };

  it("reads Africa's Talking's settings, the sender ID optional", () => {
    expect(smsConfig({ ...AT, SOLKEY_SMS_FROM: " SOLCO " })).toEqual({
      driver: "africastalking",
      url: AT.SOLKEY_SMS_URL,
      username: "sandbox",
      apiKey: "k",
      from: "SOLCO",
    });
    expect(smsConfig(AT)).toMatchObject({ from: undefined });
    expect(smsConfig({ SOLKEY_SMS_DRIVER: "log" })).toEqual({ driver: "log" });
  });

  it("stops with one line naming the missing or bad setting", () => {
    for (const name of Object.keys(AT)) {
      const env: Record<string, string> = { ...AT, [name]: " " };
      expect(() => smsConfig(env)).toThrow(new RegExp(`^${name} is not set: .+SOLKEY_SMS_DRIVER=log`));
      expect(() => smsConfig(env)).toThrow(UsageError);
    }
    expect(() => smsConfig({ ...AT, SOLKEY_SMS_DRIVER: "twilio" })).toThrow(
      'SOLKEY_SMS_DRIVER expected one of africastalking, log, got "twilio"',
    );
    expect(() => smsConfig({ ...AT, SOLKEY_SMS_URL: "api.africastalking.com" })).toThrow(/expected a URL/);
    // The API key goes in a header: plain http only to the loopback (a local stand-in).
    expect(() => smsConfig({ ...AT, SOLKEY_SMS_URL: "http://api.africastalking.com" })).toThrow(/must be https/);
    expect(smsConfig({ ...AT, SOLKEY_SMS_URL: "http://127.0.0.1:8099" })).toMatchObject({ driver: "africastalking" });
  });

  it("builds the gateway the settings name", async () => {
    expect(smsGateway(smsConfig(AT)).name).toBe("africastalking");
    const lines: string[] = [];
    const log = smsGateway({ driver: "log" }, (line) => lines.push(line));
    expect(log.name).toBe("log");
    expect(await log.send({ to: TO, text: "Solar code: *123#" })).toEqual({
      kind: "accepted",
      providerId: expect.stringMatching(/^log-[0-9a-f-]{36}$/),
    });
    expect(lines).toEqual([expect.stringMatching(/^SMS to \+254712345678 \(1 x gsm7, log-.+\): Solar code: \*123#$/)]);
  });

  it("gives every logged message its own id", async () => {
    const log = logGateway(() => {});
    const ids = await Promise.all([1, 2, 3].map(() => log.send({ to: TO, text: "x" })));
    expect(new Set(ids.map((r) => (r as { providerId: string }).providerId)).size).toBe(3);
  });
});
