// Payments in the fleet store, written once for both engines as Steps (fleet/sql.ts): a payment received and matched,
// what it buys, the code the window rule picks (or the days it holds), assignment of an orphan, reversal, the
// approved unlock and held credit released. Each procedure is one transaction's work; the account and device rows it
// issues on are read locked (fleet/storesteps.ts lockedAccount), and every row is written once.
import { exactCredit } from "./amounts";
import { secretsOf, type CodeRequest } from "./codes";
import type { FleetDevice } from "./devices";
import { NotFoundError, UsageError } from "./errors";
import { codeSteps, type IssuedRow } from "./ledger";
import { owedDays } from "./operator";
import { buy, creditCode, DAY_MS } from "./payments";
import type { Steps } from "./sql";
import type { Account, IncomingPayment, PaymentOutcome, PaymentStatus } from "./store";
import { accountFromRow, outcomeOf, type PaymentRow } from "./storerows";
import {
  deviceOf,
  lockedAccount,
  lockedBySerial,
  matchLocked,
  outcomeSteps,
  type LockedAccountRow,
  type StoreContext,
} from "./storesteps";

/** The columns PaymentRow names. */
const PAYMENT_COLUMNS =
  "payment_id, provider, trans_id, amount, currency, account_ref, account_id, status, code_id, received_at";

/** Records the payment and issues its code; a (provider, transaction id) stored before answers as it did then. */
export function* receiveSteps(ctx: StoreContext, payment: IncomingPayment): Steps<PaymentOutcome> {
  // The unique key decides, even against another process inserting it now (PostgreSQL waits for its commit).
  const [row] = (yield {
    sql: `INSERT INTO payments (provider, trans_id, amount, currency, short_code, account_ref, msisdn, paid_at,
      received_at, via, account_id, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 'orphan')
      ON CONFLICT (provider, trans_id) DO NOTHING RETURNING ${PAYMENT_COLUMNS}`,
    args: [
      payment.provider,
      payment.transId,
      payment.amount,
      payment.currency,
      payment.shortCode,
      payment.accountRef,
      payment.msisdn,
      payment.paidAt,
      ctx.now().toISOString(),
      payment.via,
    ],
  }) as PaymentRow[];
  if (row === undefined) return (yield* storedOutcome(payment.provider, payment.transId, true))!;
  const account = yield* matchLocked(ctx, payment.accountRef, payment.msisdn);
  if (account === undefined || account.currency !== payment.currency) return outcomeOf(row, null, null, false);
  return yield* creditSteps(ctx, row, account);
}

/** Gives an orphan its account and processes it as if it had just arrived. */
export function* assignSteps(
  ctx: StoreContext,
  provider: string,
  transId: string,
  serial: string,
): Steps<PaymentOutcome> {
  yield* existingPayment(ctx, provider, transId, false);
  const account = yield* lockedBySerial(ctx, serial);
  const row = yield* existingPayment(ctx, provider, transId, true);
  if (row.status !== "orphan")
    throw new UsageError(`payment ${transId} is not an orphan (it is ${row.status}); nothing to assign`);
  if (account.currency !== row.currency)
    throw new UsageError(`payment ${transId} is in ${row.currency}; ${serial}'s plan is in ${account.currency}`);
  return yield* creditSteps(ctx, row, account);
}

/** Records a reversal: the money is owed again (a code already issued stays issued). */
export function* reverseSteps(
  ctx: StoreContext,
  provider: string,
  transId: string,
  note: string,
): Steps<PaymentOutcome> {
  const seen = yield* existingPayment(ctx, provider, transId, false);
  if (seen.account_id !== null) yield* lockedAccount(ctx, "a.account_id = ?", [seen.account_id]);
  const row = yield* existingPayment(ctx, provider, transId, true);
  if (row.status !== "reversed") {
    // The next payments fill what is owed before they buy credit.
    if (row.account_id !== null)
      yield {
        sql: "UPDATE accounts SET paid = paid - ?, remainder = remainder - ? WHERE account_id = ?",
        args: [row.amount, row.amount, row.account_id],
      };
    yield {
      sql: "UPDATE payments SET status = 'reversed', reversed_at = ?, note = ? WHERE payment_id = ?",
      args: [ctx.now().toISOString(), note, row.payment_id],
    };
  }
  return (yield* storedOutcome(provider, transId, row.status === "reversed"))!;
}

