// The outbox worker: a short loop that claims due messages, sends each through the gateway and records the result;
// and what a delivery report does to a message. Killable at any line: a claim not finished lapses and the message
// is sent again, the same stored text (at least once, never a different SMS).
import type { DeliveryReport } from "./delivery";
import type { SendResult, SmsGateway } from "./gateway";
import { DEFAULT_POLICY, retryDelay } from "./outbox";
import type { DeliveryRecord, OutboxMessage, OutboxStore, RetryPolicy } from "./outbox";

/** Time for the worker: the system's, or a test's fake one that jumps ahead when slept on. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts (never rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done);
    }),
};

/** What happened to a message, one event per change, for the log (no text: it holds a code). */
export type OutboxEvent =
  | { readonly kind: "sent"; readonly id: number; readonly attempts: number; readonly providerId: string }
  | {
      readonly kind: "retry";
      readonly id: number;
      readonly attempts: number;
      readonly at: number;
      readonly reason: string;
    }
  /** Given up: the operator must see it (a customer paid and has no code by SMS). */
  | { readonly kind: "failed"; readonly id: number; readonly attempts: number; readonly reason: string }
  | {
      readonly kind: "redeliver";
      readonly id: number;
      readonly round: number;
      readonly at: number;
      readonly reason: string;
    }
  | { readonly kind: "delivered"; readonly id: number }
  /** The store failed (database locked, disk full): the claim lapses and the message is tried again. */
  | { readonly kind: "store-error"; readonly error: string };

export interface WorkerOptions {
  readonly store: OutboxStore;
  readonly gateway: SmsGateway;
  readonly clock?: Clock;
  readonly policy?: RetryPolicy;
  /** Messages claimed and sent concurrently per round (default 32). */
  readonly batch?: number;
  /** Sleep between polls when nothing was due (default 1 s); `wake()` cuts it short. */
  readonly pollMs?: number;
  /** Uniform in [0, 1) for the jitter (default Math.random). */
  readonly random?: () => number;
  readonly onEvent?: (event: OutboxEvent) => void;
}

export class OutboxWorker {
  private readonly store: OutboxStore;
  private readonly gateway: SmsGateway;
  private readonly clock: Clock;
  private readonly policy: RetryPolicy;
  private readonly batch: number;
  private readonly pollMs: number;
  private readonly random: () => number;
  private readonly onEvent: (event: OutboxEvent) => void;
  private stopping = new AbortController();
  private napping = new AbortController();
  private running: Promise<void> | undefined;

  constructor(options: WorkerOptions) {
    this.store = options.store;
    this.gateway = options.gateway;
    this.clock = options.clock ?? systemClock;
    this.policy = options.policy ?? DEFAULT_POLICY;
    this.batch = options.batch ?? 32;
    this.pollMs = options.pollMs ?? 1000;
    this.random = options.random ?? Math.random;
    this.onEvent = options.onEvent ?? (() => {});
    if (!Number.isSafeInteger(this.batch) || this.batch < 1)
      throw new RangeError(`"batch" expected a whole number >= 1, got ${this.batch}`);
  }

  /** One round: claims what is due and sends it. The number of messages claimed. */
  async runOnce(): Promise<number> {
    const claimed = await this.store.claimDue(this.clock.now(), this.batch, this.policy.leaseMs);
    await Promise.all(claimed.map((message) => this._send(message)));
    return claimed.length;
  }

  /** Runs rounds until `stop()`: at once again after a full batch, else after `pollMs` or a `wake()`. */
  start(): void {
    if (this.running !== undefined) return;
    this.stopping = new AbortController();
    this.running = this._loop();
  }

  /** A message was queued: send it now instead of at the next poll. */
  wake(): void {
    this.napping.abort();
  }

  /** Finishes the round under way and stops. Idempotent. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.napping.abort();
    await this.running;
    this.running = undefined;
  }

  private async _loop(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      let claimed = 0;
      try {
        claimed = await this.runOnce();
      } catch (e) {
        this.onEvent({ kind: "store-error", error: (e as Error).message });
      }
      if (claimed < this.batch && !this.stopping.signal.aborted) {
        this.napping = new AbortController();
        await this.clock.sleep(this.pollMs, this.napping.signal);
      }
    }
  }

  private async _send(message: OutboxMessage): Promise<void> {
    // The contract says send never throws; a driver that does is one more transient failure, not a lost message.
    const result: SendResult = await this.gateway
      .send({ to: message.to, text: message.text })
      .catch((e: unknown) => ({ kind: "failed", reason: `gateway threw: ${(e as Error).message}` }));
    const now = this.clock.now();
    const { id, attempts } = message;
    try {
      if (result.kind === "accepted") {
        await this.store.markSent(id, this.gateway.name, result.providerId, now);
        this.onEvent({ kind: "sent", id, attempts, providerId: result.providerId });
        return;
      }
      if (result.kind === "failed") {
        const at = now + retryDelay(this.policy, attempts, this.random(), result.retryAfterMs);
        if (at - message.roundStartedAt <= this.policy.giveUpAfterMs) {
          await this.store.retryAt(id, at, result.reason, now);
          this.onEvent({ kind: "retry", id, attempts, at, reason: result.reason });
          return;
        }
      }
      const reason =
        result.kind === "rejected"
          ? `rejected: ${result.reason}`
          : `gave up after ${attempts} attempts over ${_hours(now - message.roundStartedAt)}: ${result.reason}`;
      await this.store.markFailed(id, reason, now);
      this.onEvent({ kind: "failed", id, attempts, reason });
    } catch (e) {
      this.onEvent({ kind: "store-error", error: (e as Error).message });
    }
  }
}

/**
 * Records a delivery report (the hub's /sms/<token>/delivery) and acts on it: a final failure of the message's
 * latest send that may pass is sent again, the same text, on the redelivery schedule; one that cannot pass, or the
 * last round's, fails the message for the operator. Undefined when no message was sent under the report's id.
 */
export async function applyDeliveryReport(
  store: OutboxStore,
  report: DeliveryReport,
  options: { readonly clock?: Clock; readonly policy?: RetryPolicy; readonly onEvent?: (e: OutboxEvent) => void } = {},
): Promise<DeliveryRecord | undefined> {
  const now = (options.clock ?? systemClock).now();
  const policy = options.policy ?? DEFAULT_POLICY;
  const record = await store.recordDelivery(report, now);
  if (record === undefined) return undefined;
  const { outcome } = report;
  if (outcome.kind === "delivered") options.onEvent?.({ kind: "delivered", id: record.id });
  if (outcome.kind !== "undelivered" || record.state !== "sent" || record.providerId !== report.providerId)
    return record;
  const delay = policy.redeliveryDelaysMs[record.round];
  if (outcome.retryable && delay !== undefined) {
    const at = now + delay;
    if (await store.redeliver(record.id, report.providerId, at, now))
      options.onEvent?.({ kind: "redeliver", id: record.id, round: record.round + 1, at, reason: outcome.reason });
  } else {
    const reason = outcome.retryable
      ? `undelivered after ${record.round} redeliveries: ${outcome.reason}`
      : outcome.reason;
    await store.markFailed(record.id, reason, now);
    options.onEvent?.({ kind: "failed", id: record.id, attempts: record.round + 1, reason });
  }
  return record;
}

function _hours(ms: number): string {
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
