// Conformance check of one OpenPAYGO Token vector row (../shared/vectors/README.md): the encoder must issue the row's
// token and new count, and a device whose last count is the row's count must apply it with the row's type and value.
// No Node APIs: the same checker runs inside XS (tools/probes/openpaygo.probe.ts).
import { hexToBytes } from "../../firmware/hex";
import { encodeToken } from "../../firmware/protocols/openpaygo/encoder";
import type { TokenType } from "../../firmware/protocols/openpaygo/token";
import { openPaygo } from "../../firmware/protocols/openpaygo/verifier";

export interface OpenPaygoRow {
  key: string;
  starting_code: number;
  count: number;
  type: TokenType;
  value?: number;
  extended: boolean;
  restricted: boolean;
  new_count: number;
  token: string;
}

const ACTIONS: Readonly<Record<TokenType, string>> = {
  add_time: "add_credit",
  set_time: "set_credit",
  disable_payg: "unlock",
  counter_sync: "none",
};

/** null when the row passes; otherwise what differed. */
export function checkOpenPaygo(row: OpenPaygoRow): string | null {
  const key = hexToBytes(row.key);
  const { extended, restricted } = row;
  const issued = encodeToken({ key, startingCode: row.starting_code, extended, restricted, ...request(row) });
  if (issued.token !== row.token) return `encoded ${issued.token}, expected ${row.token}`;
  if (issued.count !== row.new_count) return `encoded count ${issued.count}, expected ${row.new_count}`;

  // timeDivider 1: a value is whole days, so the action's seconds give the value back exactly.
  const device = openPaygo({ key, startingCode: row.starting_code, timeDivider: 1, restricted, extended });
  const verdict = device.verify({ lastCount: row.count, usedMask: 0 }, row.token.replace(/[\s*#]/g, ""));
  if (verdict.kind !== "applied")
    return `device verdict ${verdict.kind}${"reason" in verdict ? `: ${verdict.reason}` : ""}`;
  const { action, state } = verdict;
  if (action.type !== ACTIONS[row.type]) return `device action ${action.type}, expected ${ACTIONS[row.type]}`;
  if ("seconds" in action && action.seconds !== (row.value ?? 0) * 86400) {
    return `device value ${action.seconds / 86400} days, expected ${row.value}`;
  }
  if (state.lastCount !== row.new_count) return `device count ${state.lastCount}, expected ${row.new_count}`;
  return null;
}

function request(row: OpenPaygoRow): { count: number; type: TokenType; value?: number } {
  return row.type === "add_time" || row.type === "set_time"
    ? { count: row.count, type: row.type, value: row.value }
    : { count: row.count, type: row.type };
}
