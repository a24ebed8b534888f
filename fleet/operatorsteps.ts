// An operator's code (ad-hoc or desired state) in the fleet store, written once for both engines as Steps: the
// window rule, the ledger, the account changed to match, the SMS when asked and the audit entry, in one transaction.
import { secretsOf } from "./codes";
import { RefusedError } from "./errors";
import { accountEffect, checkWindow, owedDays, planOperatorCode, sendsSms, type OperatorRequest } from "./operator";
import { codeSteps } from "./ledger";
import type { Steps } from "./sql";
import type { Account, AuditNote, OperatorIssued } from "./store";
import { accountFromRow, codeFromRow } from "./storerows";
import {
  auditSteps,
  codeListSteps,
  deviceIdSteps,
  deviceOf,
  lockedAccount,
  lockedDevice,
  type CodeHook,
  type StoreContext,
} from "./storesteps";

export function* operatorCodeSteps(
  ctx: StoreContext,
  serial: string,
  request: OperatorRequest,
  audit: AuditNote,
): Steps<OperatorIssued> {
  const deviceId = yield* deviceIdSteps(ctx, serial);
  // Account before device, as every issuing path locks them; a device without an account locks its own row.
  const row = yield* lockedAccount(ctx, "a.device_id = ?", [deviceId]);
  const locked = row ?? (yield* lockedDevice(ctx, deviceId));
  const device = deviceOf(ctx, locked);
  const account = row === undefined ? null : accountFromRow(row);
  const now = ctx.now();
  const plan = planOperatorCode(request, secretsOf(device.record), owedDays(account?.paidUntil ?? null, now));
  checkWindow(
    {
      serial: device.serial,
      protocol: device.record.protocol,
      issuedSeq: device.issuedSeq,
      assumedEntered: Math.max(device.enteredSeq, locked.delivered_seq ?? -Infinity),
    },
    plan.request,
  );
  const sms = request.sms ? smsHook(ctx, request, account) : undefined;
  const { issued, codeId } = yield* codeSteps(device, { code: plan.request, pastWindow: true }, now.toISOString());
  const effect = account === null ? null : accountEffect(request, account, now);
  const after = account === null || effect === null ? account : { ...account, ...effect };
  if (after !== null && effect !== null)
    yield {
      sql: "UPDATE accounts SET paid_until = ?, held_days = ?, unlock = ? WHERE account_id = ?",
      args: [effect.paidUntil, effect.heldDays, effect.unlock, after.accountId],
    };
  const smsMessageId = sms === undefined || after === null ? null : yield* sms(issued, after, device, codeId);
  const done = { code: codeFromRow(yield* codeListSteps(codeId)), chose: plan.chose, effect, smsMessageId };
  return { ...done, auditId: yield* auditSteps(ctx, audit, done) };
}

/** The SMS hook for an operator's code, or a RefusedError naming why no SMS can go. */
function smsHook(ctx: StoreContext, request: OperatorRequest, account: Account | null): CodeHook {
  if (ctx.onCode === undefined) throw new RefusedError("no_sms", "this hub has no SMS outbox; ask without sms");
  if (account === null) throw new RefusedError("no_sms", "this device has no account, so no phone to send to");
  if (!sendsSms(request.action))
    throw new RefusedError("no_sms", `a ${request.action} code has no SMS text (goodwill, unlock and desired do)`);
  return ctx.onCode;
}
