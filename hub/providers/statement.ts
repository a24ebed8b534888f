// The M-Pesa statement as the business portal exports it to CSV: a few description lines, then a header row
// (Receipt No., Completion Time, Initiation Time, Details, Transaction Status, Paid In, Withdrawn, Balance, Balance
// Confirmed, Reason Type, Other Party Info, Linked Transaction ID, A/C No.). Completion Time is "YYYY-MM-DD HH:MM:SS"
// in East Africa Time; Other Party Info is "2547XXXXX123 - JANE DOE" (a number, often masked, then the name).
// Reconciliation (`solkey payments reconcile`) feeds each completed payment in through the store as if its callback
// had arrived: the ones the hub already has are answered as repeats.
import { minorUnits } from "../../fleet/payments";
import type { IncomingPayment } from "../../fleet/store";

const COLUMNS = {
  receipt: "Receipt No.",
  completed: "Completion Time",
  status: "Transaction Status",
  paidIn: "Paid In",
  other: "Other Party Info",
  account: "A/C No.",
} as const;

/** Each completed incoming payment of a statement, with the line it came from; a RangeError names a bad line. */
export function readStatement(
  text: string,
  shortCode: string | null = null,
): { line: number; payment: IncomingPayment }[] {
  const rows = text.split(/\r?\n/).map(_csvLine);
  const headerAt = rows.findIndex((r) => r.some((c) => c.trim() === COLUMNS.receipt));
  if (headerAt < 0) throw new RangeError(`no "${COLUMNS.receipt}" header row: is this an M-Pesa statement CSV?`);
  const header = rows[headerAt].map((c) => c.trim());
  const col: Record<keyof typeof COLUMNS, number> = {} as never;
  for (const [key, name] of Object.entries(COLUMNS) as [keyof typeof COLUMNS, string][]) {
    col[key] = header.indexOf(name);
    if (col[key] < 0) throw new RangeError(`statement header has no "${name}" column`);
  }
  const out: { line: number; payment: IncomingPayment }[] = [];
  rows.slice(headerAt + 1).forEach((r, i) => {
    const line = headerAt + i + 2;
    if (r.every((c) => c.trim() === "")) return;
    const paidIn = (r[col.paidIn] ?? "").trim();
    if ((r[col.status] ?? "").trim() !== "Completed" || paidIn === "" || /^0*(\.0*)?$/.test(paidIn)) return;
    const receipt = (r[col.receipt] ?? "").trim();
    if (!/^[A-Za-z0-9]{1,40}$/.test(receipt))
      throw new RangeError(`line ${line}: receipt "${receipt}" is not an M-Pesa receipt`);
    let amount: number;
    try {
      amount = minorUnits(paidIn, "Paid In");
    } catch (e) {
      throw new RangeError(`line ${line}: ${(e as Error).message}`);
    }
    const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec((r[col.completed] ?? "").trim());
    const paidAt =
      m === null ? null : new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4] - 3, +m[5], +m[6])).toISOString();
    const number = /^\s*([\dXx*]{9,15})\b/.exec(r[col.other] ?? "")?.[1] ?? null;
    out.push({
      line,
      payment: {
        provider: "mpesa",
        transId: receipt,
        amount,
        currency: "KES",
        shortCode,
        accountRef: (r[col.account] ?? "").trim(),
        msisdn: number,
        paidAt,
        via: "reconcile",
      },
    });
  });
  return out;
}

/** One CSV line: commas, double-quoted fields with "" for a quote. */
function _csvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted && ch === '"' && line[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (ch === '"') quoted = !quoted;
    else if (ch === "," && !quoted) {
      cells.push(cell);
      cell = "";
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}
