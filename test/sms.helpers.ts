// Test doubles for the SMS outbox: an in-memory OutboxStore (the loop's logic only; the hub's runs on the fleet
// database), a fake clock that jumps ahead when slept on, and the hour-long gateway outage run by the test and the
// benchmark alike.
import type { DeliveryReport } from "../hub/sms/delivery";
import type { DeliveryRecord, OutboxMessage, OutboxState, OutboxStore } from "../hub/sms/outbox";
import { africasTalking } from "../hub/sms/africastalking";
import { AtStandIn } from "../hub/sms/standin";
import { OutboxWorker, type Clock, type OutboxEvent } from "../hub/sms/worker";

export interface MemoryRow {
  id: number;
  to: string;
  text: string;
  state: OutboxState;
  attempts: number;
  round: number;
  createdAt: number;
  roundStartedAt: number;
  dueAt: number;
  leaseUntil: number;
  providerIds: string[];
  lastError: string | null;
  reports: string[];
}

/** OutboxStore over an array, with the SQL store's semantics (outbox.ts): for unit tests of the worker's logic. */
export class MemoryOutbox implements OutboxStore {
  readonly rows: MemoryRow[] = [];

  enqueue(to: string, text: string, now: number): number {
    const id = this.rows.length + 1;
    this.rows.push({
      ...{ id, to, text, state: "queued", attempts: 0, round: 0, createdAt: now, roundStartedAt: now, dueAt: now },
      ...{ leaseUntil: 0, providerIds: [], lastError: null, reports: [] },
    });
    return id;
  }

  async claimDue(now: number, limit: number, leaseMs: number): Promise<readonly OutboxMessage[]> {
    const due = this.rows
      .filter((r) => r.state === "queued" && r.dueAt <= now && r.leaseUntil <= now)
      .sort((a, b) => a.dueAt - b.dueAt || a.id - b.id)
      .slice(0, limit);
    return due.map((r) => {
      r.leaseUntil = now + leaseMs;
      r.attempts++;
      return {
        id: r.id,
        to: r.to,
        text: r.text,
        attempts: r.attempts,
        round: r.round,
        roundStartedAt: r.roundStartedAt,
      };
    });
  }

  async markSent(id: number, _gateway: string, providerId: string): Promise<void> {
    const r = this._row(id);
    Object.assign(r, { state: "sent", leaseUntil: 0 });
    r.providerIds.push(providerId);
  }

  async retryAt(id: number, at: number, reason: string): Promise<void> {
    Object.assign(this._row(id), { dueAt: at, leaseUntil: 0, lastError: reason });
  }

  async markFailed(id: number, reason: string): Promise<void> {
    Object.assign(this._row(id), { state: "failed", leaseUntil: 0, lastError: reason });
  }

  async recordDelivery(report: DeliveryReport): Promise<DeliveryRecord | undefined> {
    const r = this.rows.find((row) => row.providerIds.includes(report.providerId));
    if (r === undefined) return undefined;
    r.reports.push(report.status);
    if (report.outcome.kind === "delivered") r.state = "delivered";
    return { id: r.id, state: r.state, providerId: r.providerIds.at(-1) ?? null, round: r.round };
  }

  async redeliver(id: number, providerId: string, at: number): Promise<boolean> {
    const r = this._row(id);
    if (r.state !== "sent" || r.providerIds.at(-1) !== providerId) return false;
    Object.assign(r, { state: "queued", round: r.round + 1, roundStartedAt: at, dueAt: at, leaseUntil: 0 });
    return true;
  }

  private _row(id: number): MemoryRow {
    const r = this.rows[id - 1];
    if (r === undefined) throw new Error(`no message ${id}`);
    return r;
  }
}

/** A clock whose sleep moves time ahead at once (after letting real I/O run), firing timed actions on the way. */
export class FakeClock implements Clock {
  private readonly actions: { at: number; run: () => void }[] = [];

  constructor(private t = Date.UTC(2026, 11, 5, 6, 0, 0)) {}

  now(): number {
    return this.t;
  }