/** Issues the unlock code an operator approved. */
export function* approveSteps(ctx: StoreContext, serial: string): Steps<PaymentOutcome> {
  const row = yield* lockedBySerial(ctx, serial);
  const account = accountFromRow(row);
  if (account.unlock !== "pending") throw new UsageError(`${account.serial} has no unlock waiting for approval`);
  const [payment] = (yield {
    sql: `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE account_id = ? AND status = 'unlock_pending'
      ORDER BY payment_id DESC LIMIT 1`,
    args: [account.accountId],
  }) as PaymentRow[];
  const ref = `${payment.provider}:${payment.trans_id}`;
  const { issued, codeId } = yield* issuePaid(ctx, account, deviceOf(ctx, row), { kind: "unlock" }, ref);
  yield* settlePayment(ctx, payment.payment_id, account.accountId, "coded", codeId);
  yield { sql: "UPDATE accounts SET unlock = 'issued' WHERE account_id = ?", args: [account.accountId] };
  return outcomeOf({ ...payment, status: "coded", code_id: codeId }, account.serial, issued, false);
}

/** Accounts holding credit (window rule), for releaseSteps one by one. */
export function* heldAccountsSteps(): Steps<number[]> {
  const rows = (yield {
    sql: "SELECT account_id FROM accounts WHERE held_days > 0 ORDER BY account_id",
    args: [],
  }) as { account_id: number }[];
  return rows.map((r) => r.account_id);
}

/** Codes an account's held credit when its window has room again; the payment standing for it, or undefined. */
export function* releaseSteps(ctx: StoreContext, accountId: number): Steps<PaymentOutcome | undefined> {
  const row = yield* lockedAccount(ctx, "a.account_id = ?", [accountId]);
  if (row === undefined || row.held_days === 0) return undefined; // another process released it meanwhile
  // Held payments, or only the days a coarse device could not carry (the newest payment stands for them).
  const [last] = (yield {
    sql: "SELECT payment_id FROM payments WHERE account_id = ? ORDER BY status = 'held' DESC, payment_id DESC LIMIT 1",
    args: [accountId],
  }) as { payment_id: number }[];
  const account = accountFromRow(row);
  const coded = yield* codeCredit(ctx, account, row, 0, undefined);
  if (coded.code === null) return undefined;
  yield* saveAccount({ ...account, heldDays: coded.heldDays });
  return yield* outcomeSteps("p.payment_id = ?", [last.payment_id], false);
}

/** A matched payment's effect on its (locked) account: what it buys, then the code the window rule picks. */
function* creditSteps(ctx: StoreContext, payment: PaymentRow, row: LockedAccountRow): Steps<PaymentOutcome> {
  const account = accountFromRow(row);
  const bought = buy(account.plan, account, payment.amount);
  const now = ctx.now();
  let paidUntil = account.paidUntil;
  if (bought.days > 0) {
    const from = Math.max(now.getTime(), paidUntil === null ? 0 : Date.parse(paidUntil));
    paidUntil = new Date(from + bought.days * DAY_MS).toISOString();
  }
  const m = bought.money;
  const paidFor: Account = {
    ...account,
    paid: m.paid,
    depositDue: m.depositDue,
    remainder: m.remainder,
    daysBought: account.daysBought + bought.days,
    paidUntil,
    unlock: m.unlock,
  };
  const ref = `${payment.provider}:${payment.trans_id}`;
  let status: PaymentStatus = bought.status;
  let code: IssuedRow | null = null;
  let heldDays = account.heldDays;
  if (bought.unlock && bought.status === "coded")
    code = yield* issuePaid(ctx, paidFor, deviceOf(ctx, row), { kind: "unlock" }, ref);
  else if (bought.days > 0) {
    ({ code, heldDays } = yield* codeCredit(ctx, paidFor, row, bought.days, ref));
    status = code === null ? "held" : "coded";
  }
  yield* saveAccount({ ...paidFor, heldDays });
  yield* settlePayment(ctx, payment.payment_id, account.accountId, status, code?.codeId ?? null);
  const settled = { ...payment, account_id: account.accountId, status, code_id: code?.codeId ?? null };
  return outcomeOf(settled, account.serial, code?.issued ?? null, false);
}

