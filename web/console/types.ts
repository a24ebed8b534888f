// The operator API's answers the console reads, as docs/API.md names them (only the fields shown here).

export interface Code {
  readonly codeId: number;
  readonly serial: string;
  readonly kind: string;
  readonly seq: number | null;
  readonly seconds: number | null;
  /** Null for read keys: then only the tail is shown. */
  readonly keycode: string | null;
  readonly keycodeTail: string;
  readonly paymentRef: string | null;
  readonly issuedAt: string;
  readonly enteredAt: string | null;
}

export interface Device {
  readonly serial: string;
  readonly protocol: string;
  readonly account: { readonly phone: string; readonly plan: { readonly name: string } } | null;
  readonly credit: { readonly paidUntil: string | null; readonly owedDays: number; readonly heldDays: number } | null;
  readonly codes: { readonly issued: number; readonly knownEntered: number };
  readonly window: { readonly free: number };
  readonly lastCode: Code | null;
}

export interface Payment {
  readonly provider: string;
  readonly transId: string;
  readonly amount: number;
  readonly currency: string;
  readonly accountRef: string;
  readonly status: string;
  readonly serial: string | null;
  readonly code: { readonly keycode: string | null; readonly keycodeTail: string } | null;
  readonly receivedAt: string;
  /** True when the hub returned a stored outcome (a reversal entered twice) instead of acting again. */
  readonly replayed?: boolean;
}

export interface Sms {
  readonly messageId: number;
  readonly serial: string | null;
  readonly purpose: string;
  readonly to: string;
  readonly state: string;
  readonly attempts: number;
  readonly updatedAt: string;
  readonly lastError: string | null;
  /** Null for read keys (it holds the code). */
  readonly text: string | null;
}

/** A page of a list endpoint: `next` is the cursor of the following page, null on the last. */
export type Page<K extends string, T> = { readonly [key in K]: T[] } & { readonly next: string | null };

export const AD_HOC_ACTIONS = ["goodwill", "maintenance", "repossession_lock", "unlock", "wipe"] as const;
export type AdHocAction = (typeof AD_HOC_ACTIONS)[number];

/** What every operator code's answer holds: the code, and the SMS queued with it when the form asked for one. */
interface IssuedAnswer {
  readonly code: Code;
  readonly sms: { readonly messageId: number } | null;
}

export interface AdHocAnswer extends IssuedAnswer {
  readonly action: AdHocAction;
}

/** A desired-state answer: `chose` says whether a set code carries `days`, or an add of the calendar's difference. */
export interface DesiredAnswer extends IssuedAnswer {
  readonly chose: "set" | "add";
  readonly days: number;
}

/** An entry of the audit log: `keyId` null when the command line acted; `effect` is JSON text (data, not markup). */
export interface AuditEntry {
  readonly auditId: number;
  readonly keyId: number | null;
  readonly at: string;
  readonly action: string;
  readonly reason: string | null;
  readonly effect: string;
}