  /** Runs `run` once the clock reaches `at`. */
  at(at: number, run: () => void): void {
    this.actions.push({ at, run });
    this.actions.sort((a, b) => a.at - b.at);
  }

  async sleep(ms: number): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    this.advance(ms);
  }

  advance(ms: number): void {
    const until = this.t + ms;
    while (this.actions.length > 0 && this.actions[0].at <= until) {
      const action = this.actions.shift()!;
      this.t = Math.max(this.t, action.at);
      action.run();
    }
    this.t = until;
  }
}

export interface OutageResult {
  readonly messages: number;
  readonly gatewayRequests: number;
  readonly requestsDuringOutage: number;
  readonly maxAttempts: number;
  readonly meanAttempts: number;
  /** From the gateway's recovery to the last message accepted. */
  readonly catchUpMs: number;
  readonly failed: number;
  readonly sent: number;
  /** SMS the stand-in received with a text other than its outbox row's: must be 0. */
  readonly wrongTexts: number;
  readonly events: readonly OutboxEvent[];
}

const MINUTE = 60_000;

/**
 * A one-hour gateway outage over a fake clock and the real stand-in: 20 min of HTTP 503, 20 of dropped connections,
 * 20 of per-recipient 500 InternalServerError; `atStart` messages queued at the start, `during` more spread over the
 * outage. The gateway returns at 60 min and the worker runs until every message is sent.
 */
export async function runOutage(atStart = 100, during = 100): Promise<OutageResult> {
  const standIn = await AtStandIn.start();
  try {
    const clock = new FakeClock();
    const start = clock.now();
    const store = new MemoryOutbox();
    const events: OutboxEvent[] = [];
    const worker = new OutboxWorker({
      store,
      gateway: africasTalking({ url: standIn.url, username: standIn.username, apiKey: standIn.apiKey }),
      clock,
      random: seededRandom(7),
      onEvent: (e) => {
        events.push(e);
        if (e.kind === "sent") lastSentAt = clock.now();
      },
    });
    let requestsDuringOutage = 0;
    let lastSentAt = start;
    standIn.fail({ kind: "http", status: 503, body: "Service Unavailable" });
    clock.at(start + 20 * MINUTE, () => standIn.fail({ kind: "reset" }));
    clock.at(start + 40 * MINUTE, () => standIn.fail({ kind: "recipient", statusCode: 500 }));
    clock.at(start + 60 * MINUTE, () => {
      requestsDuringOutage = standIn.requests;
      standIn.recover();
    });
    for (let i = 0; i < atStart; i++) store.enqueue(phoneNumber(i), `Solar code: *${100 + i}# = 7 days.`, start);
    for (let i = 0; i < during; i++)
      clock.at(start + i * Math.floor((60 * MINUTE) / during), () =>
        store.enqueue(phoneNumber(atStart + i), `Solar code: *${900 + i}# = 1 day.`, clock.now()),
      );
    while (store.rows.length < atStart + during || store.rows.some((r) => r.state === "queued")) {
      if ((await worker.runOnce()) === 0) await clock.sleep(1000);
      if (clock.now() - start > 72 * 3_600_000) break;
    }
    const byId = new Map(store.rows.map((r) => [r.to, r.text]));
    const attempts = store.rows.map((r) => r.attempts);
    return {
      messages: store.rows.length,
      gatewayRequests: standIn.requests,
      requestsDuringOutage,
      maxAttempts: Math.max(...attempts),
      meanAttempts: attempts.reduce((a, b) => a + b, 0) / attempts.length,
      catchUpMs: lastSentAt - (start + 60 * MINUTE),
      failed: store.rows.filter((r) => r.state === "failed").length,
      sent: events.filter((e) => e.kind === "sent").length,
      wrongTexts: standIn.sent.filter((s) => byId.get(s.to) !== s.message).length,
      events,
    };
  } finally {
    await standIn.close();
  }
}

export function phoneNumber(i: number): string {
  return `+2547${String(10_000_000 + i).padStart(8, "0")}`;
}

/** Mulberry32: a reproducible jitter. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
