// What an outbox row says, the same on both engines: a code's SMS (rendered once, in the account's language, to its
// registered phone) and the answer to an inbound RESEND / BALANCE, decided from what the store read.
import type { IssuedCode } from "../../fleet/ledger";
import type { Account } from "../../fleet/store";
import type { ProvisionRecord } from "../../firmware/provision/record";
import { deviceProtocol } from "../../firmware/provision/protocol";
import { recognizeCommand, resendAllowed, type InboundSms } from "./inbound";
import { renderSms, type Language, type SmsTemplate } from "./templates";

const DAY_S = 86_400;

/** A row to queue: who gets which text, and why. */
export interface QueuedSms {
  readonly purpose: "code" | "unlock" | "resend" | "balance";
  readonly to: string;
  readonly language: Language;
  readonly text: string;
}

/** The account's registered phone (E.164 digits in the fleet) as the outbox's `+` form. */
export function registeredPhone(account: Pick<Account, "phone">): string {
  return `+${account.phone}`;
}

/** What is left to pay on the plan (null: it has no total). */
export function leftToPay(account: Account): { minor: number; currency: string } | null {
  if (account.plan.total === null) return null;
  return { minor: Math.max(0, account.plan.total - account.paid), currency: account.plan.currency };
}

/** A code's SMS: the code as the device's keypad reads it, the days it buys and what is left to pay. */
export function codeSms(code: IssuedCode, account: Account, record: ProvisionRecord): QueuedSms {
  const typed = { keycode: code.keycode, frame: deviceProtocol(record).frame };
  const template: SmsTemplate =
    code.kind === "unlock"
      ? { kind: "unlock", code: typed }
      : { kind: "code", code: typed, days: Math.round((code.seconds ?? 0) / DAY_S), left: leftToPay(account) };
  return {
    purpose: template.kind,
    to: registeredPhone(account),
    language: account.language,
    text: renderSms(account.language, template),
  };
}

/** The newest account on a phone, as the inbound answer reads it. */
export interface InboundAccount {
  readonly phone: string;
  readonly language: Language;
  readonly paid: number;
  readonly total: number | null;
  readonly currency: string;
}

export type InboundResult = "unknown sender" | "ignored" | "limited" | "queued";

/** What a store read for an inbound SMS from a phone: its newest account, its answered RESENDs, its latest code SMS. */
export interface InboundFacts {
  readonly account: InboundAccount | undefined;
  /** When this phone's earlier answered RESENDs arrived (ms). */
  readonly earlierResends: readonly number[];
  /** The text of the latest code SMS to the phone. */
  readonly latestCodeText: string | undefined;
}

/**
 * Decides the answer to an inbound SMS: RESEND queues the latest code SMS again, the same text, within RESEND_LIMIT;
 * BALANCE the balance in the account's language. Only a registered phone is answered.
 */
export function inboundAnswer(
  sms: InboundSms,
  now: number,
  facts: InboundFacts,
): { command: "resend" | "balance" | null; result: InboundResult; answer?: QueuedSms } {
  const { account } = facts;
  if (account === undefined) return { command: null, result: "unknown sender" };
  const command = recognizeCommand(sms.text);
  if (command === undefined) return { command: null, result: "ignored" };
  let text: string | undefined;
  if (command.kind === "resend") {
    if (facts.latestCodeText !== undefined && resendAllowed([...facts.earlierResends], now))
      text = facts.latestCodeText;
  } else {
    const paid = { minor: account.paid, currency: account.currency };
    const left =
      account.total === null ? null : { minor: Math.max(0, account.total - account.paid), currency: account.currency };
    text = renderSms(account.language, { kind: "balance", paid, left });
  }
  if (text === undefined) return { command: command.kind, result: "limited" };
  const answer: QueuedSms = { purpose: command.kind, to: registeredPhone(account), language: account.language, text };
  return { command: command.kind, result: "queued", answer };
}
