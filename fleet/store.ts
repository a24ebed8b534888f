// The fleet store: what the hub and the operator commands ask of the fleet database, as an asynchronous interface.
// EngineStore (fleet/enginestore.ts) implements it once, on SQLite and on PostgreSQL, so nothing above this line
// changes with the engine. Every write is one transaction; a payment's record, its code (through fleet/ledger.ts),
// its SMS outbox row and an operator's audit entry commit together or not at all.
import type { CodeRecord, IssuedCode } from "./ledger";
import type { OperatorRequest } from "./operator";

/** What a payment buys: integer minor units throughout (KES 50.00 is 5000). */
export interface PlanSpec {
  readonly name: string;
  /** ISO 4217, upper case. */
  readonly currency: string;
  readonly perDay: number;
  /** Payments below this are recorded and answered, never coded (their money stays on the account). */
  readonly minPayment: number;
  /** Paid first, before any credit. */
  readonly deposit: number;
  /** Paid in total, the device gets its unlock code; null: pay for ever. */
  readonly total: number | null;
  /** The unlock code waits for `solkey account approve` (an operator checks the account first). */
  readonly approveUnlock: boolean;
}

export interface Plan extends PlanSpec {
  readonly planId: number;
}

export type Language = "en" | "sw" | "fr";

export interface AccountSpec {
  /** Device serial or id, as the fleet knows it. */
  readonly device: string;
  /** E.164 digits without '+', e.g. 254712345678. */
  readonly phone: string;
  readonly plan: string;
  readonly language: Language;
}

export interface Account {
  readonly accountId: number;
  readonly deviceId: number;
  readonly serial: string;
  readonly phone: string;
  readonly plan: Plan;
  readonly language: Language;
  /** Money received, net of reversals. */
  readonly paid: number;
  readonly depositDue: number;
  /** Money received but not yet credit (below one day); negative after a reversal. */
  readonly remainder: number;
  readonly daysBought: number;
  /** Days paid for and not yet coded (the device's window was full: window rule). */
  readonly heldDays: number;
  /** When the credit paid for runs out by the calendar (ISO); null before the first credit. */
  readonly paidUntil: string | null;
  readonly unlock: "no" | "pending" | "issued";
}

/** A payment as a provider reports it, before matching. */
export interface IncomingPayment {
  /** "mpesa", or the webhook's provider name. */
  readonly provider: string;
  /** The provider's id, compared exactly. */
  readonly transId: string;
  readonly amount: number;
  readonly currency: string;
  readonly shortCode: string | null;
  /** What the payer typed as the account (BillRefNumber). */
  readonly accountRef: string;
  /** The payer's number: clear digits, a SHA-256 hex digest, or masked; null when absent. */
  readonly msisdn: string | null;
  /** When the provider says it was paid (ISO), if it says. */
  readonly paidAt: string | null;
  readonly via: "callback" | "reconcile";
}

export type PaymentStatus =
  /** Its code is issued (`code`). */
  | "coded"
  /** Paid toward the deposit: no code yet. */
  | "deposit"
  /** Below the plan's minimum: recorded, money kept on the account, no code. */
  | "below_minimum"
  /** Less than one day's price together with the remainder: kept toward the next day. */
  | "remainder"
  /** Credit owed but the device's window is full: coded later as a catch-up set code (window rule). */
  | "held"
  /** The plan is paid off; the unlock code waits for an operator's approval. */
  | "unlock_pending"
  /** No account matched: waits for `solkey payments assign`. */
  | "orphan"
  /** Taken back by the provider: its money is owed again on the account. */
  | "reversed";

export interface PaymentOutcome {
  readonly paymentId: number;
  readonly provider: string;
  readonly transId: string;
  readonly amount: number;
  readonly currency: string;
  readonly accountRef: string;
  readonly status: PaymentStatus;
  /** The account's serial, null for an orphan. */
  readonly serial: string | null;
  /** The code this payment produced (a catch-up or unlock code included), null when none. */
  readonly code: IssuedCode | null;
  /** True when this (provider, transaction id) was stored before: the answer is the one given then. */
  readonly replayed: boolean;
  readonly receivedAt: string;
}

/** Whether an account reference would be taken (Daraja's validation step): the account, or why not. */
export type Verdict =
  | { readonly ok: true; readonly account: Account }
  | { readonly ok: false; readonly reason: "unknown_account" | "below_minimum" | "wrong_currency" };

/** One code issued to a device, as the operator API lists it (docs/API.md `Code`). */
export interface Code extends CodeRecord {
  readonly codeId: number;
  readonly serial: string;
}

