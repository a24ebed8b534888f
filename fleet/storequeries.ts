// The operator API's read queries, written once for both fleet stores: SQL with `?` placeholders that SQLite runs as
// written and PostgreSQL through fleet/sql.ts `numbered` ($1, $2...). Searches take the operator's text as data
// (bound, LIKE-escaped).
import { phoneDigits, serialKey } from "./accounts";
import { UsageError } from "./errors";
import { normalizeRef } from "./references";
import type { DeviceQuery, PaymentQuery, PageQuery } from "./store";
import { OUTCOME_SELECT } from "./storerows";

export interface Sql {
  readonly text: string;
  readonly args: unknown[];
}

/** A serial as accounts.serialKey reads it, in SQL. */
const SERIAL_KEY = "upper(replace(replace(replace(d.serial, '-', ''), ' ', ''), '_', ''))";

export const CODE_SELECT = `SELECT c.code_id, d.serial, c.seq, c.kind, c.units, c.seconds, c.keycode, c.payment_ref,
  c.issued_at, c.entered_at FROM codes c JOIN devices d ON d.device_id = c.device_id`;

/** The device ids a serial names: exactly as stored first, else as typed any way (case, spaces, dashes). */
export function deviceBySerialSql(serial: string): Sql {
  return {
    text: `SELECT device_id FROM devices d WHERE d.serial = ? OR ${SERIAL_KEY} = ?
           ORDER BY d.serial = ? DESC, d.device_id LIMIT 1`,
    args: [serial, serialKey(serial), serial],
  };
}

/**
 * A device with its counts; `assumedBefore`: a payment's code delivered at or before it counts as entered (window
 * rule).
 */
export function deviceSummarySql(deviceId: number, assumedBefore: string): Sql {
  return {
    text: `SELECT d.device_id, d.serial, d.protocol, d.issued_seq, d.entered_seq, a.account_id,
      (SELECT count(*) FROM codes c WHERE c.device_id = d.device_id) AS issued,
      (SELECT count(*) FROM codes c WHERE c.device_id = d.device_id AND c.entered_at IS NOT NULL) AS known_entered,
      ${deliveredColumn("a.account_id", "d.device_id")},
      (SELECT max(c.code_id) FROM codes c WHERE c.device_id = d.device_id) AS last_code_id
      FROM devices d LEFT JOIN accounts a ON a.device_id = d.device_id WHERE d.device_id = ?`,
    args: [assumedBefore, assumedBefore, deviceId],
  };
}

/**
 * The highest ID/count delivered at or before `?` (twice): a payment's code when it was coded, a code no payment
 * asked for (the operator's: ad-hoc, desired state, `solkey issue`) when it was issued. The window rule assumes
 * such a code entered; without the second part an operator's codes would never age and could wedge the account's
 * payments behind a window that never reopens.
 */
const DELIVERED = `SELECT max(seq) FROM (
    SELECT c.seq FROM payments p JOIN codes c ON c.code_id = p.code_id WHERE p.account_id = @account AND p.coded_at <= ?
    UNION ALL SELECT c.seq FROM codes c WHERE c.device_id = @device AND c.payment_ref IS NULL AND c.issued_at <= ?
  ) delivered`;

/**
 * DELIVERED as a column `delivered_seq` of a query over the account and device the two expressions name; its two
 * placeholders both take the time before which a delivered code counts as entered.
 */
export function deliveredColumn(account: string, device: string): string {
  return `(${DELIVERED.replace("@account", account).replace("@device", device)}) AS delivered_seq`;
}

/** What a search text can be: part of a serial, a phone, a payment reference (as typed and normalised). */
interface Search {
  /** Null when the text holds nothing of a serial ("_", "-"): LIKE NULL matches no row. */
  readonly serialLike: string | null;
  readonly phone: string | null;
  readonly refs: [string, string];
}

function search(q: string, countryCode: string): Search {
  let ref: string;
  try {
    ref = normalizeRef(q);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    ref = q; // not a reference (control characters): still a serial or phone to look for, as data
  }
  const key = serialKey(q).replace(/[\\%_]/g, (c) => `\\${c}`);
  return { serialLike: key === "" ? null : `%${key}%`, phone: phoneDigits(q, countryCode) ?? null, refs: [q, ref] };
}

/** Device ids, in id order, one more than the page (the store tells from it whether there is a next page). */
export function deviceIdsSql(query: DeviceQuery, countryCode: string): Sql {
  const where = ["d.device_id > ?"];
  const args: unknown[] = [query.after ?? -1];
  if (query.q !== undefined) {
    const s = search(query.q, countryCode);
    where.push(`(${SERIAL_KEY} LIKE ? ESCAPE '\\' OR a.phone = ?
      OR d.device_id IN (SELECT pa.device_id FROM payments p JOIN accounts pa ON pa.account_id = p.account_id
        WHERE p.trans_id IN (?, ?))
      OR d.device_id IN (SELECT c.device_id FROM codes c WHERE c.payment_ref IN (?, ?)))`);
    args.push(s.serialLike, s.phone, ...s.refs, ...s.refs);
  }
  args.push(query.limit + 1);
  return {
    text: `SELECT d.device_id FROM devices d LEFT JOIN accounts a ON a.device_id = d.device_id
      WHERE ${where.join(" AND ")} ORDER BY d.device_id LIMIT ?`,
    args,
  };
}

/** Payments newest first, one more than the page. */
export function paymentsSql(query: PaymentQuery, countryCode: string): Sql {
  const where: string[] = [];
  const args: unknown[] = [];
  if (query.after !== undefined) {
    where.push("p.payment_id < ?");
    args.push(query.after);
  }
  if (query.status !== undefined) {
    where.push("p.status = ?");
    args.push(query.status);
  }
  if (query.q !== undefined) {
    const s = search(query.q, countryCode);
    where.push(`(p.trans_id IN (?, ?) OR p.account_ref IN (?, ?) OR ${SERIAL_KEY} LIKE ? ESCAPE '\\' OR a.phone = ?)`);
    args.push(...s.refs, ...s.refs, s.serialLike, s.phone);
  }
  args.push(query.limit + 1);
  return {
    text: `${OUTCOME_SELECT}
      ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY p.payment_id DESC LIMIT ?`,
    args,
  };
}

/** Codes newest first (of one device when given), one more than the page. */
export function codesSql(deviceId: number | undefined, page: PageQuery): Sql {
  const where: string[] = [];
  const args: unknown[] = [];
  if (deviceId !== undefined) {
    where.push("c.device_id = ?");
    args.push(deviceId);
  }
  if (page.after !== undefined) {
    where.push("c.code_id < ?");
    args.push(page.after);
  }
  args.push(page.limit + 1);
  return {
    text: `${CODE_SELECT} ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY c.code_id DESC LIMIT ?`,
    args,
  };
}

/** A page from rows fetched one past `limit`; `id` gives a row's cursor. */
export function pageOf<T>(rows: T[], limit: number, id: (row: T) => number): { rows: T[]; next: string | null } {
  if (rows.length <= limit) return { rows, next: null };
  const page = rows.slice(0, limit);
  return { rows: page, next: String(id(page[page.length - 1])) };
}
