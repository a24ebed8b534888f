// The fleet's counts in the Prometheus text exposition format (version 0.0.4), read in one snapshot on either engine.
import type { Sql } from "./sql";

interface Count {
  label: string;
  n: number;
}

/** Prometheus label values escape backslash, double quote and newline (exposition format). */
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export function family(name: string, help: string, labelName: string, rows: Count[]): string {
  const lines = rows.map((r) => `${name}{${labelName}="${label(r.label)}"} ${r.n}`);
  return `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${lines.join("\n")}${lines.length > 0 ? "\n" : ""}`;
}

export function single(name: string, help: string, n: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${n}\n`;
}

/**
 * Every count in one statement, so one snapshot on either engine (a sum is cast: PostgreSQL sums BIGINT as NUMERIC,
 * which its driver returns as text).
 */
const COUNTS = `
  SELECT 'payments' AS family, status AS label, count(*) AS n FROM payments GROUP BY status
  UNION ALL SELECT 'codes', kind, count(*) FROM codes GROUP BY kind
  UNION ALL SELECT 'orphans', '', count(*) FROM payments WHERE status = 'orphan'
  UNION ALL SELECT 'held', '', CAST(coalesce(sum(held_days), 0) AS BIGINT) FROM accounts
  UNION ALL SELECT 'audit', '', count(*) FROM audit`;

export async function metricsText(sql: Sql): Promise<string> {
  const rows = await sql.rows<Count & { family: string }>(COUNTS);
  const of = (f: string) => rows.filter((r) => r.family === f).sort((a, b) => (a.label < b.label ? -1 : 1));
  const one = (f: string) => Number(of(f)[0]?.n ?? 0);
  return [
    family("solkey_payments", "Payments stored, by status.", "status", of("payments")),
    family("solkey_codes", "Codes issued, by kind.", "kind", of("codes")),
    single("solkey_orphan_payments", "Payments matched to no account.", one("orphans")),
    single("solkey_held_days", "Days paid for and waiting for the window (window rule).", one("held")),
    single("solkey_audit_entries", "Operator actions in the audit log.", one("audit")),
  ].join("");
}
