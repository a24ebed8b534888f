// The SMS outbox on a PostgreSQL fleet (the same migration 5 tables as sqlite.ts, fleet/pgschema.ts): OutboxStore
// for the worker of every hub process (a code's SMS is queued by the store's `onCode` hook, queue.ts, in the
// transaction that issues the code). Several workers claim with FOR UPDATE SKIP LOCKED: a row one worker is
// leasing is invisible to the others' claims, so no message goes out twice while its lease holds.
import type { Pool, PoolClient } from "pg";
import { inPgTransaction } from "../../fleet/pgdb";
import { numbered, runPgSteps } from "../../fleet/sql";
import { inboundAnswer, registeredPhone, type InboundAccount, type InboundResult } from "./compose";
import type { DeliveryReport } from "./delivery";
import type { InboundSms } from "./inbound";
import { enqueueSteps } from "./queue";
import type { DeliveryRecord, OutboxMessage, OutboxState, SmsOutbox } from "./outbox";
import { claimed, EARLIER_RESENDS, INBOUND_ACCOUNT, LATEST_CODE_TEXT, type OutboxRow } from "./sqlite";

/** OutboxStore on PostgreSQL: each method one transaction on the pool (every hub process has its own). */
export class PgOutbox implements SmsOutbox {
  constructor(
    private readonly pool: Pool,
    private readonly where: string,
  ) {}

  async claimDue(now: number, limit: number, leaseMs: number): Promise<readonly OutboxMessage[]> {
    const rows = await this._tx(
      async (c) =>
        (
          await c.query(
            `UPDATE sms_outbox SET lease_until = $1 + $2, attempts = attempts + 1, updated_at = $1
             WHERE message_id IN (SELECT message_id FROM sms_outbox WHERE state = 'queued' AND due_at <= $1
               AND coalesce(lease_until, 0) <= $1 ORDER BY due_at, message_id LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING message_id, to_phone, text, attempts, round, round_started_at`,
            [now, leaseMs, limit],
          )
        ).rows as OutboxRow[],
    );
    return claimed(rows);
  }

  async markSent(id: number, gateway: string, providerId: string, now: number): Promise<void> {
    await this._tx(async (c) => {
      await c.query(
        `UPDATE sms_outbox SET state = 'sent', gateway = $1, provider_id = $2, lease_until = NULL, updated_at = $3
         WHERE message_id = $4`,
        [gateway, providerId, now, id],
      );
      await this._event(c, id, now, "sent", providerId, null, null);
    });
  }

  async retryAt(id: number, at: number, reason: string, now: number): Promise<void> {
    await this._tx(async (c) => {
      await c.query(
        "UPDATE sms_outbox SET due_at = $1, lease_until = NULL, last_error = $2, updated_at = $3 WHERE message_id = $4",
        [at, reason, now, id],
      );
      await this._event(c, id, now, "retry", null, null, reason);
    });
  }

  async markFailed(id: number, reason: string, now: number): Promise<void> {
    await this._durable(async (c) => {
      await c.query(
        `UPDATE sms_outbox SET state = 'failed', lease_until = NULL, last_error = $1, updated_at = $2
         WHERE message_id = $3`,
        [reason, now, id],
      );
      await this._event(c, id, now, "failed", null, null, reason);
    });
  }

  recordDelivery(report: DeliveryReport, now: number): Promise<DeliveryRecord | undefined> {
    return this._durable(async (c) => {
      const send = (
        await c.query("SELECT message_id FROM sms_events WHERE kind = 'sent' AND provider_id = $1", [report.providerId])
      ).rows[0] as { message_id: number } | undefined;
      if (send === undefined) return undefined;
      const id = send.message_id;
      // Reports for one message from two hubs: one after the other, each reading the state the other left.
      const r = (
        await c.query("SELECT state, provider_id, round FROM sms_outbox WHERE message_id = $1 FOR UPDATE", [id])
      ).rows[0] as { state: OutboxState; provider_id: string | null; round: number };
      await this._event(c, id, now, "report", report.providerId, report.status, report.failureReason ?? null);
      let state = r.state;
      if (report.outcome.kind === "delivered") {
        await c.query("UPDATE sms_outbox SET state = 'delivered', updated_at = $1 WHERE message_id = $2", [now, id]);
        state = "delivered";
      }
      return { id, state, providerId: r.provider_id, round: r.round };
    });
  }

