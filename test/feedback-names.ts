// Every feedback name, for tests that go through them all: a Record over the union, so the compiler refuses this
// list until a new name is added to it.
import type { FeedbackName } from "../firmware/io/feedback";

const ALL: Readonly<Record<FeedbackName, true>> = {
  key: true,
  rejected: true,
  applied: true,
  duplicate: true,
  invalid: true,
  locked_out: true,
  display_id: true,
  credit: true,
  not_provisioned: true,
  timeout: true,
  fault: true,
};

export const FEEDBACK_NAMES = Object.keys(ALL) as FeedbackName[];

/** The names whose pattern carries no value (display_id and credit blink a number). */
export const FIXED_FEEDBACK_NAMES = FEEDBACK_NAMES.filter((name) => name !== "display_id" && name !== "credit");
