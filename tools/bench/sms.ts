// SMS (issue 16): messages per second through the outbox worker, the Africa's Talking driver and the local stand-in
// over loopback; what an hour-long gateway outage does (fake clock, real stand-in); segment counts per template.
import fs from "fs";
import os from "os";
import path from "path";
import { openFleet } from "../../fleet/database";
import { FRAMES, type FrameName } from "../../firmware/io/framing";
import { africasTalking } from "../../hub/sms/africastalking";
import { countSegments } from "../../hub/sms/gsm";
import type { OutboxStore } from "../../hub/sms/outbox";
import { SqliteOutbox } from "../../hub/sms/sqlite";
import { AtStandIn } from "../../hub/sms/standin";
import { LANGUAGES, MAX_DAYS, MAX_MINOR, renderSms, type SmsTemplate } from "../../hub/sms/templates";
import { OutboxWorker } from "../../hub/sms/worker";
import { MemoryOutbox, phoneNumber, runOutage } from "../../test/sms.helpers";
import { printTable, type Cell } from "./table";

export const name = "sms";

const MESSAGES = 2_000;
const TEXT = "Solar code: *535 392 201 659 46# = 30 days. Left to pay: KES 12,500. Reply BALANCE or RESEND.";

export async function run(): Promise<void> {
  const rows: Cell[][] = [];
  for (const batch of [1, 16, 64])
    rows.push([String(batch), await _throughput(batch, _memoryStore()), await _throughput(batch, _fleetStore())]);
  printTable(
    "SMS through the outbox (worker + Africa's Talking driver + stand-in over loopback)",
    ["batch", "messages/s, in memory", "messages/s, fleet database"],
    rows,
    [
      `${MESSAGES} messages queued at once; a message counts when the stand-in has answered 201 and the store marked it sent`,
      "batch: messages claimed and sent concurrently per worker round (default 32). Fleet database: the hub's",
      "  SqliteOutbox (WAL, synchronous=FULL; results settled in one turn share a commit). Node fetch keep-alive to",
      "  the stand-in.",
    ],
  );
  const o = await runOutage(100, 100);
  printTable(
    "A one-hour gateway outage (fake clock, real stand-in and driver)",
    ["figure", "value"],
    [
      ["messages (100 queued at the start, 100 during)", o.messages],
      ["sent after the gateway returned", o.sent],
      ["failed", o.failed],
      ["last message sent, after the gateway returned (s)", o.catchUpMs / 1000],
      ["gateway requests during the outage", o.requestsDuringOutage],
      ["attempts per message, mean / max", `${o.meanAttempts.toFixed(1)} / ${o.maxAttempts}`],
      ["SMS whose text differs from its outbox row", o.wrongTexts],
    ],
    [
      "20 min HTTP 503, 20 min dropped connections, 20 min per-recipient 500; backoff 5 s doubling to 5 min, equal jitter",
    ],
  );
  _segmentTable();
}

/** An outbox to measure: the store, how a message is queued, how many are not yet sent, and cleanup. */
interface BenchOutbox {
  readonly store: OutboxStore;
  enqueue(i: number): void;
  unsent(): number;
  close(): void;
}

function _memoryStore(): BenchOutbox {
  const store = new MemoryOutbox();
  return {
    store,
    enqueue: (i) => store.enqueue(phoneNumber(i), TEXT, Date.now()),
    unsent: () => store.rows.filter((r) => r.state !== "sent").length,
    close: () => {},
  };
}

function _fleetStore(): BenchOutbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-bench-sms-"));
  const file = path.join(dir, "fleet.db");
  const db = openFleet(file, { create: true });
  const insert = db.prepare(
    `INSERT INTO sms_outbox (purpose, to_phone, language, text, created_at, round_started_at, due_at, updated_at)
     VALUES ('code', ?, 'en', ?, ?, ?, ?, ?)`,
  );
  return {
    store: new SqliteOutbox(db, file),
    enqueue: (i) => {
      const now = Date.now();
      insert.run(phoneNumber(i), TEXT, now, now, now, now);
    },
    unsent: () => (db.prepare("SELECT count(*) AS n FROM sms_outbox WHERE state <> 'sent'").get() as { n: number }).n,
    close: () => {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function _throughput(batch: number, outbox: BenchOutbox): Promise<number> {
  const standIn = await AtStandIn.start();
  try {
    const gateway = africasTalking({ url: standIn.url, username: standIn.username, apiKey: standIn.apiKey });
    const worker = new OutboxWorker({ store: outbox.store, gateway, batch });
    for (let i = 0; i < 50; i++) outbox.enqueue(i); // warm-up: connections, JIT
    while ((await worker.runOnce()) > 0);
    const start = performance.now();
    for (let i = 0; i < MESSAGES; i++) outbox.enqueue(i);
    while ((await worker.runOnce()) > 0);
    const seconds = (performance.now() - start) / 1000;
    if (outbox.unsent() > 0) throw new Error("bench: a message was not sent");
    return MESSAGES / seconds;
  } finally {
    outbox.close();
    await standIn.close();
  }
}

function _segmentTable(): void {
  const KES = (minor: number) => ({ minor, currency: "KES" });
  const usual = (frame: FrameName, keycode: string): SmsTemplate[] => [
    { kind: "code", code: { keycode, frame }, days: 30, left: KES(1_250_000) },
    { kind: "unlock", code: { keycode, frame } },
  ];
  const longest = (frame: FrameName) => {
    const spec = FRAMES[frame];
    return (spec.start ?? "") + spec.digits.at(-1)!.repeat(spec.maxDigits) + (spec.end ?? "");
  };
  const cases: [string, SmsTemplate][] = [
    ["code, Nexus full 14 digits, 30 days", usual("nexus-full", "*53539220165946#")[0]],
    ["code, OpenPAYGO 9 digits, 30 days", usual("openpaygo", "921545796")[0]],
    ["unlock, Nexus full", usual("nexus-full", "*53539220165946#")[1]],
    ["balance", { kind: "balance", paid: KES(150_050), left: KES(1_250_000) }],
    [
      "code, worst case (30-key code, 9,999 days, 10^12 minor)",
      {
        kind: "code",
        code: { keycode: longest("nexus-full"), frame: "nexus-full" },
        days: MAX_DAYS,
        left: KES(MAX_MINOR - 1),
      },
    ],
  ];
  const rows = cases.map(([label, message]) => [
    label,
    ...LANGUAGES.map((language) => {
      const c = countSegments(renderSms(language, message));
      return `${c.units} ${c.encoding} = ${c.segments}`;
    }),
  ]);
  printTable(
    "SMS segments per template (septets or UCS-2 units, encoding = segments)",
    ["template", ...LANGUAGES],
    rows,
    [
      "GSM-7: 160 septets in one SMS, 153 per part; one character outside GSM 03.38 turns it to UCS-2 (70, 67 per part)",
    ],
  );
}
