// Safaricom M-Pesa Daraja C2B: the validation and confirmation callbacks' JSON (TransactionType, TransID, TransTime
// as YYYYMMDDHHmmss in East Africa Time, TransAmount in shillings as a string, BusinessShortCode, BillRefNumber,
// MSISDN: clear, masked or, in C2B v2, a SHA-256 hex digest) and Daraja's answers. Daraja accepts a validation only
// with ResultCode "0"; the C2B000xx codes reject with the reason shown to the payer.
import type { IncomingPayment, Verdict } from "../../fleet/store";
import { minorUnits } from "../../fleet/payments";
import type { PaymentSource } from "./source";

export interface DarajaC2B {
  TransactionType?: string;
  TransID: string;
  TransTime?: string;
  TransAmount: string | number;
  BusinessShortCode: string | number;
  BillRefNumber?: string;
  InvoiceNumber?: string;
  OrgAccountBalance?: string | number;
  ThirdPartyTransID?: string;
  MSISDN?: string | number;
  FirstName?: string;
  MiddleName?: string;
  LastName?: string;
}

/** Daraja's answer to validation and confirmation. */
export interface DarajaAnswer {
  readonly ResultCode: string | number;
  readonly ResultDesc: string;
}

export const ACCEPTED: DarajaAnswer = { ResultCode: "0", ResultDesc: "Accepted" };
/** Confirmation: stored (Daraja reads ResultCode 0 as a number here). */
export const CONFIRMED: DarajaAnswer = { ResultCode: 0, ResultDesc: "Accepted" };
export const REJECT_ACCOUNT: DarajaAnswer = { ResultCode: "C2B00012", ResultDesc: "Rejected" };
export const REJECT_AMOUNT: DarajaAnswer = { ResultCode: "C2B00013", ResultDesc: "Rejected" };
export const REJECT_SHORTCODE: DarajaAnswer = { ResultCode: "C2B00015", ResultDesc: "Rejected" };
export const REJECT_OTHER: DarajaAnswer = { ResultCode: "C2B00016", ResultDesc: "Rejected" };

const text = (maxLength: number) => ({ type: "string", maxLength });
const textOrNumber = (maxLength: number) => ({ anyOf: [{ type: "string", maxLength }, { type: "number" }] });

export const DARAJA_BODY = {
  type: "object",
  required: ["TransID", "TransAmount", "BusinessShortCode"],
  properties: {
    TransactionType: text(40),
    TransID: { type: "string", minLength: 1, maxLength: 40, pattern: "^[A-Za-z0-9]+$" },
    TransTime: { type: "string", maxLength: 14 },
    TransAmount: textOrNumber(20),
    BusinessShortCode: textOrNumber(12),
    BillRefNumber: text(64),
    InvoiceNumber: text(64),
    OrgAccountBalance: textOrNumber(24),
    ThirdPartyTransID: text(64),
    MSISDN: textOrNumber(64),
    FirstName: text(64),
    MiddleName: text(64),
    LastName: text(64),
  },
} as const;

export const daraja: PaymentSource<DarajaC2B> = {
  provider: "mpesa",
  bodySchema: DARAJA_BODY,
  toPayment(body: DarajaC2B, via: IncomingPayment["via"]): IncomingPayment {
    return {
      provider: "mpesa",
      transId: body.TransID,
      amount: minorUnits(body.TransAmount, "TransAmount"),
      currency: "KES",
      shortCode: String(body.BusinessShortCode),
      accountRef: body.BillRefNumber ?? "",
      msisdn: body.MSISDN === undefined ? null : String(body.MSISDN),
      paidAt: transTime(body.TransTime),
      via,
    };
  },
};

/** The validation answer for a store's verdict. */
export function validationAnswer(verdict: Verdict): DarajaAnswer {
  if (verdict.ok) return ACCEPTED;
  if (verdict.reason === "unknown_account") return REJECT_ACCOUNT;
  if (verdict.reason === "below_minimum") return REJECT_AMOUNT;
  return REJECT_OTHER;
}

/** TransTime (YYYYMMDDHHmmss, East Africa Time = UTC+3) as ISO; null when absent or not a time. */
export function transTime(value: string | undefined): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value ?? "");
  if (m === null) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h - 3, mi, s);
  const check = new Date(ms + 3 * 3_600_000);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return null;
  return new Date(ms).toISOString();
}
