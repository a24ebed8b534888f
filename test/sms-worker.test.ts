// The outbox worker over the in-memory store, the real Africa's Talking driver and the stand-in: backoff and its
// cap, giving up, permanent rejections, a kill at every line of a send (at least once, the same text), delivery
// reports and the redelivery schedule, the running loop, and an hour-long outage over a fake clock.
import { africasTalking } from "../hub/sms/africastalking";
import { deliveryOutcome, type DeliveryReport } from "../hub/sms/delivery";
import type { OutboxStore } from "../hub/sms/outbox";
import { DEFAULT_POLICY, retryDelay } from "../hub/sms/outbox";
import { AtStandIn } from "../hub/sms/standin";
import { applyDeliveryReport, OutboxWorker, type OutboxEvent } from "../hub/sms/worker";
import { FakeClock, MemoryOutbox, runOutage, seededRandom } from "./sms.helpers";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const TEXT = "Solar code: *535 392 201 659 46# = 7 days. Reply BALANCE or RESEND.";

let standIn: AtStandIn;
let clock: FakeClock;
let store: MemoryOutbox;
let events: OutboxEvent[];

beforeEach(async () => {
  standIn = await AtStandIn.start();
  clock = new FakeClock();
  store = new MemoryOutbox();
  events = [];
});
afterEach(() => standIn.close());

function worker(over: Partial<ConstructorParameters<typeof OutboxWorker>[0]> = {}): OutboxWorker {
  return new OutboxWorker({
    store,
    gateway: africasTalking({ url: standIn.url, username: standIn.username, apiKey: standIn.apiKey }),
    clock,
    random: seededRandom(1),
    onEvent: (e) => events.push(e),
    ...over,
  });
}

function report(providerId: string, status: string, failureReason?: string): DeliveryReport {
  const outcome = deliveryOutcome(status, failureReason);
  return { providerId, status, outcome, phoneNumber: "", networkCode: undefined, failureReason, retryCount: 0 };
}