  redeliver(id: number, providerId: string, at: number, now: number): Promise<boolean> {
    return this._durable(async (c) => {
      const r = await c.query(
        `UPDATE sms_outbox SET state = 'queued', round = round + 1, round_started_at = $1, due_at = $1,
           lease_until = NULL, updated_at = $2
         WHERE message_id = $3 AND state = 'sent' AND provider_id = $4`,
        [at, now, id, providerId],
      );
      const changed = r.rowCount === 1;
      if (changed) await this._event(c, id, now, "redeliver", providerId, null, null);
      return changed;
    });
  }

  /** Handles an inbound SMS once (AT's id, even when AT posts it to two hubs): compose.ts decides the answer. */
  answerInbound(sms: InboundSms, now: number): Promise<"repeated" | InboundResult> {
    // AT is answered 200 after it and does not post again, so this row is all there is of the request.
    return this._durable(async (c) => {
      // One phone's messages one at a time across hubs: two RESENDs at once must not both pass the rate limit.
      await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [sms.from]);
      if ((await c.query("SELECT 1 FROM sms_inbound WHERE inbound_id = $1", [sms.id])).rows.length > 0)
        return "repeated";
      const account = (await c.query(numbered(INBOUND_ACCOUNT), [sms.from.replace(/^\+/, "")])).rows[0] as
        InboundAccount | undefined;
      const to = account === undefined ? "" : registeredPhone(account);
      const decided = inboundAnswer(sms, now, {
        account,
        earlierResends: (await c.query(numbered(EARLIER_RESENDS), [sms.from])).rows.map(
          (r: { received_at: number }) => r.received_at,
        ),
        latestCodeText: ((await c.query(numbered(LATEST_CODE_TEXT), [to])).rows[0] as { text: string } | undefined)
          ?.text,
      });
      await c.query(
        `INSERT INTO sms_inbound (inbound_id, from_phone, to_code, text, command, answered, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [sms.id, sms.from, sms.to, sms.text, decided.command, decided.answer === undefined ? 0 : 1, now],
      );
      if (decided.answer !== undefined) await runPgSteps(c, enqueueSteps(null, decided.answer, now));
      return decided.result;
    });
  }

  /** Every write here is committed before its promise settles: nothing to wait for. */
  async drain(): Promise<void> {}

  private async _event(
    c: PoolClient,
    id: number,
    at: number,
    kind: string,
    providerId: string | null,
    status: string | null,
    detail: string | null,
  ): Promise<void> {
    await c.query(
      "INSERT INTO sms_events (message_id, at, kind, provider_id, status, detail) VALUES ($1, $2, $3, $4, $5, $6)",
      [id, at, kind, providerId, status, detail],
    );
  }

  /** One transaction, answered once its commit is on disk (what a callback's 200 or a final failure rests on). */
  private _durable<T>(work: (c: PoolClient) => Promise<T>): Promise<T> {
    return inPgTransaction(this.pool, this.where, work);
  }

  /**
   * The worker's claims and sends: one transaction, committed without waiting for its WAL flush (else an fsync per
   * message sent). A server crash can lose the last fraction of a second of them, which only sends a message again
   * (at least once, as a killed worker does); the row itself was written by the payment's durable transaction.
   */
  private _tx<T>(work: (c: PoolClient) => Promise<T>): Promise<T> {
    return inPgTransaction(this.pool, this.where, async (c) => {
      await c.query("SET LOCAL synchronous_commit TO OFF");
      return work(c);
    });
  }
}
