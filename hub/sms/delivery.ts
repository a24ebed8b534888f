// Africa's Talking delivery reports: the form AT posts to the hub's /sms/<token>/delivery (id, status, phoneNumber,
// networkCode, failureReason, retryCount), as a typed event, with each status mapped to pending / delivered /
// undelivered and each failure reason to whether sending again later can reach the phone.

/** What a report says about the message. */
export type DeliveryOutcome =
  /** On its way (Sent, Submitted, Buffered, or a status this hub does not know yet). */
  | { readonly kind: "pending" }
  /** On the handset (Success). Final. */
  | { readonly kind: "delivered" }
  /**
   * Not delivered, final for this attempt (Rejected, Failed, AbsentSubscriber, Expired). `retryable`: the phone was
   * off, out of coverage or the network failed, so the same text sent later may arrive; false: the number is
   * blacklisted, suspended or gone, and resending cannot help.
   */
  | { readonly kind: "undelivered"; readonly retryable: boolean; readonly reason: string };

export interface DeliveryReport {
  /** AT's messageId from the send's answer. */
  readonly providerId: string;
  /** AT's status word as posted. */
  readonly status: string;
  readonly outcome: DeliveryOutcome;
  readonly phoneNumber: string;
  readonly networkCode: string | undefined;
  readonly failureReason: string | undefined;
  readonly retryCount: number | undefined;
}

const PENDING = new Set(["Sent", "Submitted", "Buffered"]);
const UNDELIVERED = new Set(["Rejected", "Failed", "AbsentSubscriber", "Expired"]);

/**
 * AT's failure reasons that resending cannot fix (docs.africastalking.com/sms/deliveryreports): the subscriber's
 * account or number is gone, suspended or blocks the sender. Every other reason (DeliveryFailure, AbsentSubscriber,
 * UserIsInactive, a reason not listed) leaves the phone reachable later.
 */
export const PERMANENT_FAILURES: ReadonlySet<string> = new Set([
  "UserInBlackList",
  "UserAccountSuspended",
  "NotNetworkSubcriber", // sic: AT's spelling
  "NotNetworkSubscriber",
  "UserDoesNotExist",
  "InvalidLinkId",
  "UserNotSubscribedToProduct",
]);

/** Status -> outcome. Unknown statuses are pending: a new status word must not fail or resend a message. */
export function deliveryOutcome(status: string, failureReason: string | undefined): DeliveryOutcome {
  if (status === "Success") return { kind: "delivered" };
  if (!UNDELIVERED.has(status)) return { kind: "pending" };
  const reason = failureReason === undefined ? status : `${status}: ${failureReason}`;
  return {
    kind: "undelivered",
    retryable: failureReason === undefined || !PERMANENT_FAILURES.has(failureReason),
    reason,
  };
}

/** Whether `status` is one of AT's documented statuses (an unknown one is logged by the caller). */
export function isKnownStatus(status: string): boolean {
  return status === "Success" || PENDING.has(status) || UNDELIVERED.has(status);
}

/** The posted form as a report, or the reason it is not one (answer 400 with it). */
export function parseDeliveryReport(form: URLSearchParams): DeliveryReport | { readonly error: string } {
  const providerId = formField(form, "id");
  const status = formField(form, "status");
  if (providerId === undefined) return { error: "delivery report without id" };
  if (status === undefined) return { error: "delivery report without status" };
  const retry = formField(form, "retryCount");
  if (retry !== undefined && !/^\d{1,6}$/.test(retry)) return { error: `retryCount expected a number, got "${retry}"` };
  const failureReason = formField(form, "failureReason");
  return {
    providerId,
    status,
    outcome: deliveryOutcome(status, failureReason),
    phoneNumber: formField(form, "phoneNumber") ?? "",
    networkCode: formField(form, "networkCode"),
    failureReason,
    retryCount: retry === undefined ? undefined : Number(retry),
  };
}

/** A form field's trimmed value, undefined when absent or empty; at most `max` characters are kept. */
export function formField(form: URLSearchParams, name: string, max = 200): string | undefined {
  const value = form.get(name)?.trim();
  return value === undefined || value === "" ? undefined : value.slice(0, max);
}
