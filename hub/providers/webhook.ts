// The signed JSON webhook for every other rail (MTN MoMo, Airtel Money, banks, cash agents via an aggregator).
// The sender signs `<timestamp>.<raw body>` with HMAC-SHA-256 under the shared secret and sends
//   X-Solkey-Timestamp: <unix seconds>      X-Solkey-Signature: sha256=<hex>
// A signature is checked in constant time over the exact bytes received, and only within 5 minutes of its
// timestamp: a captured request cannot be replayed later (and within the window, the transaction id makes a replay
// the same payment, answered the same).
import { createHmac, timingSafeEqual } from "crypto";
import type { IncomingPayment } from "../../fleet/store";
import type { PaymentSource } from "./source";

export const REPLAY_WINDOW_S = 300;
export const TIMESTAMP_HEADER = "x-solkey-timestamp";
export const SIGNATURE_HEADER = "x-solkey-signature";

export interface WebhookPayment {
  transactionId: string;
  /** Integer minor units (KES 50.00 is 5000). */
  amount: number;
  currency: string;
  /** What the payer gave as the account: a serial or a phone. */
  account: string;
  /** The payer's number if the rail gives it. */
  phone?: string;
  /** ISO time of payment. */
  paidAt?: string;
}

export const WEBHOOK_BODY = {
  type: "object",
  additionalProperties: false,
  required: ["transactionId", "amount", "currency", "account"],
  properties: {
    transactionId: { type: "string", minLength: 1, maxLength: 64, pattern: "^[\\x21-\\x7e]+$" },
    amount: { type: "integer", minimum: 1, maximum: 1e12 },
    currency: { type: "string", pattern: "^[A-Z]{3}$" },
    account: { type: "string", minLength: 1, maxLength: 64 },
    phone: { type: "string", maxLength: 64 },
    paidAt: { type: "string", format: "date-time" },
  },
} as const;

/** A webhook source for `provider` (the path names it: /webhook/<provider>). */
export function webhookSource(provider: string): PaymentSource<WebhookPayment> {
  return {
    provider,
    bodySchema: WEBHOOK_BODY,
    toPayment(body: WebhookPayment, via: IncomingPayment["via"]): IncomingPayment {
      return {
        provider,
        transId: body.transactionId,
        amount: body.amount,
        currency: body.currency,
        shortCode: null,
        accountRef: body.account,
        msisdn: body.phone ?? null,
        paidAt: body.paidAt === undefined ? null : new Date(body.paidAt).toISOString(),
        via,
      };
    },
  };
}

/** The header value a sender puts on `rawBody` at `timestamp` (unix seconds). */
export function sign(secret: string, timestamp: number, rawBody: string): string {
  return "sha256=" + createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest("hex");
}

/** Why a signed request is refused, or null when it is good. `nowS`: unix seconds. */
export function checkSignature(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  rawBody: string,
  nowS: number,
): string | null {
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return `${TIMESTAMP_HEADER} expected unix seconds`;
  if (Math.abs(nowS - Number(timestamp)) > REPLAY_WINDOW_S)
    return `${TIMESTAMP_HEADER} is more than ${REPLAY_WINDOW_S} s from the hub's clock (replay, or a wrong clock)`;
  if (signature === undefined || !/^sha256=[0-9a-f]{64}$/.test(signature))
    return `${SIGNATURE_HEADER} expected sha256=<64 hex digits>`;
  const expected = Buffer.from(sign(secret, Number(timestamp), rawBody));
  return timingSafeEqual(expected, Buffer.from(signature)) ? null : `${SIGNATURE_HEADER} does not match the body`;
}
