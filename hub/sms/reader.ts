// What the operator API reads of the SMS outbox: messages with their delivery state, and the counts /metrics shows.
// An interface; sqlreader.ts answers it on either engine.
import type { Page } from "../../fleet/store";
import type { OutboxState } from "./outbox";
import type { Language } from "./templates";

export const OUTBOX_STATES: readonly OutboxState[] = ["queued", "sent", "delivered", "failed"];

/** One outbox message as the API lists it (docs/API.md `Sms`); times ISO. */
export interface SmsView {
  readonly messageId: number;
  readonly serial: string | null;
  readonly codeSeq: number | null;
  readonly purpose: "code" | "unlock" | "resend" | "balance";
  readonly to: string;
  readonly language: Language;
  readonly state: OutboxState;
  readonly attempts: number;
  readonly round: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly dueAt: string;
  readonly lastError: string | null;
  readonly providerId: string | null;
  /** The SMS as sent: it holds the code (the API shows it to issue and admin keys only). */
  readonly text: string;
}

export interface SmsQuery {
  readonly state?: OutboxState;
  /** Messages of this device's codes and its account's RESEND/BALANCE answers; NotFoundError when no such device. */
  readonly serial?: string;
  readonly after?: number;
  readonly limit: number;
}

export interface SmsCounts {
  readonly byState: Readonly<Record<OutboxState, number>>;
  /** Messages waiting to go: queued (due now, later, or retrying). */
  readonly depth: number;
}

export interface SmsReader {
  /** Messages newest first. */
  list(query: SmsQuery): Promise<Page<SmsView>>;
  counts(): Promise<SmsCounts>;
}
