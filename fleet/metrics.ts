// The fleet's counts in the Prometheus text exposition format (version 0.0.4), read in one snapshot.
import type { Db } from "./database";

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

export function metricsText(db: Db): string {
  return db.transaction(() => {
    const payments = db
      .prepare("SELECT status AS label, count(*) AS n FROM payments GROUP BY status ORDER BY status")
      .all() as Count[];
    const codes = db
      .prepare("SELECT kind AS label, count(*) AS n FROM codes GROUP BY kind ORDER BY kind")
      .all() as Count[];
    const one = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return [
      family("solkey_payments", "Payments stored, by status.", "status", payments),
      family("solkey_codes", "Codes issued, by kind.", "kind", codes),
      single(
        "solkey_orphan_payments",
        "Payments matched to no account.",
        one("SELECT count(*) AS n FROM payments WHERE status = 'orphan'"),
      ),
      single(
        "solkey_held_days",
        "Days paid for and waiting for the window (window rule).",
        one("SELECT coalesce(sum(held_days), 0) AS n FROM accounts"),
      ),
      single("solkey_audit_entries", "Operator actions in the audit log.", one("SELECT count(*) AS n FROM audit")),
    ].join("");
  })();
}
