// Journal options for tests that exercise the journal itself: a fixed journal key and a chip without OTP bits.
import { journalKey, type JournalOptions } from "../firmware/storage/journal";
import { NO_OTP } from "../firmware/storage/otp";

export const TEST_JOURNAL: JournalOptions = Object.freeze({
  key: journalKey(Uint8Array.from({ length: 16 }, (_, i) => i)),
  otp: NO_OTP,
});

/** The journal options of a provisioned device's own key, no OTP (reading its factory image back). */
export function keyed(read: unknown): JournalOptions {
  const record = (read as { record?: { key?: unknown } }).record;
  if (!(record?.key instanceof Uint8Array)) throw new Error("expected a provisioned record");
  return { key: journalKey(record.key), otp: NO_OTP };
}