describe("retryDelay", () => {
  it("doubles from 5 s to the 5 min cap with half of each delay random", () => {
    const low = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => retryDelay(DEFAULT_POLICY, n, 0));
    const high = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => retryDelay(DEFAULT_POLICY, n, 0.999_999));
    expect(low).toEqual([2500, 5000, 10_000, 20_000, 40_000, 80_000, 150_000, 150_000, 150_000]);
    expect(high).toEqual([5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it("honours a gateway's Retry-After up to the cap", () => {
    expect(retryDelay(DEFAULT_POLICY, 1, 0, 60_000)).toBe(60_000);
    expect(retryDelay(DEFAULT_POLICY, 1, 0, 24 * HOUR)).toBe(5 * MINUTE);
  });
});

describe("OutboxWorker", () => {
  it("sends what is due and records the gateway's message id", async () => {
    const id = store.enqueue("+254712345678", TEXT, clock.now());
    store.enqueue("+254712345679", TEXT, clock.now() + MINUTE); // not due yet
    expect(await worker().runOnce()).toBe(1);
    expect(store.rows[id - 1]).toMatchObject({ state: "sent", attempts: 1, providerIds: [standIn.sent[0].messageId] });
    expect(standIn.sent.map((s) => [s.to, s.message])).toEqual([["+254712345678", TEXT]]);
    expect(events).toEqual([{ kind: "sent", id, attempts: 1, providerId: standIn.sent[0].messageId }]);
  });

  it("retries a transient failure with growing delays and sends when the gateway is back", async () => {
    const id = store.enqueue("+254712345678", TEXT, clock.now());
    standIn.fail({ kind: "http", status: 503 });
    const w = worker();
    const start = clock.now();
    const dueTimes: number[] = [];
    for (let i = 0; i < 8; i++) {
      expect(await w.runOnce()).toBe(1);
      dueTimes.push(store.rows[id - 1].dueAt - clock.now());
      clock.advance(store.rows[id - 1].dueAt - clock.now());
    }
    // Each delay within [base/2, base], base doubling from 5 s and capped at 5 min.
    dueTimes.forEach((delay, i) => {
      const base = Math.min(5000 * 2 ** i, 5 * MINUTE);
      expect(delay).toBeGreaterThanOrEqual(base / 2);
      expect(delay).toBeLessThanOrEqual(base);
    });
    expect(store.rows[id - 1]).toMatchObject({ state: "queued", attempts: 8, lastError: "HTTP 503 stand-in fault" });
    standIn.recover();
    expect(await w.runOnce()).toBe(1);
    expect(store.rows[id - 1]).toMatchObject({ state: "sent", attempts: 9 });
    expect(clock.now() - start).toBeLessThan(20 * MINUTE);
  });

  it("gives up a message the gateway refused for giveUpAfterMs, and says so", async () => {
    const id = store.enqueue("+254712345678", TEXT, clock.now());
    standIn.fail({ kind: "recipient", statusCode: 405 });
    const w = worker({ policy: { ...DEFAULT_POLICY, giveUpAfterMs: 2 * HOUR } }); // 48 h by default: ~580 requests
    while (store.rows[id - 1].state === "queued") {
      await w.runOnce();
      clock.advance(store.rows[id - 1].dueAt - clock.now());
    }
    const row = store.rows[id - 1];
    expect(row.state).toBe("failed");
    expect(row.lastError).toMatch(/^gave up after \d+ attempts over (1\.9|2\.0) h: 405 InsufficientBalance$/);
    expect(events.at(-1)).toMatchObject({ kind: "failed", id });
    expect(events.filter((e) => e.kind === "retry").length).toBe(row.attempts - 1);
  });

  it("fails at once what the gateway rejects for good", async () => {
    const id = store.enqueue("+2547", TEXT, clock.now());
    await worker().runOnce();
    expect(store.rows[id - 1]).toMatchObject({
      state: "failed",
      attempts: 1,
      lastError: "rejected: 403 InvalidPhoneNumber",
    });
  });

  it("treats a driver that throws as a transient failure", async () => {
    const id = store.enqueue("+254712345678", TEXT, clock.now());
    const throwing = { name: "broken", send: () => Promise.reject(new Error("boom")) };
    await worker({ gateway: throwing }).runOnce();
    expect(store.rows[id - 1]).toMatchObject({ state: "queued", lastError: "gateway threw: boom" });
  });

  it("sends again, the same text, when killed at any line of a send (at least once)", async () => {
    // A kill is a store call that never returns: the worker's promise is dropped and a new worker starts later.
    for (const killAt of ["claimDue", "send", "markSent", "none"] as const) {
      standIn.sent.length = 0;
      const killed = new MemoryOutbox();
      const id = killed.enqueue("+254712345678", TEXT, clock.now());
      const dying: OutboxStore = Object.create(killed);
      if (killAt === "claimDue")
        dying.claimDue = async (...args) => {
          await killed.claimDue(...args); // claimed, then the process dies before sending
          return new Promise(() => {});
        };
      if (killAt === "markSent" || killAt === "send") dying.markSent = () => new Promise(() => {});
      const gateway = africasTalking({ url: standIn.url, username: standIn.username, apiKey: standIn.apiKey });
      if (killAt === "send") standIn.fail({ kind: "lose-answer" }, 1); // sent, the answer lost with the process
      void new OutboxWorker({ store: dying, gateway, clock }).runOnce();
      await new Promise((resolve) => setTimeout(resolve, 200));
      // The lease lapses; a fresh worker on the same store finishes the job.
      clock.advance(DEFAULT_POLICY.leaseMs + 10 * MINUTE);
      const fresh = new OutboxWorker({ store: killed, gateway, clock });
      while (killed.rows[0].state === "queued") {
        await fresh.runOnce();
        clock.advance(10 * MINUTE);
      }
      expect({ killAt, state: killed.rows[id - 1].state }).toEqual({ killAt, state: "sent" });
      expect(standIn.sent.length).toBeGreaterThanOrEqual(killAt === "claimDue" || killAt === "none" ? 1 : 2);
      expect(standIn.sent.every((s) => s.message === TEXT && s.to === "+254712345678")).toBe(true);
    }
  });
});

describe("applyDeliveryReport", () => {
  async function sent(): Promise<{ id: number; providerId: string }> {
    const id = store.enqueue("+254712345678", TEXT, clock.now());
    await worker().runOnce();
    return { id, providerId: store.rows[id - 1].providerIds.at(-1)! };
  }
  const apply = (r: DeliveryReport) => applyDeliveryReport(store, r, { clock, onEvent: (e) => events.push(e) });

  it("marks a message delivered on Success and leaves it sent while pending", async () => {
    const { id, providerId } = await sent();
    expect(await apply(report(providerId, "Buffered"))).toMatchObject({ id, state: "sent" });
    expect(await apply(report(providerId, "Success"))).toMatchObject({ id, state: "delivered" });
    expect(store.rows[id - 1].reports).toEqual(["Buffered", "Success"]);
    expect(events.at(-1)).toEqual({ kind: "delivered", id });
  });

  it("ignores a report for no message it sent", async () => {
    expect(await apply(report("ATXid_unknown", "Success"))).toBeUndefined();
  });

  it("sends the same text again on the redelivery schedule after failures that may pass, then fails it", async () => {
    const { id } = await sent();
    const w = worker();
    for (const delay of DEFAULT_POLICY.redeliveryDelaysMs) {
      const providerId = store.rows[id - 1].providerIds.at(-1)!;
      await apply(report(providerId, "Failed", "AbsentSubscriber"));
      await apply(report(providerId, "Failed", "AbsentSubscriber")); // AT repeats a report: no second round
      expect(store.rows[id - 1]).toMatchObject({ state: "queued", dueAt: clock.now() + delay });
      clock.advance(delay);
      expect(await w.runOnce()).toBe(1);
    }
    const last = store.rows[id - 1].providerIds.at(-1)!;
    await apply(report(last, "Expired"));
    expect(store.rows[id - 1]).toMatchObject({
      state: "failed",
      round: 4,
      lastError: "undelivered after 4 redeliveries: Expired",
    });
    expect(standIn.sent.map((s) => s.message)).toEqual(Array(5).fill(TEXT));
    expect(events.filter((e) => e.kind === "redeliver").map((e) => (e as { round: number }).round)).toEqual([
      1, 2, 3, 4,
    ]);
  });

  it("fails at once after a failure no resend can pass, and a late Success still counts", async () => {
    const { id, providerId } = await sent();
    await apply(report(providerId, "Rejected", "UserInBlackList"));
    expect(store.rows[id - 1]).toMatchObject({ state: "failed", lastError: "Rejected: UserInBlackList" });
    await apply(report(providerId, "Success"));
    expect(store.rows[id - 1].state).toBe("delivered");
  });

  it("does not reschedule on a late failure of an earlier send", async () => {
    const { id, providerId: first } = await sent();
    await apply(report(first, "Failed"));
    clock.advance(HOUR);
    await worker().runOnce();
    const second = store.rows[id - 1].providerIds.at(-1)!;
    expect(second).not.toBe(first);
    await apply(report(first, "Failed"));
    expect(store.rows[id - 1]).toMatchObject({ state: "sent", round: 1 });
  });
});

describe("the running loop", () => {
  it("sends a message queued while it sleeps as soon as it is woken, and stops cleanly", async () => {
    const w = worker({ clock: undefined, pollMs: 60_000 }); // the system clock: a real sleep of a minute
    w.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    store.enqueue("+254712345678", TEXT, Date.now());
    const before = Date.now();
    w.wake();
    while (store.rows[0].state === "queued") await new Promise((resolve) => setTimeout(resolve, 20));
    expect(Date.now() - before).toBeLessThan(30_000);
    await w.stop();
    await w.stop();
    expect(store.rows[0].state).toBe("sent");
  });

  it("keeps running through store errors", async () => {
    let calls = 0;
    const flaky: OutboxStore = Object.create(store);
    flaky.claimDue = async (...args) => {
      if (++calls <= 2) throw new Error("SQLITE_BUSY");
      return store.claimDue(...args);
    };
    store.enqueue("+254712345678", TEXT, clock.now());
    const w = worker({ store: flaky });
    w.start();
    while (store.rows[0].state === "queued") await new Promise((resolve) => setTimeout(resolve, 20));
    await w.stop();
    expect(events.filter((e) => e.kind === "store-error")).toHaveLength(2);
  });
});

describe("an hour-long gateway outage", () => {
  it("is ridden through: every message sent, none failed, all caught up within the 5-minute cap", async () => {
    const result = await runOutage(20, 20);
    expect(result).toMatchObject({ messages: 40, sent: 40, failed: 0, wrongTexts: 0 });
    expect(result.catchUpMs).toBeLessThanOrEqual(DEFAULT_POLICY.maxDelayMs + 60_000);
    // Backoff, not hammering: at most ~one request per message per 2.5 minutes once the cap is reached.
    expect(result.requestsDuringOutage).toBeLessThan(40 * 30);
    expect(result.maxAttempts).toBeLessThanOrEqual(30);
  });
});
