// The SMS gateway contract (one message to one phone) and the `log` driver that prints messages for the demo.
import { randomUUID } from "crypto";
import { countSegments } from "./gsm";

/** One SMS: the account's registered phone (E.164) and the text stored in the outbox when it was queued. */
export interface SmsMessage {
  readonly to: string;
  readonly text: string;
}

/**
 * What one send did. `accepted`: the gateway took it (delivery is reported later under `providerId`). `rejected`:
 * this message to this number will never go (an invalid or blacklisted number): do not retry. `failed`: nothing is
 * known to have gone out (network, timeout, 5xx, the gateway's balance or sender ID): retry later; the gateway may
 * still have sent it, so a retry can repeat the SMS (at least once, the same text).
 */
export type SendResult =
  | { readonly kind: "accepted"; readonly providerId: string }
  | { readonly kind: "rejected"; readonly reason: string }
  | { readonly kind: "failed"; readonly reason: string; readonly retryAfterMs?: number };

/** A way to send SMS. `send` never throws: every failure is a `SendResult`. */
export interface SmsGateway {
  /** Short name stored with each message sent (`africastalking`, `log`). */
  readonly name: string;
  send(message: SmsMessage): Promise<SendResult>;
}

/** E.164: `+`, a country code not starting with 0, up to 15 digits in all. */
export const E164 = /^\+[1-9]\d{6,14}$/;

/** Prints each message as one line (`print`, stdout by default) and accepts it: `solkey hub --demo`. */
export function logGateway(print: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): SmsGateway {
  return {
    name: "log",
    async send(message: SmsMessage): Promise<SendResult> {
      const providerId = `log-${randomUUID()}`;
      const { encoding, segments } = countSegments(message.text);
      print(`SMS to ${message.to} (${segments} x ${encoding}, ${providerId}): ${message.text}`);
      return { kind: "accepted", providerId };
    },
  };
}
