// Queuing an SMS in the outbox, on either engine (fleet/sql.ts Steps): the fleet store's `onCode` hook writes a
// code's message in the transaction that issues the code, the inbound handler its answers.
import type { CodeHook } from "../../fleet/storesteps";
import type { Steps } from "../../fleet/sql";
import { codeSms, type QueuedSms } from "./compose";

/** Queues `sms` (due now), for a code or none; the message's id. */
export function* enqueueSteps(codeId: number | null, sms: QueuedSms, at: number): Steps<number> {
  const [row] = (yield {
    sql: `INSERT INTO sms_outbox (code_id, purpose, to_phone, language, text, created_at, round_started_at, due_at,
      updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING message_id`,
    args: [codeId, sms.purpose, sms.to, sms.language, sms.text, at, at, at, at],
  }) as { message_id: number }[];
  return row.message_id;
}

/**
 * The `onCode` hook: queues the code's SMS in the issuing transaction (compose.ts: rendered once, to the registered
 * phone, never the payment's msisdn). `queued` is told after the row is written; the caller wakes the worker once
 * the commit is on disk.
 */
export function queueCodeSms(now: () => number, queued: () => void): CodeHook {
  return function* (code, account, device, codeId) {
    const id = yield* enqueueSteps(codeId, codeSms(code, account, device.record), now());
    queued();
    return id;
  };
}