/** A device with its account, credit, codes and window (docs/API.md `Device`). */
export interface Device {
  readonly serial: string;
  readonly deviceId: number;
  readonly protocol: string;
  readonly account: Account | null;
  readonly credit: { readonly paidUntil: string | null; readonly owedDays: number; readonly heldDays: number } | null;
  readonly codes: {
    readonly issued: number;
    readonly knownEntered: number;
    readonly issuedSeq: number;
    readonly enteredSeq: number;
  };
  readonly window: { readonly assumedEnteredSeq: number; readonly topSeq: number; readonly free: number };
  readonly lastCode: Code | null;
}

/** A page of a list: `next` is the cursor of the following page (pass it as `after`), null on the last. */
export interface Page<T> {
  readonly items: T[];
  readonly next: string | null;
}

export interface PageQuery {
  /** The previous page's `next`. */
  readonly after?: number;
  readonly limit: number;
}

export interface DeviceQuery extends PageQuery {
  /** A serial (contained), an account phone, or a payment reference. */
  readonly q?: string;
}

export interface PaymentQuery extends PageQuery {
  readonly status?: PaymentStatus;
  /** A transaction id, an account reference, a serial or a phone. */
  readonly q?: string;
}

export interface CodeQuery extends PageQuery {
  readonly serial?: string;
}

/** What an operator's code did: the code, which credit code desired state chose, the account after, the SMS. */
export interface OperatorIssued {
  readonly code: Code;
  readonly chose: "add" | "set" | null;
  readonly effect: {
    readonly paidUntil: string | null;
    readonly heldDays: number;
    readonly unlock: Account["unlock"];
  } | null;
  /** The outbox message queued with the code, when asked. */
  readonly smsMessageId: number | null;
  /** The audit entry written in the code's transaction. */
  readonly auditId: number;
}

/** Who asked for an operator's action and why: the audit entry the store writes in the action's own transaction. */
export interface AuditNote<T = Omit<OperatorIssued, "auditId">> {
  readonly keyId: number | null;
  readonly action: string;
  /** The operator's note (the API requires one; the command line's is optional). */
  readonly reason: string | null;
  /** What the entry records of the outcome (never a keycode: anyone could type it). */
  effect(done: T): unknown;
}

export interface FleetStore {
  /** For messages: the file or URL. */
  readonly where: string;
  addPlan(plan: PlanSpec): Promise<Plan>;
  plans(): Promise<Plan[]>;
  addAccount(account: AccountSpec): Promise<Account>;
  /** The account a payment's reference (serial or phone) or payer number names, or undefined (none, or two). */
  matchAccount(accountRef: string, msisdn: string | null): Promise<Account | undefined>;
  account(serial: string): Promise<Account>;
  /** Validation: would this payment be taken? Nothing is written. */
  check(payment: Pick<IncomingPayment, "accountRef" | "msisdn" | "amount" | "currency">): Promise<Verdict>;
  /**
   * Records the payment and issues its code in one transaction. Exactly once per (provider, transId): a repeat
   * returns the stored outcome (`replayed`), never a second code.
   */
  receive(payment: IncomingPayment): Promise<PaymentOutcome>;
  payment(provider: string, transId: string): Promise<PaymentOutcome | undefined>;
  orphans(): Promise<PaymentOutcome[]>;
  /** Gives an orphan its account and processes it as if it had just arrived (audited in its transaction when asked). */
  assign(provider: string, transId: string, serial: string, audit?: AuditNote<PaymentOutcome>): Promise<PaymentOutcome>;
  /** Records a reversal: the money is owed again (the next payments fill it before buying credit). */
  reverse(provider: string, transId: string, note: string, audit?: AuditNote<PaymentOutcome>): Promise<PaymentOutcome>;
  /** Issues the unlock code an operator approved (audited in its transaction when asked). */
  approveUnlock(serial: string, audit?: AuditNote<PaymentOutcome>): Promise<PaymentOutcome>;
  /**
   * Codes the held credit of every account whose window has room again (window rule), one transaction each (with
   * its audit entry when asked); returns what it issued.
   */
  releaseHeld(audit?: AuditNote<PaymentOutcome>): Promise<PaymentOutcome[]>;
  /** Devices in id order, optionally those a search names. */
  listDevices(query: DeviceQuery): Promise<Page<Device>>;
  /** One device by serial (any case, spaces, dashes); NotFoundError when none. */
  device(serial: string): Promise<Device>;
  /** Payments newest first. */
  listPayments(query: PaymentQuery): Promise<Page<PaymentOutcome>>;
  /** Codes newest first, of one device or all. */
  listCodes(query: CodeQuery): Promise<Page<Code>>;
  /**
   * Issues an operator's code (ad-hoc or desired state) through the ledger and the window rule, changes the account
   * to match, queues its SMS when asked and appends `audit` to the audit log, in one transaction. RefusedError when
   * the window is full (window_full), the protocol cannot say it (not_expressible) or no SMS can go (no_sms).
   */
  operatorCode(serial: string, request: OperatorRequest, audit: AuditNote): Promise<OperatorIssued>;
  close(): Promise<void>;
}
