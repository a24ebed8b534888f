// Africa's Talking SMS driver: POST {url}/version1/messaging, form fields username, to, message, from; headers apiKey
// and Accept: application/json. The answer (HTTP 201) is JSON: SMSMessageData { Message, Recipients[] { statusCode,
// number, status, cost, messageId, messageParts } }; each recipient's statusCode says what happened to it.
import type { SendResult, SmsGateway, SmsMessage } from "./gateway";

export interface AfricasTalkingOptions {
  /** Base URL: https://api.africastalking.com, the sandbox https://api.sandbox.africastalking.com, or a stand-in. */
  readonly url: string;
  readonly username: string;
  readonly apiKey: string;
  /** Sender ID or short code; omitted: the account's default sender. */
  readonly from?: string;
  /** A request with no answer after this long is a transient failure (default 15 s). */
  readonly timeoutMs?: number;
}

/**
 * Africa's Talking's per-recipient status codes and whether a retry can help. 100-102 are accepted. `rejected`: this
 * message to this number will never go. `failed`: the cause is the operator's account (balance, sender ID, a risk
 * hold) or the network's, which an operator or time fixes, so the message waits in the outbox and goes out after.
 */
export const RECIPIENT_STATUS: Readonly<Record<number, { readonly name: string; readonly kind: SendResult["kind"] }>> =
  Object.freeze({
    100: { name: "Processed", kind: "accepted" },
    101: { name: "Sent", kind: "accepted" },
    102: { name: "Queued", kind: "accepted" },
    401: { name: "RiskHold", kind: "failed" },
    402: { name: "InvalidSenderId", kind: "failed" },
    403: { name: "InvalidPhoneNumber", kind: "rejected" },
    404: { name: "UnsupportedNumberType", kind: "rejected" },
    405: { name: "InsufficientBalance", kind: "failed" },
    406: { name: "UserInBlacklist", kind: "rejected" },
    407: { name: "CouldNotRoute", kind: "failed" },
    409: { name: "DoNotDisturbRejection", kind: "rejected" },
    500: { name: "InternalServerError", kind: "failed" },
    501: { name: "GatewayError", kind: "failed" },
    502: { name: "RejectedByGateway", kind: "rejected" },
  });

/** The JSON body Africa's Talking answers a send with (the fields this driver reads). */
export interface AtSendResponse {
  readonly SMSMessageData: {
    readonly Message: string;
    readonly Recipients: ReadonlyArray<{
      readonly statusCode: number;
      readonly number: string;
      readonly status: string;
      readonly cost: string;
      readonly messageId: string;
      readonly messageParts?: number;
    }>;
  };
}

export const DEFAULT_TIMEOUT_MS = 15_000;

/** The Africa's Talking gateway. Each send is one request for one recipient: one outbox row, one result. */
export function africasTalking(options: AfricasTalkingOptions): SmsGateway {
  const endpoint = `${options.url.replace(/\/+$/, "")}/version1/messaging`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    name: "africastalking",
    async send(message: SmsMessage): Promise<SendResult> {
      const form = new URLSearchParams({ username: options.username, to: message.to, message: message.text });
      if (options.from !== undefined) form.set("from", options.from);
      let response: Response;
      let body: string;
      try {
        response = await fetch(endpoint, {
          method: "POST",
          headers: { apiKey: options.apiKey, Accept: "application/json" },
          body: form, // sent as application/x-www-form-urlencoded;charset=UTF-8
          signal: AbortSignal.timeout(timeoutMs),
        });
        body = await response.text();
      } catch (e) {
        const name = (e as Error).name;
        if (name === "TimeoutError") return { kind: "failed", reason: `no answer within ${timeoutMs} ms` };
        return { kind: "failed", reason: `network: ${_cause(e)}` };
      }
      return interpretSendAnswer(response.status, response.headers.get("retry-after"), body, message.to);
    },
  };
}

/** One HTTP answer to a send, for the recipient `to`, as a SendResult. Pure: the wire format's rules in one place. */
export function interpretSendAnswer(status: number, retryAfter: string | null, body: string, to: string): SendResult {
  const text = _firstLine(body);
  if (status === 401 || status === 403)
    return { kind: "failed", reason: `HTTP ${status} ${text}: check SOLKEY_SMS_USERNAME and SOLKEY_SMS_API_KEY` };
  if (status === 408 || status === 429 || status >= 500) {
    const seconds = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
    const reason = `HTTP ${status} ${text}`;
    return seconds === undefined
      ? { kind: "failed", reason }
      : { kind: "failed", reason, retryAfterMs: seconds * 1000 };
  }
  // Any other 4xx: the request itself is refused (a missing or malformed field); sending it again changes nothing.
  if (status >= 400) return { kind: "rejected", reason: `HTTP ${status} ${text}` };
  if (status < 200 || status >= 300) return { kind: "failed", reason: `HTTP ${status} ${text}` };
  let parsed: AtSendResponse;
  try {
    parsed = JSON.parse(body) as AtSendResponse;
  } catch {
    return { kind: "failed", reason: `HTTP ${status} with a body that is not JSON: ${text}` };
  }
  const data = parsed?.SMSMessageData;
  if (typeof data !== "object" || data === null || !Array.isArray(data.Recipients))
    return { kind: "failed", reason: `HTTP ${status} without SMSMessageData.Recipients: ${text}` };
  // No recipient at all: the whole request was refused, the reason in Message (e.g. "InvalidSenderId").
  if (data.Recipients.length === 0) {
    const why = String(data.Message);
    return /InvalidPhoneNumber/i.test(why)
      ? { kind: "rejected", reason: why }
      : { kind: "failed", reason: `no recipient accepted: ${why}` };
  }
  const recipient = data.Recipients.find((r) => r?.number === to) ?? data.Recipients[0];
  const code = Number(recipient?.statusCode);
  const known = RECIPIENT_STATUS[code];
  const reason = `${code} ${known?.name ?? recipient?.status ?? "unknown"}`;
  if (known === undefined) return { kind: "failed", reason: `unknown recipient status ${reason}` };
  if (known.kind !== "accepted") return { kind: known.kind, reason };
  const providerId = recipient.messageId;
  if (typeof providerId !== "string" || providerId === "" || providerId === "None")
    return { kind: "failed", reason: `${reason} without a messageId` };
  return { kind: "accepted", providerId };
}

function _firstLine(body: string): string {
  return body.split("\n", 1)[0].slice(0, 200);
}

function _cause(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message;
}
