// The SMS outbox contract: the store the worker claims messages from and records results in (asynchronous, so the
// same worker runs over SQLite and PostgreSQL), and the retry policy. A message's text is written once,
// in the transaction that issues the code, and never rendered again: every send of it is the same SMS.
import type { InboundResult } from "./compose";
import type { DeliveryReport } from "./delivery";
import type { InboundSms } from "./inbound";

/**
 * `queued`: to send (now or at its due time); `sent`: the gateway accepted it, the delivery report is awaited;
 * `delivered`: on the handset (final); `failed`: given up (final), shown to the operator with its reason.
 */
export type OutboxState = "queued" | "sent" | "delivered" | "failed";

/** A claimed message: what to send and what the retry decision needs. */
export interface OutboxMessage {
  readonly id: number;
  /** The account's registered phone (E.164), copied when the message was queued. */
  readonly to: string;
  readonly text: string;
  /** Sends started so far, counted when claimed (a send cut short by a crash counts too). */
  readonly attempts: number;
  /** 0 on the first schedule; n on the nth redelivery after a final delivery failure. */
  readonly round: number;
  /** When this round became due (ms): a round is given up `giveUpAfterMs` after it. */
  readonly roundStartedAt: number;
}

/** A message after a delivery report was recorded against it. */
export interface DeliveryRecord {
  readonly id: number;
  readonly state: OutboxState;
  /** The provider id of its latest send (a late report may name an earlier one). */
  readonly providerId: string | null;
  readonly round: number;
}

/**
 * Where the outbox lives. Every method is one transaction. Times are milliseconds since the epoch, passed in by
 * the worker (the store reads no clock, so a test's clock drives it).
 */
export interface OutboxStore {
  /**
   * Claims up to `limit` `queued` messages due at `now` (due time <= now, no lease or a lapsed one), oldest due
   * first: each is leased until `now + leaseMs` and its attempts counted. A worker killed mid-send leaves the lease
   * to lapse, and the message is claimed again: at least once.
   */
  claimDue(now: number, limit: number, leaseMs: number): Promise<readonly OutboxMessage[]>;
  /** The gateway accepted it: `sent` under `providerId` (kept in its history for late reports), lease cleared. */
  markSent(id: number, gateway: string, providerId: string, now: number): Promise<void>;
  /** A transient failure: stays `queued`, due again at `at`, lease cleared, `reason` kept as its last error. */
  retryAt(id: number, at: number, reason: string, now: number): Promise<void>;
  /** Given up: `failed` with `reason` (final; the operator's list of messages that never arrived). */
  markFailed(id: number, reason: string, now: number): Promise<void>;
  /**
   * Records a report against the message sent under `report.providerId` (any of its sends); `delivered` marks it
   * delivered (from any state but `delivered`). Undefined when no message was sent under that id.
   */
  recordDelivery(report: DeliveryReport, now: number): Promise<DeliveryRecord | undefined>;
  /**
   * Queues the message again, the same text, for round + 1 at `at`; only if it is still `sent` under `providerId`,
   * so a repeated report schedules nothing twice. Whether it did.
   */
  redeliver(id: number, providerId: string, at: number, now: number): Promise<boolean>;
}

/** The outbox the hub serves: the worker's store, plus the inbound answers (sqlite.ts, pg.ts). */
export interface SmsOutbox extends OutboxStore {
  /** Handles an inbound SMS once (AT's id); what it did, for the log. */
  answerInbound(sms: InboundSms, now: number): Promise<"repeated" | InboundResult>;
  /** Resolves once every write asked so far has settled. */
  drain(): Promise<void>;
}

export interface RetryPolicy {
  /** First retry after a transient failure; each next one doubles... */
  readonly firstDelayMs: number;
  /** ...up to this: after an outage ends, every queued message goes out within about this long. */
  readonly maxDelayMs: number;
  /** A round that has not reached the gateway after this long is given up (the operator is told). */
  readonly giveUpAfterMs: number;
  /** After a final delivery failure that may pass (phone off, out of coverage): when to send again, per round. */
  readonly redeliveryDelaysMs: readonly number[];
  /** A claim lapses after this long: longer than a gateway request can take (AT driver: 15 s timeout). */
  readonly leaseMs: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Retries at about 5 s, 10 s, 20 s ... 5 min, then every 5 min (equal jitter) for 48 h: an outage of hours is ridden
 * through, and ends in under 5 minutes of catching up. Redelivery rounds at 30 min, 2 h, 8 h and 24 h cover a phone
 * off overnight or a trip out of coverage without hammering a number that is gone.
 */
export const DEFAULT_POLICY: RetryPolicy = Object.freeze({
  firstDelayMs: 5_000,
  maxDelayMs: 5 * MINUTE,
  giveUpAfterMs: 48 * HOUR,
  redeliveryDelaysMs: Object.freeze([30 * MINUTE, 2 * HOUR, 8 * HOUR, 24 * HOUR]),
  leaseMs: MINUTE,
});

/**
 * Delay before the next try after `attempts` tries: exponential, capped, with "equal jitter" (half fixed, half
 * random) so a thousand messages queued in one outage do not all hit the gateway in the same second when it returns.
 * A gateway's Retry-After is honoured up to the cap.
 */
export function retryDelay(policy: RetryPolicy, attempts: number, random: number, retryAfterMs = 0): number {
  const exponential = policy.firstDelayMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30);
  const base = Math.min(policy.maxDelayMs, exponential);
  return Math.max(Math.round(base / 2 + (random * base) / 2), Math.min(retryAfterMs, policy.maxDelayMs));
}