/**
 * Codes `days` (and any held days) by the window rule, or holds them: the code, and the account's held days after.
 * Held payments are coded with it.
 */
function* codeCredit(
  ctx: StoreContext,
  account: Account,
  row: LockedAccountRow,
  days: number,
  ref: string | undefined,
): Steps<{ code: IssuedRow | null; heldDays: number }> {
  const device = deviceOf(ctx, row);
  const choice = creditCode({
    protocol: device.record.protocol,
    issuedSeq: device.issuedSeq,
    assumedEntered: Math.max(device.enteredSeq, row.delivered_seq ?? -Infinity),
    days,
    heldDays: account.heldDays,
    owedDays: owedDays(account.paidUntil, ctx.now()),
  });
  if (choice.kind === "hold") return { code: null, heldDays: account.heldDays + days };
  // A device that carries coarser steps (Nexus small above 90 days) gets the days it can carry exactly; the rest
  // waits as held days for the next code, so nothing paid is lost and nothing unpaid is given.
  const wanted = choice.days * 86400;
  const seconds = exactCredit(secretsOf(device.record), choice.kind, wanted, "down");
  const code = yield* issuePaid(ctx, account, device, { kind: choice.kind, seconds }, ref);
  // Held payments imply held days (a hold adds its days), so an account without any has no held payment to code.
  if (account.heldDays > 0)
    yield {
      sql: "UPDATE payments SET status = 'coded', code_id = ?, coded_at = ? WHERE account_id = ? AND status = 'held'",
      args: [code.codeId, ctx.now().toISOString(), account.accountId],
    };
  return { code, heldDays: (wanted - seconds) / 86400 };
}

/** A payment's code on the locked device, with its SMS queued in this transaction. */
function* issuePaid(
  ctx: StoreContext,
  account: Account,
  device: FleetDevice,
  code: CodeRequest,
  paymentRef: string | undefined,
): Steps<IssuedRow> {
  const issued = yield* codeSteps(device, { code, paymentRef, pastWindow: true }, ctx.now().toISOString());
  if (!issued.issued.replayed && ctx.onCode !== undefined)
    yield* ctx.onCode(issued.issued, account, device, issued.codeId);
  return issued;
}

/** The account's money, credit and unlock as they stand after this transaction's work. */
function* saveAccount(a: Account): Steps<void> {
  yield {
    sql: `UPDATE accounts SET paid = ?, deposit_due = ?, remainder = ?, days_bought = ?, held_days = ?, paid_until = ?,
      unlock = ? WHERE account_id = ?`,
    args: [a.paid, a.depositDue, a.remainder, a.daysBought, a.heldDays, a.paidUntil, a.unlock, a.accountId],
  };
}

/** A payment's account, status and code (coded now when it has one). */
function* settlePayment(
  ctx: StoreContext,
  paymentId: number,
  accountId: number,
  status: PaymentStatus,
  codeId: number | null,
): Steps<void> {
  yield {
    sql: "UPDATE payments SET account_id = ?, status = ?, code_id = ?, coded_at = ? WHERE payment_id = ?",
    args: [accountId, status, codeId, codeId === null ? null : ctx.now().toISOString(), paymentId],
  };
}

/** The payment stored under (provider, transaction id), locked when asked; NotFoundError naming the fix. */
function* existingPayment(ctx: StoreContext, provider: string, transId: string, lock: boolean): Steps<PaymentRow> {
  const [row] = (yield {
    sql: `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE provider = ? AND trans_id = ?`,
    args: [provider, transId],
    ...(lock ? { forUpdate: true } : {}),
  }) as PaymentRow[];
  if (row === undefined)
    throw new NotFoundError(`no ${provider} payment ${transId} in ${ctx.where}; see \`solkey payments orphans\``);
  return row;
}

/** The outcome stored for (provider, transaction id). */
function storedOutcome(provider: string, transId: string, replayed: boolean): Steps<PaymentOutcome | undefined> {
  return outcomeSteps("p.provider = ? AND p.trans_id = ?", [provider, transId], replayed);
}
