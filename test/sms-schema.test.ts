// The SMS outbox tables (fleet/smsschema.ts, fleet migration 5): they apply on a fleet database and their constraints
// refuse rows the outbox contract forbids.
import { openFleet, type Db } from "../fleet/database";

let db: Db;
beforeEach(() => {
  db = openFleet(":memory:");
});
afterEach(() => db.close());

const insert = (fields: Record<string, unknown> = {}) =>
  db
    .prepare(
      `INSERT INTO sms_outbox (purpose, to_phone, language, text, state, provider_id, created_at, round_started_at,
         due_at, updated_at) VALUES (@purpose, @to_phone, @language, @text, @state, @provider_id, 0, 0, 0, 0)`,
    )
    .run({
      purpose: "code",
      to_phone: "+254712345678",
      language: "en",
      text: "x",
      state: "queued",
      provider_id: null,
      ...fields,
    }).lastInsertRowid as number;

describe("SMS_MIGRATION", () => {
  it("holds a queued message and claims it through the due index", () => {
    const id = insert();
    const plan = db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT message_id FROM sms_outbox WHERE state = 'queued' AND due_at <= 1 ORDER BY due_at",
      )
      .all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join(" ")).toMatch(
      /^SEARCH sms_outbox USING (COVERING )?INDEX sms_outbox_by_state \(state=\? AND due_at<\?\)$/, // no sort step
    );
    expect(db.prepare("SELECT state, attempts, round FROM sms_outbox WHERE message_id = ?").get(id)).toEqual({
      state: "queued",
      attempts: 0,
      round: 0,
    });
  });

  it("refuses rows the outbox forbids", () => {
    for (const bad of [
      { to_phone: "0712345678" }, // not E.164
      { to_phone: "+0712345678" },
      { language: "de" },
      { purpose: "promo" },
      { text: "" },
      { state: "sending" },
      { state: "sent" }, // sent without a provider id
    ])
      expect(() => insert(bad)).toThrow(/CHECK constraint failed/);
    expect(insert({ state: "sent", provider_id: "ATXid_1" })).toBeGreaterThan(0);
  });

  it("keeps one send per provider id, so a report finds one message", () => {
    const id = insert();
    const event = db.prepare("INSERT INTO sms_events (message_id, at, kind, provider_id) VALUES (?, 0, ?, ?)");
    event.run(id, "sent", "ATXid_1");
    event.run(id, "report", "ATXid_1");
    expect(() => event.run(id, "sent", "ATXid_1")).toThrow(/UNIQUE/);
    expect(() => event.run(id + 1, "sent", "ATXid_2")).toThrow(/FOREIGN KEY/);
  });

  it("handles a repeated inbound callback once (AT's id is the key)", () => {
    const inbound = db.prepare(
      "INSERT INTO sms_inbound (inbound_id, from_phone, to_code, text, command, answered, received_at) VALUES (?, '+254712345678', '22384', 'SALIO', 'balance', 1, 0)",
    );
    inbound.run("abc");
    expect(() => inbound.run("abc")).toThrow(/UNIQUE|PRIMARY KEY/);
  });
});
